import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, tmpDir } from './helpers/git.js';
import { buildRichRepo } from './helpers/repo-builder.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const count = async (dir: string, rev = 'HEAD') => Number((await git(['rev-list', '--count', rev], { cwd: dir })).trim());
const missingObjects = async (dir: string) =>
  (await git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: dir })).split('\n').filter((l) => l.startsWith('?')).length;

for (const backend of backends()) {
  describe(`shallow and partial clones (${backend})`, () => {
    let hub: Hub;
    let url: string;

    before(async () => {
      hub = await startHub({ backend });
      const alice = await hub.user('alice');
      await hub.repo('alice/rich');
      const src = await buildRichRepo();
      await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/rich.git`, '--all'], { cwd: src });
      await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/rich.git`, '--tags'], { cwd: src });
      url = `${hub.url}/alice/rich.git`;
    });
    after(async () => {
      await hub?.stop();
    });

    for (const version of ['2', '0']) {
      it(`clone --depth 1, fetch --deepen, fetch --unshallow (protocol v${version})`, async () => {
        const dir = path.join(tmpDir('shallow'), 'c');
        const v = ['-c', `protocol.version=${version}`];
        await git([...v, 'clone', '--quiet', '--depth', '1', url, dir]);
        assert.equal(await count(dir), 1);
        assert.ok(fs.existsSync(path.join(dir, '.git/shallow')));
        await git([...v, 'fetch', '--quiet', '--deepen', '5'], { cwd: dir });
        assert.equal(await count(dir), 6);
        await git([...v, 'fetch', '--quiet', '--unshallow'], { cwd: dir });
        assert.equal(await count(dir), 240);
        assert.ok(!fs.existsSync(path.join(dir, '.git/shallow')), 'the clone is no longer shallow');
        await git(['fsck', '--full', '--strict'], { cwd: dir });
      });

      it(`clone --filter=blob:none, then a checkout fetches blobs on demand (protocol v${version})`, async () => {
        const dir = path.join(tmpDir('blobless'), 'c');
        const v = ['-c', `protocol.version=${version}`];
        await git([...v, 'clone', '--quiet', '--filter=blob:none', '--no-checkout', url, dir]);
        const before = await missingObjects(dir);
        assert.ok(before > 20, `a blobless clone lacks blobs (missing ${before})`);
        await git([...v, 'checkout', '--quiet', 'main'], { cwd: dir });
        assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), '# rich repo\n');
        assert.ok((await missingObjects(dir)) < before, 'the checkout fetched the blobs it needed');
        await git([...v, 'checkout', '--quiet', 'release'], { cwd: dir });
        assert.ok(fs.existsSync(path.join(dir, 'RELEASE.md')));
        await git(['fsck', '--full', '--strict'], { cwd: dir });
      });
    }

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

    it('clone --filter=blob:limit=1k leaves out exactly the blobs of 1 KiB and more', async () => {
      const dir = path.join(tmpDir('limit'), 'c');
      await git(['clone', '--quiet', '--filter=blob:limit=1k', '--no-checkout', url, dir]);
      const missing = (await git(['rev-list', '--objects', '--all', '--missing=print'], { cwd: dir })).split('\n').filter((l) => l.startsWith('?')).map((l) => l.slice(1));
      assert.ok(missing.length > 0);
      const src = path.join(tmpDir('limit-full'), 'c');
      await git(['clone', '--quiet', '--bare', url, src]);
      for (const oid of missing) assert.ok(Number((await git(['cat-file', '-s', oid], { cwd: src })).trim()) >= 1024, `${oid} was left out but is small`);
      const small = (await git(['cat-file', '-s', (await git(['rev-parse', 'main:README.md'], { cwd: src })).trim()], { cwd: src })).trim();
      assert.ok(Number(small) < 1024);
      await git(['cat-file', '-e', 'main:README.md'], { cwd: dir }); // small blobs were sent
      await git(['checkout', '--quiet', 'main'], { cwd: dir });
      await git(['fsck', '--full', '--strict'], { cwd: dir });
    });
  });
}
