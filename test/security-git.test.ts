import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import pg from 'pg';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitEnv, gitResult, hashObject, packOf, remoteRefs, tmpDir, treeBytes } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';
import { encodeEntryHeader } from '../src/git/pack/entry-header.js';
import { varint } from '../src/git/pack/test-fixtures.js';
import { basicAuth, FLUSH, parseReport, pkt, postReceivePack, receivePackRequest, splitPkts, ZERO } from './helpers/wire.js';

// Adversarial git requests: none may take the server down, and nothing stored may be unclonable.
// Bad packs and requests are built by hand (raw HTTP); real git 2.39 checks what a client sees.

/** A pack of exactly these objects (no walk: they may not even connect), made by git itself. */
function packObjects(dir: string, oids: string[]): Buffer {
  const r = spawnSync('git', ['pack-objects', '--stdout'], { cwd: dir, env: gitEnv, input: `${oids.join('\n')}\n` });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

/** A pack with the objects of `revs` (`^x` excludes), made by git itself. */
const ident = 'A U Thor <a@example.com> 1700000000 +0000';
const commitBytes = (tree: string, parents: string[] = [], msg = 'm') => Buffer.from(`tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author ${ident}\ncommitter ${ident}\n\n${msg}\n`);

/** Pack entries written by hand (for what git would not write). */
const whole = (type: number, data: Buffer) => Buffer.concat([encodeEntryHeader(type, data.length), zlib.deflateSync(data)]);
function rawPack(entries: Buffer[]): Buffer {
  const header = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  header.writeUInt32BE(entries.length, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, crypto.createHash('sha1').update(body).digest()]);
}
const gitOid = (type: string, data: Buffer) => crypto.createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');

/**
 * A commit whose tree holds one blob stored as an OFS delta that copies a 64 KiB base `copies`
 * times (a few hundred bytes of pack for 64 KiB * copies of blob). Returns the pack and the commit.
 */
function amplifyingPush(copies: number): { pack: Buffer; commit: string } {
  const base = Buffer.alloc(65536, 'packhub ');
  const big = Buffer.alloc(65536 * copies, 'packhub ');
  const bigOid = crypto.createHash('sha1').update(`blob ${big.length}\0`).update(big).digest('hex');
  const tree = treeBytes([['100644', 'base.bin', gitOid('blob', base)], ['100644', 'big.bin', bigOid]]);
  const commit = commitBytes(gitOid('tree', tree));
  const delta = Buffer.from([...varint(65536), ...varint(65536 * copies), ...new Array<number>(copies).fill(0x80)]);
  const first = whole(3, base);
  let distance = first.length;
  const ofs = [distance & 0x7f];
  while ((distance = Math.floor(distance / 128)) > 0) ofs.unshift(0x80 | (--distance & 0x7f));
  const second = Buffer.concat([encodeEntryHeader(6, delta.length), Buffer.from(ofs), zlib.deflateSync(delta)]);
  return { pack: rawPack([first, second, whole(2, tree), whole(1, commit)]), commit: gitOid('commit', commit) };
}

/** VmRSS / VmHWM of a process, in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

async function healthzQuickly(hub: Hub): Promise<void> {
  const t0 = Date.now();
  const r = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 < 2000, `/healthz answered in ${Date.now() - t0} ms`);
}

/** gzip of `block` repeated `times` times, streamed through zlib (the input is never built whole). */
async function gzipRepeated(head: Buffer, block: Buffer, times: number, tail: Buffer): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.on('end', r));
  gz.write(head);
  for (let i = 0; i < times; i++) if (!gz.write(block)) await new Promise((r) => gz.once('drain', r));
  gz.end(tail);
  await done;
  return Buffer.concat(out);
}

