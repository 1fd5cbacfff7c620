import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { buildRichRepo, RICH } from './helpers/repo-builder.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Acceptance 3: shallow clones (--depth, --deepen, --unshallow) and partial clones (blob:none, blob:limit).

const count = async (dir: string, rev = 'HEAD') => Number((await git(['rev-list', '--count', rev], { cwd: dir })).trim());
/** Object ids a partial clone lacks (reachable from its refs but not present). */
const missing = async (dir: string) =>
  (await git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: dir }))
    .split('\n')
    .filter((l) => l.startsWith('?'))
    .map((l) => l.slice(1));
/** The object ids of every blob in a commit's tree. */
const blobsOf = async (dir: string, rev: string) =>
  (await git(['ls-tree', '-r', rev], { cwd: dir }))
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f[1] === 'blob')
    .map((f) => f[2]!);

for (const backend of backends()) {
  describe(`shallow and partial clones (${backend})`, () => {
    let hub: Hub | undefined;
    let url: string;
    /** A full bare clone, to look up what the partial clones leave out. */
    let full: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          const alice = await hub.user('alice');
          await hub.repo('alice/rich');
          const src = await buildRichRepo();
          await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/rich.git`, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'], { cwd: src });
          url = `${hub.url}/alice/rich.git`;
          full = path.join(tmpDir('full'), 'c');
          await git(['clone', '--quiet', '--bare', url, full]);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    for (const version of [2, 0] as const) {
      it(`clone --depth 1, fetch --deepen, fetch --unshallow (protocol v${version})`, async () => {
        const dir = path.join(tmpDir('shallow'), 'c');
        await git(['clone', '--quiet', '--depth', '1', url, dir], { protocol: version });
        const head = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
        assert.equal(await count(dir), 1, 'depth 1: one commit');
        assert.equal(fs.readFileSync(path.join(dir, '.git/shallow'), 'utf8'), `${head}\n`, 'the shallow boundary is HEAD');
        await git(['fsck', '--full', '--strict'], { cwd: dir });
        await git(['fetch', '--quiet', '--deepen', '5'], { cwd: dir, protocol: version });
        assert.equal(await count(dir), 6, 'deepened by 5');
        assert.equal(fs.readFileSync(path.join(dir, '.git/shallow'), 'utf8'), `${(await git(['rev-parse', 'HEAD~5'], { cwd: dir })).trim()}\n`);
        await git(['fetch', '--quiet', '--unshallow'], { cwd: dir, protocol: version });
        assert.equal(await count(dir), RICH.mainCommits, 'the whole history');
        assert.ok(!fs.existsSync(path.join(dir, '.git/shallow')), 'the clone is no longer shallow');
        assert.equal((await git(['rev-parse', 'HEAD'], { cwd: dir })).trim(), head);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
      });

      it(`clone --filter=blob:none, then a checkout fetches blobs on demand (protocol v${version})`, async () => {
        const dir = path.join(tmpDir('blobless'), 'c');
        await git(['clone', '--quiet', '--filter=blob:none', '--no-checkout', url, dir], { protocol: version });
        const absent = await missing(dir);
        assert.ok(absent.length > 20, `a blobless clone lacks blobs (missing ${absent.length})`);
        const check = await git(['cat-file', '--batch-check=%(objecttype)'], { cwd: full, input: `${absent.join('\n')}\n` });
        const types = new Set(check.trim().split('\n'));
        assert.deepEqual([...types], ['blob'], 'only blobs are left out: every commit and tree is there');
        assert.equal(await count(dir, 'main'), RICH.mainCommits);

        await git(['checkout', '--quiet', 'main'], { cwd: dir, protocol: version });
        assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), '# rich repo\n');
        const nowMissing = new Set(await missing(dir));
        for (const oid of await blobsOf(dir, 'HEAD')) assert.ok(!nowMissing.has(oid), `the checkout fetched blob ${oid} of main`);
        assert.ok(nowMissing.size > 0 && nowMissing.size < absent.length, 'only the blobs the checkout needed were fetched');
        await git(['checkout', '--quiet', 'release'], { cwd: dir, protocol: version });
        assert.equal(fs.readFileSync(path.join(dir, 'RELEASE.md'), 'utf8'), 'release\n');
        await git(['fsck', '--full', '--strict'], { cwd: dir });
      });
    }

    it('an identical blobless clone is answered from the response cache, with the same objects', async () => {
      const clone = async (name: string) => {
        const dir = path.join(tmpDir('blobless-again'), name);
        const r = await gitResult(['clone', '--progress', '--filter=blob:none', '--no-checkout', url, dir]);
        assert.equal(r.code, 0, r.stderr);
        return { dir, stderr: r.stderr };
      };
      const a = await clone('a');
      const b = await clone('b');
      assert.match(b.stderr, /Sending a cached pack/);
      const objects = async (dir: string) => (await git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: dir })).split('\n').sort();
      assert.deepEqual(await objects(b.dir), await objects(a.dir));
      await git(['checkout', '--quiet', 'main'], { cwd: b.dir });
      await git(['fsck', '--full', '--strict'], { cwd: b.dir });
    });

    it('clone --shallow-since and --shallow-exclude', async () => {
      const since = path.join(tmpDir('since'), 'c');
      // Commit i on main has committer time 1700000000 + i: 200..239 are on or after the cut.
      await git(['clone', '--quiet', '--shallow-since=1700000200', '--single-branch', url, since]);
      assert.equal(await count(since), 40);
      await git(['fsck', '--full', '--strict'], { cwd: since });
      const exclude = path.join(tmpDir('exclude'), 'c');
      // release forks from change 100: excluding it leaves changes 101..239 of main.
      await git(['clone', '--quiet', '--shallow-exclude=release', '--single-branch', url, exclude]);
      assert.equal(await count(exclude), 139);
      await git(['fsck', '--full', '--strict'], { cwd: exclude });
    });

    it('clone --filter=blob:limit=1k leaves out exactly the blobs of 1 KiB and more, checkout fetches them', async () => {
      const dir = path.join(tmpDir('limit'), 'c');
      await git(['clone', '--quiet', '--filter=blob:limit=1k', '--no-checkout', url, dir]);
      const absent = new Set(await missing(dir));
      assert.ok(absent.size > 0, 'some blobs are left out');
      // Every blob of the full repository is present iff it is smaller than 1024 bytes.
      const sizes = (await git(['cat-file', '--batch-all-objects', '--batch-check=%(objecttype) %(objectname) %(objectsize)'], { cwd: full }))
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .filter(([type]) => type === 'blob');
      assert.ok(sizes.some(([, , n]) => Number(n) < 1024) && sizes.some(([, , n]) => Number(n) >= 1024), 'the repository has blobs on both sides of the limit');
      for (const [, oid, n] of sizes) {
        assert.equal(absent.has(oid!), Number(n) >= 1024, `blob ${oid} of ${n} bytes is ${absent.has(oid!) ? 'missing' : 'present'}`);
      }
      await git(['checkout', '--quiet', 'main'], { cwd: dir });
      assert.equal(fs.statSync(path.join(dir, 'data/blob.bin')).size, 200_000, 'the checkout fetched the large blob');
      await git(['fsck', '--full', '--strict'], { cwd: dir });
    });
  });
}
