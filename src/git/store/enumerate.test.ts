import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PackIndex } from '../pack/idx.js';
import { PackFile } from '../pack/pack-file.js';
import { buildHistoryRepo, git, removeTempDirs, type FixtureRepo } from '../pack/test-fixtures.js';
import { enumerateObjects } from './enumerate.js';
import { LoadedPack } from './pack-cache.js';
import { RepoObjects } from './repo-objects.js';

/** `git rev-list --objects` of these revisions, as a set of ids. */
const revList = (repo: FixtureRepo, revs: string[]) =>
  new Set(
    git(repo.dir, ['rev-list', '--objects', ...revs])
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.slice(0, 40)),
  );

describe('enumerateObjects against git rev-list', () => {
  let repo: FixtureRepo;
  let file: PackFile;
  let objects: RepoObjects;
  const rev = (r: string) => git(repo.dir, ['rev-parse', r]).toString().trim();

  before(async () => {
    repo = buildHistoryRepo();
    const idx = PackIndex.fromBuffer(fs.readFileSync(repo.idxPath));
    file = await PackFile.open(repo.packPath, idx);
    objects = new RepoObjects([new LoadedPack('r', 'p', file, idx, fs.statSync(repo.packPath).size)]);
  });
  after(() => {
    file.close();
    removeTempDirs();
  });

  it('a clone sends exactly what the wants reach', () => {
    const plan = enumerateObjects(objects, { wants: [rev('main'), rev('side')], commonHaves: [], clientShallow: [] });
    assert.deepEqual(new Set(plan.objects), revList(repo, ['main', 'side']));
    assert.equal(plan.objects.length, new Set(plan.objects).size, 'each object once');
  });

  it('a fetch sends everything the client lacks and claims as its own only what it has', () => {
    for (const [want, have] of [
      ['main', 'main~10'],
      ['main', 'main~1'],
      ['main', 'side'],
      ['side', 'main~30'],
    ] as const) {
      const plan = enumerateObjects(objects, { wants: [rev(want)], commonHaves: [rev(have)], clientShallow: [] });
      const needed = revList(repo, [want, `^${have}`]);
      const sent = new Set(plan.objects);
      for (const o of needed) assert.ok(sent.has(o), `${want} ^${have}: ${o} is needed and not sent`);
      const onClient = revList(repo, [have]);
      for (const o of plan.clientHas) assert.ok(onClient.has(o), `${want} ^${have}: ${o} is taken as the client's but it lacks it`);
      // Along the paths that changed, the client's versions are known: the bases a thin pack may use.
      assert.ok(plan.clientHas.size > 0);
      // Nothing the client has at the same path is sent again (the fixture renames nothing).
      for (const o of sent) assert.ok(!onClient.has(o), `${want} ^${have}: ${o} is sent though the client has it`);
    }
  });

  it('a fetch reads only the trees along the paths that changed, not the whole of the client’s tree', () => {
    let reads = 0;
    const counting = new (class extends RepoObjects {
      override tree(oid: string) {
        reads++;
        return super.tree(oid);
      }
    })(objects.packs);
    const all = git(repo.dir, ['ls-tree', '-r', '-d', '--name-only', 'main~11']).toString().trim().split('\n').length + 1;
    enumerateObjects(counting, { wants: [rev('main~10')], commonHaves: [rev('main~11')], clientShallow: [] });
    // One file changed three levels down: the root and two folders, on each side.
    assert.ok(reads <= 6, `${reads} tree reads (the client's commit has ${all} trees)`);
    assert.ok(all > 6);
  });

  it('a fetch into a partial clone takes no blob as the client’s', () => {
    const plan = enumerateObjects(objects, { wants: [rev('main')], commonHaves: [rev('main~5')], clientShallow: [], filter: { kind: 'blob:none' } });
    for (const o of plan.clientHas) assert.notEqual(objects.type(o), 'blob');
    for (const o of plan.objects) assert.notEqual(objects.type(o), 'blob');
  });
});
