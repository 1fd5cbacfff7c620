import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitEnv, gitResult, hashObject, packOf, remoteRefs, tmpDir, treeBytes } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';
import { basicAuth, firstEntryDataOffset, parseReport, postReceivePack, receivePackRequest, withPackTrailer, ZERO } from './helpers/wire.js';

// Acceptance 7: bad input, each refused with a clear error and the refs unchanged. The bad packs and
// requests are built by hand and POSTed to git-receive-pack; the report is decoded from the side-band.

/** A pack with the objects of `revs` (`^x` excludes), made by git itself. */
for (const backend of backends()) {
  describe(`bad input is refused with a clear error and refs unchanged (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    let repoUrl: string;
    let work: string;
    let base: string;
    let next: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          bob = await hub.user('bob');
          await hub.repo('alice/target');
          await hub.repo('alice/secret', { private: true });
          await hub.repo('alice/legacy');
          repoUrl = `${hub.url}/alice/target.git`;
          work = path.join(tmpDir('bad'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          fs.writeFileSync(path.join(work, 'f.txt'), 'x'.repeat(5000));
          await git(['add', '.'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'base'], { cwd: work });
          base = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
          await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/target.git`, 'main'], { cwd: work });
          fs.writeFileSync(path.join(work, 'f.txt'), `${'x'.repeat(5000)}y`);
          fs.writeFileSync(path.join(work, 'g.txt'), 'a new file with enough text to compress well '.repeat(50));
          await git(['add', '.'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'next'], { cwd: work });
          next = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    /** POST one command and a pack as alice; the refs must be the same afterwards. Returns the report. */
    const pushRaw = async (pack: Buffer | null, ref = 'refs/heads/main', old = base, neu = next) => {
      const before = await remoteRefs(repoUrl);
      const res = await postReceivePack(repoUrl, receivePackRequest([{ old, new: neu, ref }], pack), alice);
      assert.equal(res.status, 200, `receive-pack answers 200 with a report: ${res.body.toString()}`);
      assert.equal(res.headers.get('content-type'), 'application/x-git-receive-pack-result');
      const after = await remoteRefs(repoUrl);
      assert.deepEqual(Object.fromEntries(after), Object.fromEntries(before), 'refs unchanged');
      const report = parseReport(res.body);
      assert.equal(report.lines.length, 2, `one unpack line and one ref line: ${JSON.stringify(report.lines)}`);
      return report;
    };
    /** A bad pack: `unpack <error>` matching `error`, and the ref refused. */
    const assertUnpackError = (r: { lines: string[] }, error: RegExp, ref = 'refs/heads/main') => {
      assert.match(r.lines[0]!, /^unpack (?!ok$)/, 'the pack is refused');
      assert.match(r.lines[0]!, error);
      assert.match(r.lines[1]!, new RegExp(`^ng ${ref.replace(/[./]/g, '\\$&')} \\S`), 'the ref is refused with a reason');
    };

    it('the pack git builds for the same command is accepted (control for the cases below)', async () => {
      // Pushed to a scratch branch so main stays at base for the bad pushes.
      const res = await postReceivePack(repoUrl, receivePackRequest([{ old: ZERO, new: next, ref: 'refs/heads/control' }], packOf(work, [next, `^${base}`])), alice);
      assert.deepEqual(parseReport(res.body).lines, ['unpack ok', 'ok refs/heads/control']);
      const del = await postReceivePack(repoUrl, receivePackRequest([{ old: next, new: ZERO, ref: 'refs/heads/control' }], null, 'report-status side-band-64k delete-refs'), alice);
      assert.deepEqual(parseReport(del.body).lines, ['unpack ok', 'ok refs/heads/control']);
      assert.deepEqual([...(await remoteRefs(repoUrl)).keys()], ['refs/heads/main']);
    });

    it('a truncated pack', async () => {
      const pack = packOf(work, [next, `^${base}`]);
      for (const cut of [pack.length - 10, pack.length - 30, Math.floor(pack.length / 2), 20]) {
        assertUnpackError(await pushRaw(pack.subarray(0, cut)), /truncated/);
      }
    });

    it('bytes that are not a pack', async () => {
      assertUnpackError(await pushRaw(Buffer.from('this is certainly not a pack file, just text\n'.repeat(3))), /pack|signature|header/i);
    });

    it('a corrupt zlib stream (with a correct pack checksum)', async () => {
      const pack = Buffer.from(packOf(work, [next, `^${base}`]));
      const start = firstEntryDataOffset(pack);
      // Keep the zlib header, break the deflate data, and give the pack the right trailer again, so
      // only inflating can find the damage.
      for (let i = start + 2; i < start + 10; i++) pack[i] = pack[i]! ^ 0xff;
      const r = await pushRaw(withPackTrailer(pack));
      assertUnpackError(r, /zlib|inflat|corrupt|deflate/i);
      assert.doesNotMatch(r.lines[0]!, /checksum/, 'found by inflating, not by the trailer');
    });

    it('a wrong pack checksum', async () => {
      const pack = Buffer.from(packOf(work, [next, `^${base}`]));
      pack[pack.length - 1] = pack[pack.length - 1]! ^ 0x01;
      assertUnpackError(await pushRaw(pack), /checksum/);
    });

    it('a delta against a base the hub does not have', async () => {
      // A thin pack whose deltas are against a commit that was never pushed.
      const side = path.join(tmpDir('side'), 'w');
      await git(['clone', '--quiet', work, side]);
      await git(['checkout', '--quiet', '-b', 'side', base], { cwd: side });
      fs.writeFileSync(path.join(side, 'f.txt'), `${'x'.repeat(5000)}never pushed`);
      await git(['commit', '--quiet', '-am', 'unpushed'], { cwd: side });
      const unpushed = (await git(['rev-parse', 'HEAD'], { cwd: side })).trim();
      fs.writeFileSync(path.join(side, 'f.txt'), `${'x'.repeat(5000)}never pushed, then changed`);
      await git(['commit', '--quiet', '-am', 'on top'], { cwd: side });
      const top = (await git(['rev-parse', 'HEAD'], { cwd: side })).trim();
      const missingBlob = (await git(['rev-parse', `${unpushed}:f.txt`], { cwd: side })).trim();
      const pack = packOf(side, [top, `^${unpushed}`], true);
      assert.ok(pack.includes(Buffer.from(missingBlob, 'hex')), 'the pack holds a REF_DELTA naming the unpushed blob');
      const r = await pushRaw(pack, 'refs/heads/side', ZERO, top);
      assertUnpackError(r, /(base|missing|not found)/i, 'refs/heads/side');
    });

    const evilTrees: [string, (dir: string, blob: string) => string][] = [
      ['..', (dir, blob) => hashObject(dir, 'tree', treeBytes([['100644', '..', blob]]))],
      ['.git', (dir, blob) => hashObject(dir, 'tree', treeBytes([['100644', '.git', blob]]))],
      ['.GIT', (dir, blob) => hashObject(dir, 'tree', treeBytes([['100644', '.GIT', blob]]))],
      ['.git', (dir, blob) => {
        // Deeper down: sub/.git/config, a directory named .git inside a folder.
        const dotgit = hashObject(dir, 'tree', treeBytes([['100644', 'config', blob]]));
        const sub = hashObject(dir, 'tree', treeBytes([['40000', '.git', dotgit]]));
        return hashObject(dir, 'tree', treeBytes([['100644', 'ok.txt', blob], ['40000', 'sub', sub]]));
      }],
    ];
    for (const [i, [name, makeTree]] of evilTrees.entries()) {
      it(`a tree entry named '${name}'${i === 3 ? ' in a subfolder' : ''}`, async () => {
        const blob = hashObject(work, 'blob', Buffer.from('evil\n'));
        const tree = makeTree(work, blob);
        const commit = (await git(['commit-tree', tree, '-p', base, '-m', 'evil'], { cwd: work })).trim();
        const pack = packOf(work, [commit, `^${base}`]);
        const r = await pushRaw(pack, 'refs/heads/main', base, commit);
        assertUnpackError(r, new RegExp(`'${name.replace(/\./g, '\\.')}'`));
        assert.match(r.lines[0]!, /not allowed/);
      });
    }

    it('a legacy file mode (100664, written by gits of 2005) is accepted as git accepts it, and kept by an API commit', async () => {
      const blob = hashObject(work, 'blob', Buffer.from('old\n'));
      const tree = hashObject(work, 'tree', treeBytes([['100664', 'old.txt', blob]]));
      const commit = (await git(['commit-tree', tree, '-m', 'from 2005'], { cwd: work })).trim();
      await git(['push', '--quiet', `${hub!.authUrl(alice)}/alice/legacy.git`, `${commit}:refs/heads/main`], { cwd: work });
      const res = await fetch(`${hub!.url}/api/models/alice/legacy/commit/main`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/x-ndjson' },
        body: [{ key: 'header', value: { summary: 'add a file' } }, { key: 'file', value: { path: 'new.txt', content: 'bmV3Cg==', encoding: 'base64' } }].map((l) => JSON.stringify(l)).join('\n'),
      });
      assert.equal(res.status, 200, await res.text());
      const check = path.join(tmpDir('legacy'), 'c');
      await git(['clone', '--quiet', `${hub!.url}/alice/legacy.git`, check]);
      assert.equal((await git(['rev-parse', 'HEAD^^{tree}'], { cwd: check })).trim(), tree, 'the pushed tree is stored as sent');
      // ls-tree shows modes canonicalised; the raw tree keeps what was written.
      const raw = spawnSync('git', ['cat-file', 'tree', 'HEAD^{tree}'], { cwd: check, env: gitEnv }).stdout.toString('latin1');
      assert.match(raw, /100664 old\.txt\0/);
      assert.match(raw, /100644 new\.txt\0/);
      assert.equal(fs.readFileSync(path.join(check, 'old.txt'), 'utf8'), 'old\n');
    });

    for (const ref of ['refs/heads/bad..name', 'refs/heads/ends.lock', 'refs/heads/a~b', 'refs/heads/.hidden', 'refs/heads/x@{1}', 'HEAD', 'main']) {
      it(`an invalid ref name: ${ref}`, async () => {
        const r = await pushRaw(packOf(work, [next, `^${base}`]), ref, ZERO, next);
        assert.equal(r.lines[0], 'unpack ok', 'the pack itself is fine');
        assert.equal(r.lines[1], `ng ${ref} funny refname`);
      });
    }

    it('a push to a missing repository: 404, and git says so', async () => {
      const r = await gitResult(['push', `${hub!.authUrl(alice)}/alice/does-not-exist.git`, 'main'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not found/i);
      const raw = await postReceivePack(`${hub!.url}/alice/does-not-exist.git`, receivePackRequest([{ old: ZERO, new: next, ref: 'refs/heads/main' }], packOf(work, [next])), alice);
      assert.equal(raw.status, 404);
      const info = await fetch(`${hub!.url}/alice/does-not-exist.git/info/refs?service=git-receive-pack`, { headers: { Authorization: basicAuth(alice) } });
      assert.equal(info.status, 404);
    });

    it('no credentials, wrong credentials, a read-only token, another user', async () => {
      const anon = await gitResult(['push', repoUrl, 'main'], { cwd: work });
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /could not read Username|Authentication failed/);
      const info = await fetch(`${repoUrl}/info/refs?service=git-receive-pack`);
      assert.equal(info.status, 401);
      assert.match(info.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const body = receivePackRequest([{ old: base, new: next, ref: 'refs/heads/main' }], packOf(work, [next, `^${base}`]));
      const anonPost = await postReceivePack(repoUrl, body);
      assert.equal(anonPost.status, 401, 'an anonymous POST is asked for credentials');
      assert.match(anonPost.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal((await postReceivePack(repoUrl, body, { name: 'alice', token: 'hf_wrong' })).status, 401, 'a wrong token');
      assert.equal((await postReceivePack(repoUrl, body, { name: 'alice', token: alice.readToken })).status, 403, 'a read-only token');
      assert.equal((await postReceivePack(repoUrl, body, bob)).status, 403, 'a user without write access');

      const wrong = await gitResult(['push', `http://alice:hf_wrong@127.0.0.1:${hub!.port}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /Authentication failed/);
      const readOnly = await gitResult(['push', `http://alice:${alice.readToken}@127.0.0.1:${hub!.port}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(readOnly.code, 0);
      assert.match(readOnly.stderr, /read-only|403/);
      const other = await gitResult(['push', `${hub!.authUrl(bob)}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /may not write|403/);
      assert.deepEqual(Object.fromEntries(await remoteRefs(repoUrl)), { 'refs/heads/main': base }, 'refs unchanged');
    });

    it('a private repository is invisible (404) to a user without rights, exactly as a missing one', async () => {
      const secret = await gitResult(['ls-remote', `${hub!.authUrl(bob)}/alice/secret.git`]);
      const missing = await gitResult(['ls-remote', `${hub!.authUrl(bob)}/alice/no-such-repo.git`]);
      assert.notEqual(secret.code, 0);
      assert.equal(secret.stderr.replace(/secret/g, 'X'), missing.stderr.replace(/no-such-repo/g, 'X'));
      const cloned = await gitResult(['clone', `${hub!.authUrl(bob)}/alice/secret.git`, path.join(tmpDir('secret'), 'c')]);
      assert.notEqual(cloned.code, 0);
      assert.match(cloned.stderr, /not found/i);
      for (const service of ['git-upload-pack', 'git-receive-pack']) {
        const a = await fetch(`${hub!.url}/alice/secret.git/info/refs?service=${service}`, { headers: { Authorization: basicAuth(bob) } });
        const b = await fetch(`${hub!.url}/alice/no-such-repo.git/info/refs?service=${service}`, { headers: { Authorization: basicAuth(bob) } });
        assert.equal(a.status, 404, `${service}: the private repository is not found`);
        assert.equal(b.status, 404, `${service}: the missing repository is not found`);
        assert.equal(await a.text(), await b.text(), `${service}: the same answer`);
      }
      const v2 = await fetch(`${hub!.url}/alice/secret.git/git-upload-pack`, {
        method: 'POST',
        headers: { Authorization: basicAuth(bob), 'Content-Type': 'application/x-git-upload-pack-request', 'Git-Protocol': 'version=2' },
        body: '0014command=ls-refs\n0000',
      });
      assert.equal(v2.status, 404, 'a v2 ls-refs POST is not found either');
      const anon = await fetch(`${hub!.url}/alice/secret.git/info/refs?service=git-upload-pack`);
      assert.equal(anon.status, 401, 'anonymous callers are asked for credentials');
      const owner = await gitResult(['ls-remote', `${hub!.authUrl(alice)}/alice/secret.git`]);
      assert.equal(owner.code, 0, owner.stderr);
    });

    it('after all that, a good push goes through', async () => {
      await git(['push', '--quiet', `${hub!.authUrl(alice)}/alice/target.git`, 'main'], { cwd: work });
      assert.deepEqual(Object.fromEntries(await remoteRefs(repoUrl)), { 'refs/heads/main': next });
      const check = path.join(tmpDir('bad-check'), 'c');
      await git(['clone', '--quiet', '--mirror', repoUrl, check]);
      await git(['fsck', '--full', '--strict'], { cwd: check });
    });
  });
}