const uploadPack = (url: string, body: Buffer, headers: Record<string, string> = {}) =>
  fetch(`${url}/git-upload-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-upload-pack-request', ...headers }, body, signal: AbortSignal.timeout(120_000) });

/** Pack files under the hub's storage (fs) or bucket (s3), and pack rows in its database. */
async function packCounts(hub: Hub): Promise<{ stored: number; rows: number }> {
  let stored = 0;
  let rows: number;
  if (hub.backend === 'fs') {
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.pack')) stored++;
      }
    };
    walk(path.join(hub.dataDir, 'objects'));
    const db = new Database(path.join(hub.dataDir, 'packhub.sqlite'), { readonly: true });
    try {
      rows = (db.prepare('SELECT count(*) AS n FROM packs').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } else {
    const s3 = new S3Client({ endpoint: hub.env.PACKHUB_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: hub.env.PACKHUB_S3_BUCKET, Prefix: 'repos/', ContinuationToken: token }));
      stored += (page.Contents ?? []).filter((o) => o.Key!.endsWith('.pack')).length;
      token = page.NextContinuationToken;
    } while (token);
    s3.destroy();
    const url = new URL(hub.env.PACKHUB_DATABASE_URL!);
    const schema = url.searchParams.get('schema')!;
    url.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      rows = Number((await client.query(`SELECT count(*) AS n FROM "${schema}"."packs"`)).rows[0].n);
    } finally {
      await client.end();
    }
  }
  return { stored, rows };
}

for (const backend of backends()) {
  describe(`adversarial git requests (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string; readToken: string };
    let work: string;
    let base: string;

    const url = (repo: string) => `${hub!.url}/alice/${repo}.git`;
    const authUrl = (repo: string) => `${hub!.authUrl(alice)}/alice/${repo}.git`;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend, env: { PACKHUB_COMPACT_MIN_PACKS: '0', PACKHUB_MAX_PUSH_BYTES: '200MiB' } });
          alice = await hub.user('alice');
          for (const r of ['pub', 'types', 'modules', 'refs', 'quota', 'amp', 'race']) await hub.repo(`alice/${r}`);
          work = path.join(tmpDir('sec'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          fs.writeFileSync(path.join(work, 'README.md'), 'hello\n');
          await git(['add', '.'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'base'], { cwd: work });
          base = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
          for (const r of ['pub', 'types', 'modules', 'refs', 'race']) await git(['push', '--quiet', authUrl(r), 'main'], { cwd: work });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    /** POST one command and a pack as alice; returns the report lines. */
    const push = async (repo: string, pack: Buffer | null, ref: string, old: string, neu: string) => {
      const res = await postReceivePack(url(repo), receivePackRequest([{ old, new: neu, ref }], pack), alice);
      assert.equal(res.status, 200, res.body.toString());
      return parseReport(res.body).lines;
    };

    describe('1. bounded request bodies', () => {
      it('a gzip body inflating to 512 MiB of v2 arguments (anonymous): refused, the server stays up and small', async () => {
        const before = memory(hub!.pid);
        // Arguments the server ignores (so no count of wants or haves stops it first): 1,000 bytes each.
        const junk = pkt(`x-unknown-argument ${'x'.repeat(976)}\n`);
        const block = Buffer.concat(Array.from({ length: 1000 }, () => junk)); // 1,000,000 bytes
        const body = await gzipRepeated(Buffer.concat([pkt('command=fetch\n'), pkt('object-format=sha1\n'), Buffer.from('0001')]), block, 512, Buffer.concat([pkt('done\n'), FLUSH]));
        assert.ok(body.length < 4 << 20, `the request is small: ${body.length} bytes`);
        const res = await uploadPack(url('pub'), body, { 'Git-Protocol': 'version=2', 'Content-Encoding': 'gzip' });
        const text = await res.text();
        assert.equal(res.status, 413, text);
        assert.match(text, /upload-pack request body exceeds 33554432 bytes \(after decompression\)/);
        await healthzQuickly(hub!);
        const now = memory(hub!.pid);
        assert.ok(now.rss < before.rss + (150 << 20), `RSS ${now.rss >> 20} MiB after, ${before.rss >> 20} MiB before`);
      });

      it('too many wants (v0) or haves (v2) in one request: ERR, the server stays up', async () => {
        const want = pkt(`want ${base}\n`);
        const v0 = await gzipRepeated(pkt(`want ${base} multi_ack_detailed side-band-64k ofs-delta\n`), Buffer.concat(Array.from({ length: 1000 }, () => want)), 501, Buffer.concat([FLUSH, pkt('done\n')]));
        const r0 = await uploadPack(url('pub'), v0, { 'Content-Encoding': 'gzip' });
        const b0 = Buffer.from(await r0.arrayBuffer());
        assert.equal(r0.status, 200);
        assert.match(splitPkts(b0).map((p) => p.toString()).join(''), /^ERR protocol error: more than 500000 wants in one request/);
        const have = pkt(`have ${base}\n`);
        const v2 = await gzipRepeated(Buffer.concat([pkt('command=fetch\n'), Buffer.from('0001'), pkt(`want ${base}\n`)]), Buffer.concat(Array.from({ length: 1000 }, () => have)), 501, FLUSH);
        const r2 = await uploadPack(url('pub'), v2, { 'Git-Protocol': 'version=2', 'Content-Encoding': 'gzip' });
        assert.match(await r2.text(), /ERR protocol error: more than 500000 haves in one request/);
        await healthzQuickly(hub!);
      });

      it('receive-pack: a gzip body is bounded by PACKHUB_MAX_PUSH_BYTES after decompression, and so are the commands', async () => {
        // A pack that looks fine as far as it goes: blobs of 60 MiB of zeros stored uncompressed
        // (zlib level 0), 300 MiB in all, sent gzipped (a few hundred KiB).
        const entry = Buffer.concat([encodeEntryHeader(3, 60 << 20), zlib.deflateSync(Buffer.alloc(60 << 20), { level: 0 })]);
        const packHeader = Buffer.from('PACK\0\0\0\x02\0\0\0\x05', 'latin1');
        const commands = Buffer.concat([receivePackRequest([{ old: ZERO, new: base, ref: 'refs/heads/zip' }], null), packHeader]);
        const body = await gzipRepeated(commands, entry, 5, Buffer.alloc(20));
        assert.ok(body.length < 4 << 20, `${body.length} bytes sent`);
        const res = await fetch(`${url('pub')}/git-receive-pack`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-git-receive-pack-request', 'Content-Encoding': 'gzip', Authorization: basicAuth(alice) },
          body,
        });
        const report = parseReport(Buffer.from(await res.arrayBuffer())).lines;
        assert.match(report[0]!, /^unpack pack exceeds the maximum push size of 209715200 bytes/);
        assert.equal(report[1], 'ng refs/heads/zip pack too large');
        // 250,000 commands: more than one push may hold.
        const many = Buffer.concat(Array.from({ length: 1000 }, (_, i) => pkt(`${ZERO} ${base} refs/heads/b${i}\n`)));
        const cmds = await gzipRepeated(pkt(`${ZERO} ${base} refs/heads/first\0report-status side-band-64k\n`), many, 250, FLUSH);
        const r2 = await fetch(`${url('pub')}/git-receive-pack`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-git-receive-pack-request', 'Content-Encoding': 'gzip', Authorization: basicAuth(alice) },
          body: cmds,
        });
        assert.equal(r2.status, 400);
        assert.match(await r2.text(), /more than 200000 pkt-lines/);
        assert.deepEqual([...(await remoteRefs(url('pub'))).keys()], ['refs/heads/main']);
        await healthzQuickly(hub!);
      });
    });

    describe('2. object size and delta amplification', () => {
      it('a delta copying a 64 KiB base 2048 times (128 MiB) is refused from its header; so is a tree header claiming 1 GiB', async () => {
        const { pack, commit } = amplifyingPush(2048);
        assert.ok(pack.length < 2048, `${pack.length} bytes of pack`);
        const r = await push('amp', pack, 'refs/heads/main', ZERO, commit);
        assert.match(r[0]!, /^unpack delta result at offset \d+ is 134217728 bytes, over the limit of 104857600 bytes per object/);
        assert.match(r[1]!, /^ng refs\/heads\/main /);
        const tree = Buffer.concat([encodeEntryHeader(2, 1 << 30), zlib.deflateSync(Buffer.alloc(0))]);
        const t = await push('amp', rawPack([tree]), 'refs/heads/main', ZERO, base);
        assert.match(t[0]!, /^unpack tree at offset 12 is 1073741824 bytes, over the limit/);
        assert.deepEqual([...(await remoteRefs(url('amp'))).keys()], []);
        // Within the limit, the same construction is a fine push.
        const small = amplifyingPush(4);
        assert.deepEqual(await push('amp', small.pack, 'refs/heads/main', ZERO, small.commit), ['unpack ok', 'ok refs/heads/main']);
      });

      it('the quota is charged by inflated size, not by the compressed pack', async () => {
        const carol = await hub!.user('carol');
        await hub!.cli(['quota', 'set', 'carol', '--public', '4MiB']);
        await hub!.repo('carol/q');
        const { pack, commit } = amplifyingPush(96); // 6 MiB of blobs in a few hundred bytes
        const res = await postReceivePack(`${hub!.url}/carol/q.git`, receivePackRequest([{ old: ZERO, new: commit, ref: 'refs/heads/main' }], pack), carol);
        const r = parseReport(res.body).lines;
        assert.match(r[0]!, /^unpack storage quota exceeded/);
        assert.equal(r[1], 'ng refs/heads/main storage quota exceeded');
        const ok = amplifyingPush(16); // 1 MiB
        const res2 = await postReceivePack(`${hub!.url}/carol/q.git`, receivePackRequest([{ old: ZERO, new: ok.commit, ref: 'refs/heads/main' }], ok.pack), carol);
        assert.deepEqual(parseReport(res2.body).lines, ['unpack ok', 'ok refs/heads/main']);
      });

      it('a large blob stored as a delta is downloaded (resolve) as a stream, not held in memory; a slow clone leaks no listeners', async () => {
        await hub!.repo('alice/big');
        const big = path.join(tmpDir('big'), 'w');
        await git(['init', '--quiet', '-b', 'main', big]);
        const data = crypto.randomBytes(48 << 20);
        fs.writeFileSync(path.join(big, 'model.bin'), data);
        await git(['add', '.'], { cwd: big });
        await git(['commit', '--quiet', '-m', 'v1'], { cwd: big });
        data.write('a small change in the middle', 24 << 20);
        fs.writeFileSync(path.join(big, 'model.bin'), data);
        await git(['commit', '--quiet', '-am', 'v2'], { cwd: big });
        await git(['push', '--quiet', authUrl('big'), 'main'], { cwd: big, env: { GIT_CONFIG_PARAMETERS: "'lfs.largefilewarning=false'" } });
        const v1 = (await git(['rev-parse', 'HEAD~1'], { cwd: big })).trim();
        const v2 = (await git(['rev-parse', 'HEAD'], { cwd: big })).trim();
        const blobs = [(await git(['rev-parse', 'HEAD~1:model.bin'], { cwd: big })).trim(), (await git(['rev-parse', 'HEAD:model.bin'], { cwd: big })).trim()];

        // A fresh process (the push's memory, freed or kept by the allocator, out of the picture), warmed up by a small download.
        await hub!.restart();
        assert.equal((await fetch(`${hub!.url}/alice/pub/resolve/main/README.md`)).status, 200);
        const pid = hub!.pid;
        fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // reset the peak (VmHWM) to the current RSS
        const start = memory(pid);
        for (const [rev, expected] of [[v2, data], [v1, null]] as const) {
          const res = await fetch(`${hub!.url}/alice/big/resolve/${rev}/model.bin`);
          assert.equal(res.status, 200);
          const got = Buffer.from(await res.arrayBuffer());
          assert.equal(got.length, 48 << 20);
          if (expected) assert.ok(got.equals(expected), 'the content is the blob');
        }
        const peak = memory(pid).peak;
        // Held whole, a delta costs its base and its result (2 x 48 MiB); streamed, only buffers the
        // garbage collector has not yet taken back.
        assert.ok(peak - start.rss < 72 << 20, `peak RSS grew by ${(peak - start.rss) >> 20} MiB while downloading 48 MiB blobs (one a delta)`);
        // One of the two versions is a delta of the other (git packed them together): it went through a file of the cache.
        assert.ok(blobs.some((b) => fs.existsSync(path.join(hub!.dataDir, 'cache', 'blobs', b))), 'the delta was resolved into the cache');

        // A v2 fetch of the whole repository through a reader that takes its time: the server waits
        // for 'drain' thousands of times and must not pile up 'close' listeners.
        const request = Buffer.concat([pkt('command=fetch\n'), pkt('object-format=sha1\n'), Buffer.from('0001'), pkt(`want ${v2}\n`), pkt('ofs-delta\n'), pkt('no-progress\n'), pkt('done\n'), FLUSH]);
        const received = await new Promise<number>((resolve, reject) => {
          const req = http.request(`${hub!.url}/alice/big.git/git-upload-pack`, { method: 'POST', headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Git-Protocol': 'version=2' } }, (res) => {
            let n = 0;
            res.on('data', (c: Buffer) => {
              n += c.length;
              res.pause();
              setTimeout(() => res.resume(), 2);
            });
            res.on('end', () => resolve(n));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(request);
        });
        assert.ok(received > 48 << 20, `received ${received} bytes`);
        await new Promise((r) => setTimeout(r, 200));
        assert.doesNotMatch(fs.readFileSync(hub!.logFile, 'utf8'), /MaxListenersExceededWarning/);
      });
    });

    describe('3. object types along links', () => {
      const refused = async (objects: [type: string, data: Buffer][], tip: string, what: RegExp) => {
        const dir = path.join(tmpDir('types'), 'r');
        await git(['init', '--quiet', '--bare', dir]);
        const oids = objects.map(([type, data]) => hashObject(dir, type, data));
        const r = await push('types', packObjects(dir, oids), 'refs/heads/evil', ZERO, tip);
        assert.match(r[0]!, what);
        assert.match(r[1]!, /^ng refs\/heads\/evil /);
      };

      it("a commit whose tree is a blob, or whose parent is a blob", async () => {
        const blob = Buffer.from('not a tree\n');
        const b = gitOid('blob', blob);
        const c1 = commitBytes(b);
        await refused([['blob', blob], ['commit', c1]], gitOid('commit', c1), new RegExp(`^unpack object ${b} is a blob, but ${gitOid('commit', c1)} names it as a tree`));
        const tree = treeBytes([['100644', 'f', b]]);
        const c2 = commitBytes(gitOid('tree', tree), [b]);
        await refused([['blob', blob], ['tree', tree], ['commit', c2]], gitOid('commit', c2), /is a blob, but \w+ names it as a commit|is named as a blob by \w+ and as a commit by/);
      });

      it('a tree entry whose mode says directory but names a blob, and a file entry naming a tree', async () => {
        const blob = Buffer.from('x\n');
        const b = gitOid('blob', blob);
        const t1 = treeBytes([['40000', 'dir', b]]);
        const c1 = commitBytes(gitOid('tree', t1));
        await refused([['blob', blob], ['tree', t1], ['commit', c1]], gitOid('commit', c1), /is a blob, but \w+ names it as a tree/);
        const inner = treeBytes([['100644', 'f', b]]);
        const t2 = treeBytes([['100644', 'file', gitOid('tree', inner)]]);
        const c2 = commitBytes(gitOid('tree', t2));
        await refused([['blob', blob], ['tree', inner], ['tree', t2], ['commit', c2]], gitOid('commit', c2), /is a tree, but \w+ names it as a blob/);
      });

      it("a tag whose 'type' lies, and an existing object named with the wrong type", async () => {
        const tagData = Buffer.from(`object ${base}\ntype tree\ntag v1\ntagger ${ident}\n\nlies\n`);
        const dir = path.join(tmpDir('tag'), 'r');
        await git(['init', '--quiet', '--bare', dir]);
        const tag = hashObject(dir, 'tag', tagData);
        // The tagged commit is already stored: the pack holds the tag alone.
        const pack = rawPack([whole(4, tagData)]);
        const r = await push('types', pack, 'refs/tags/v1', ZERO, tag);
        assert.match(r[0]!, new RegExp(`^unpack object ${base} is a commit, but ${tag} names it as a tree`));
        assert.deepEqual([...(await remoteRefs(url('types'))).keys()], ['refs/heads/main']);
        // Control: a truthful tag goes in, and the repository clones and fscks.
        const good = Buffer.from(`object ${base}\ntype commit\ntag v1\ntagger ${ident}\n\ntrue\n`);
        assert.deepEqual(await push('types', rawPack([whole(4, good)]), 'refs/tags/v1', ZERO, gitOid('tag', good)), ['unpack ok', 'ok refs/tags/v1']);
        const check = path.join(tmpDir('types-check'), 'c');
        await git(['clone', '--quiet', '--mirror', url('types'), check]);
        await git(['fsck', '--full', '--strict'], { cwd: check });
      });
    });

    describe('4. .gitmodules', () => {
      const modulesCommit = (dir: string, text: string, mode = '100644', name = '.gitmodules') => {
        const blob = hashObject(dir, 'blob', Buffer.from(text));
        const readme = hashObject(dir, 'blob', Buffer.from('hello\n'));
        const entries: [string, string, string][] = [[mode, name, blob], ['100644', 'README.md', readme]];
        entries.sort((a, b) => (a[1] < b[1] ? -1 : 1));
        const tree = hashObject(dir, 'tree', treeBytes(entries));
        return hashObject(dir, 'commit', commitBytes(tree, [base]));
      };
      const bad: [string, RegExp][] = [
        ['[submodule "../../../hooks"]\n\tpath = x\n\turl = https://example.com/x.git\n', /disallowed submodule name/],
        ['[submodule "x"]\n\tpath = x\n\turl = -upload-pack=touch${IFS}/tmp/pwned\n', /disallowed submodule url/],
        ['[submodule "x"]\n\tpath = -x\n\turl = https://example.com/x.git\n', /disallowed submodule path/],
        ['[submodule "x"]\n\tpath = x\n\turl = ../../:x\n', /disallowed submodule url/],
        ['[submodule "x"]\n\tupdate = !sh evil\n', /disallowed submodule update/],
      ];
      for (const [i, [text, what]] of bad.entries()) {
        it(`a push of a bad .gitmodules (${i + 1}) is refused as git's fsck would`, async () => {
          const dir = path.join(tmpDir('mod'), 'r');
          await git(['clone', '--quiet', '--bare', work, dir]);
          const c = modulesCommit(dir, text);
          // git itself (transfer.fsckObjects) refuses the same
          const fsck = spawnSync('git', ['-c', 'fsck.gitmodulesParse=error', 'fsck', '--no-dangling'], { cwd: dir, env: gitEnv });
          assert.notEqual(fsck.status, 0, `git fsck refuses it too: ${fsck.stderr}`);
          const r = await push('modules', packOf(dir, [c, `^${base}`]), 'refs/heads/main', base, c);
          assert.match(r[0]!, what);
          assert.match(r[1]!, /^ng refs\/heads\/main /);
        });
      }

      it('a directory named .gitmodules, a symlink; a good .gitmodules goes through', async () => {
        const dir = path.join(tmpDir('mod2'), 'r');
        await git(['clone', '--quiet', '--bare', work, dir]);
        const inner = hashObject(dir, 'tree', treeBytes([['100644', 'x', hashObject(dir, 'blob', Buffer.from('x'))]]));
        const readme = hashObject(dir, 'blob', Buffer.from('hello\n'));
        const tree = hashObject(dir, 'tree', treeBytes([['40000', '.gitmodules', inner], ['100644', 'README.md', readme]]));
        const c = hashObject(dir, 'commit', commitBytes(tree, [base]));
        assert.match((await push('modules', packOf(dir, [c, `^${base}`]), 'refs/heads/main', base, c))[0]!, /gitmodulesBlob/);
        const good = modulesCommit(dir, '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n');
        assert.deepEqual(await push('modules', packOf(dir, [good, `^${base}`]), 'refs/heads/main', base, good), ['unpack ok', 'ok refs/heads/main']);
      });

      it('an API commit of a bad .gitmodules is refused (400), a good one accepted', async () => {
        const commit = (content: string) =>
          fetch(`${hub!.url}/api/models/alice/modules/commit/main`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
            body: [{ key: 'header', value: { summary: 'modules' } }, { key: 'file', value: { path: '.gitmodules', content: Buffer.from(content).toString('base64'), encoding: 'base64' } }].map((l) => JSON.stringify(l)).join('\n'),
          });
        const before = await remoteRefs(url('modules'));
        for (const [text, what] of bad) {
          const r = await commit(text);
          assert.equal(r.status, 400);
          assert.match(await r.text(), what);
        }
        const dirAsModules = await fetch(`${hub!.url}/api/models/alice/modules/commit/main`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
          body: [{ key: 'header', value: { summary: 'dir' } }, { key: 'deletedFile', value: { path: '.gitmodules' } }, { key: 'file', value: { path: '.gitmodules/x', content: 'eA==', encoding: 'base64' } }].map((l) => JSON.stringify(l)).join('\n'),
        });
        assert.equal(dirAsModules.status, 400, await dirAsModules.text());
        assert.deepEqual(await remoteRefs(url('modules')), before);
        assert.equal((await commit('[submodule "a"]\n\tpath = a\n\turl = ../a.git\n')).status, 200);
      });
    });

    describe('5, 6. refs a push may not touch', () => {
      it('git push origin :main (the default branch) is refused with a reason', async () => {
        const r = await gitResult(['push', authUrl('refs'), ':main'], { cwd: work });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /\[remote rejected\] main \(refusing to delete the default branch/);
        assert.equal((await remoteRefs(url('refs'))).get('refs/heads/main'), base);
        // Other branches may go.
        await git(['push', '--quiet', authUrl('refs'), 'main:other'], { cwd: work });
        await git(['push', '--quiet', authUrl('refs'), ':other'], { cwd: work });
      });

      for (const ref of ['refs/heads/HEAD', 'refs/tags/HEAD', 'refs/heads/-x', 'refs/tags/--upload-pack=x', 'refs/heads/a/-b']) {
        it(`a push creating ${ref} is refused`, async () => {
          const r = await push('refs', packOf(work, [base, `^${base}`]), ref, ZERO, base);
          assert.equal(r[0], 'unpack ok');
          assert.match(r[1]!, new RegExp(`^ng ${ref.replace(/[./-]/g, '\\$&')} funny refname \\(`));
        });
      }
    });

    describe('7. errors after the pack started', () => {
      it('go out on the side-band error channel: git prints them, not "bad band"', async () => {
        await hub!.repo('alice/broken');
        const dir = path.join(tmpDir('broken'), 'w');
        await git(['init', '--quiet', '-b', 'main', dir]);
        for (let i = 0; i < 2; i++) {
          fs.writeFileSync(path.join(dir, `f${i}.bin`), crypto.randomBytes(200_000));
          await git(['add', '.'], { cwd: dir });
          await git(['commit', '--quiet', '-m', `c${i}`], { cwd: dir });
          await git(['push', '--quiet', authUrl('broken'), 'main'], { cwd: dir });
        }
        // Break the header of the last blob's entry in the packs the server reads (two packs: the
        // answer is written object by object, so the damage is found in the middle of the pack).
        const blob = (await git(['rev-parse', 'HEAD:f1.bin'], { cwd: dir })).trim();
        const packs: string[] = [];
        const walk = (d: string) => {
          for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            if (e.isDirectory()) walk(path.join(d, e.name));
            else if (e.name.endsWith('.idx') && d.includes('packs')) packs.push(path.join(d, e.name));
          }
        };
        walk(hub!.dataDir);
        let broke = 0;
        for (const idx of packs) {
          const entries = spawnSync('git', ['show-index'], { input: fs.readFileSync(idx), env: gitEnv }).stdout.toString().trim().split('\n');
          for (const line of entries) {
            const [offset, oid] = line.split(' ');
            if (oid !== blob) continue;
            const fd = fs.openSync(idx.replace(/\.idx$/, '.pack'), 'r+');
            const b = Buffer.alloc(1);
            fs.readSync(fd, b, 0, 1, Number(offset));
            b[0] = (b[0]! & 0x8f) | 0x50; // type 5: invalid
            fs.writeSync(fd, b, 0, 1, Number(offset));
            fs.closeSync(fd);
            broke++;
          }
        }
        assert.ok(broke > 0, 'the blob was found in a stored pack');
        for (const protocol of [2, 0] as const) {
          const r = await gitResult(['clone', url('broken'), path.join(tmpDir('broken-clone'), 'c')], { protocol });
          assert.notEqual(r.code, 0);
          assert.doesNotMatch(r.stderr, /bad band/);
          // git shows band 3 as 'remote: <message>' and stops.
          assert.match(r.stderr, /remote: invalid object type 5 at offset/, `protocol ${protocol}: ${r.stderr}`);
        }
      });
    });

    describe('9. packs of lost races', () => {
      it('racing API commits leave no pack that no row names', async () => {
        const api = (lines: unknown[]) =>
          fetch(`${hub!.url}/api/models/alice/race/commit/main`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
            body: lines.map((l) => JSON.stringify(l)).join('\n'),
          });
        const file = (p: string) => ({ key: 'file', value: { path: p, content: Buffer.from(`${p}\n`).toString('base64'), encoding: 'base64' } });
        const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => api([{ key: 'header', value: { summary: `r${i}`, parentCommit: base } }, file(`p${i}.txt`)])));
        assert.deepEqual(racing.map((r) => r.status).sort(), [200, ...Array(7).fill(412)]);
        const retried = await Promise.all(Array.from({ length: 8 }, (_, i) => api([{ key: 'header', value: { summary: `n${i}` } }, file(`n${i}.txt`)])));
        assert.deepEqual(retried.map((r) => r.status), Array(8).fill(200));
        // An atomic push whose compare-and-swap fails (main moved on since base): its pack is stored, then dropped.
        const side = path.join(tmpDir('race'), 'w');
        await git(['clone', '--quiet', work, side]);
        fs.writeFileSync(path.join(side, 'late.txt'), 'too late\n');
        await git(['add', '.'], { cwd: side });
        await git(['commit', '--quiet', '-m', 'late'], { cwd: side });
        const late = (await git(['rev-parse', 'HEAD'], { cwd: side })).trim();
        const res = await postReceivePack(url('race'), receivePackRequest([{ old: base, new: late, ref: 'refs/heads/main' }], packOf(side, [late, `^${base}`]), 'report-status side-band-64k atomic'), alice);
        const report = parseReport(res.body).lines;
        assert.equal(report[0], 'unpack ok');
        assert.match(report[1]!, /^ng refs\/heads\/main /);
        const counts = await packCounts(hub!);
        assert.equal(counts.stored, counts.rows, `${counts.stored} packs stored, ${counts.rows} pack rows`);
      });
    });
  });
}
