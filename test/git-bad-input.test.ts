import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { git, gitEnv, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';
import { parseReport, postReceivePack, receivePackRequest, ZERO } from './helpers/wire.js';

/** A pack with the objects of `revs` (`^x` excludes), made by git itself. */
function packBytes(dir: string, revs: string[], thin = false): Buffer {
  const r = spawnSync('git', ['pack-objects', '--stdout', '--revs', ...(thin ? ['--thin'] : [])], { cwd: dir, env: gitEnv, input: `${revs.join('\n')}\n` });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

for (const backend of backends()) {
  describe(`bad input is refused with a clear error and refs unchanged (${backend})`, () => {
    let hub: Hub;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    let repoUrl: string;
    let work: string;
    let base: string;
    let next: string;

    before(async () => {
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      bob = await hub.user('bob');
      await hub.repo('alice/target');
      await hub.repo('alice/secret', { private: true });
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
    });
    after(async () => {
      await hub?.stop();
    });

    const pushRaw = async (pack: Buffer | null, ref = 'refs/heads/main', old = base, neu = next) => {
      const before = await remoteRefs(repoUrl);
      const res = await postReceivePack(repoUrl, receivePackRequest([{ old, new: neu, ref }], pack), alice);
      const after = await remoteRefs(repoUrl);
      assert.deepEqual(Object.fromEntries(after), Object.fromEntries(before), 'refs unchanged');
      return { status: res.status, ...parseReport(res.body) };
    };

    it('a truncated pack', async () => {
      const pack = packBytes(work, [next, `^${base}`]);
      for (const cut of [pack.length - 30, Math.floor(pack.length / 2), 20]) {
        const r = await pushRaw(pack.subarray(0, cut));
        assert.match(r.lines[0]!, /^unpack .*truncated/);
        assert.match(r.lines[1]!, /^ng refs\/heads\/main /);
      }
    });

    it('a corrupt zlib stream', async () => {
      const pack = Buffer.from(packBytes(work, [next, `^${base}`]));
      // Flip bytes inside the first object's compressed data (after the 12-byte header and entry header).
      for (let i = 16; i < 24; i++) pack[i] = pack[i]! ^ 0xff;
      const r = await pushRaw(pack);
      assert.match(r.lines[0]!, /^unpack .*(zlib|corrupt|inflates|checksum)/);
    });

    it('a wrong pack checksum', async () => {
      const pack = Buffer.from(packBytes(work, [next, `^${base}`]));
      pack[pack.length - 1] = pack[pack.length - 1]! ^ 0x01;
      const r = await pushRaw(pack);
      assert.match(r.lines[0]!, /^unpack pack checksum mismatch/);
    });

    it('a delta against a base the hub does not have', async () => {
      // Thin pack against a commit that was never pushed.
      const side = path.join(tmpDir('side'), 'w');
      await git(['clone', '--quiet', work, side]);
      await git(['checkout', '--quiet', '-b', 'side', base], { cwd: side });
      fs.writeFileSync(path.join(side, 'f.txt'), `${'x'.repeat(5000)}never pushed`);
      await git(['commit', '--quiet', '-am', 'unpushed'], { cwd: side });
      const unpushed = (await git(['rev-parse', 'HEAD'], { cwd: side })).trim();
      fs.writeFileSync(path.join(side, 'f.txt'), `${'x'.repeat(5000)}never pushed, then changed`);
      await git(['commit', '--quiet', '-am', 'on top'], { cwd: side });
      const top = (await git(['rev-parse', 'HEAD'], { cwd: side })).trim();
      const pack = packBytes(side, [top, `^${unpushed}`], true);
      const r = await pushRaw(pack, 'refs/heads/side', ZERO, top);
      assert.match(r.lines[0]!, /^unpack .*(delta base [0-9a-f]{40} not found|missing necessary objects)/);
    });

    for (const name of ['..', '.git', '.GIT']) {
      it(`a tree entry named '${name}'`, async () => {
        const blob = (await git(['hash-object', '-w', '--stdin'], { cwd: work, input: 'evil\n' })).trim();
        const tree = Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(blob, 'hex')]);
        const h = spawnSync('git', ['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], { cwd: work, env: gitEnv, input: tree });
        const treeOid = h.stdout.toString().trim();
        const commit = (await git(['commit-tree', treeOid, '-p', base, '-m', 'evil'], { cwd: work })).trim();
        const pack = packBytes(work, [commit, `^${base}`]);
        const r = await pushRaw(pack, 'refs/heads/main', base, commit);
        assert.ok(r.lines[0]!.startsWith(`unpack tree entry name '${name}'`), r.lines[0]);
        assert.match(r.lines[0]!, /is not allowed$/);
      });
    }

    it('an invalid ref name', async () => {
      const pack = packBytes(work, [next, `^${base}`]);
      const r = await pushRaw(pack, 'refs/heads/bad..name', ZERO, next);
      assert.equal(r.lines[0], 'unpack ok');
      assert.equal(r.lines[1], 'ng refs/heads/bad..name funny refname');
    });

    it('a push to a missing repository', async () => {
      const r = await gitResult(['push', `${hub.authUrl(alice)}/alice/does-not-exist.git`, 'main'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not found/i);
    });

    it('no credentials, wrong credentials, a read-only token', async () => {
      const anon = await gitResult(['push', repoUrl, 'main'], { cwd: work });
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /could not read Username|Authentication failed/);
      const info = await fetch(`${repoUrl}/info/refs?service=git-receive-pack`);
      assert.equal(info.status, 401);
      assert.match(info.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const wrong = await gitResult(['push', `http://alice:hf_wrong@127.0.0.1:${hub.port}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /Authentication failed/);
      const readOnly = await gitResult(['push', `http://alice:${alice.readToken}@127.0.0.1:${hub.port}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(readOnly.code, 0);
      assert.match(readOnly.stderr, /read-only|403/);
      const other = await gitResult(['push', `${hub.authUrl(bob)}/alice/target.git`, 'main'], { cwd: work });
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /may not write|403/);
      assert.equal((await remoteRefs(repoUrl)).get('refs/heads/main'), base);
    });

    it('a private repository is invisible (404) to a user without rights, exactly as a missing one', async () => {
      const secret = await gitResult(['ls-remote', `${hub.authUrl(bob)}/alice/secret.git`]);
      const missing = await gitResult(['ls-remote', `${hub.authUrl(bob)}/alice/no-such-repo.git`]);
      assert.notEqual(secret.code, 0);
      assert.equal(secret.stderr.replace(/secret/g, 'X'), missing.stderr.replace(/no-such-repo/g, 'X'));
      const auth = `Basic ${Buffer.from(`bob:${bob.token}`).toString('base64')}`;
      const a = await fetch(`${hub.url}/alice/secret.git/info/refs?service=git-upload-pack`, { headers: { Authorization: auth } });
      const b = await fetch(`${hub.url}/alice/no-such-repo.git/info/refs?service=git-upload-pack`, { headers: { Authorization: auth } });
      assert.equal(a.status, 404);
      assert.equal(b.status, 404);
      assert.equal(await a.text(), await b.text());
      const anon = await fetch(`${hub.url}/alice/secret.git/info/refs?service=git-upload-pack`);
      assert.equal(anon.status, 401, 'anonymous callers are asked for credentials');
      const owner = await gitResult(['ls-remote', `${hub.authUrl(alice)}/alice/secret.git`]);
      assert.equal(owner.code, 0, owner.stderr);
    });
  });
}
