import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PackIndex } from '../git/pack/idx.js';
import { PackFile } from '../git/pack/pack-file.js';
import { git, removeTempDirs, tempDir } from '../git/pack/test-fixtures.js';
import { LoadedPack } from '../git/store/pack-cache.js';
import { RepoObjects } from '../git/store/repo-objects.js';
import type { TreeEntry } from '../git/objects/tree.js';
import { walkTree, walkTreeAfter } from './tree.js';

/** The repository's real objects, counting the trees read. */
class CountingObjects extends RepoObjects {
  treeReads = 0;
  override tree(oid: string): TreeEntry[] {
    this.treeReads++;
    return super.tree(oid);
  }
}

describe('walkTreeAfter: a page of a recursive listing resumes after the previous page without walking it again', () => {
  let objects: CountingObjects;
  let head: string;
  let pack: PackFile;
  /** Trees in the commit: the root, a/, 12 folders below it with 4 sub-folders each, and top/. */
  const TREES = 1 + 1 + 12 + 12 * 4 + 1;

  before(async () => {
    const repo = tempDir();
    git(repo, ['init', '--quiet', '-b', 'main']);
    for (let d = 0; d < 12; d++) {
      for (let s = 0; s < 4; s++) {
        const dir = path.join(repo, 'a', `d${d}`, `s${s}`);
        fs.mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 3; f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), `${d}/${s}/${f}\n`);
      }
      fs.writeFileSync(path.join(repo, 'a', `d${d}`, 'z.txt'), `${d}\n`);
    }
    fs.mkdirSync(path.join(repo, 'top'));
    fs.writeFileSync(path.join(repo, 'top', 'x.txt'), 'x\n');
    fs.writeFileSync(path.join(repo, 'README.md'), 'r\n');
    git(repo, ['add', '-A']);
    git(repo, ['commit', '--quiet', '-m', 'tree']);
    git(repo, ['repack', '-adq']);
    head = git(repo, ['rev-parse', 'HEAD']).toString().trim();
    const dir = path.join(repo, '.git/objects/pack');
    const idx = fs.readdirSync(dir).find((f) => f.endsWith('.idx'))!;
    const index = PackIndex.fromBuffer(fs.readFileSync(path.join(dir, idx)));
    pack = await PackFile.open(path.join(dir, idx.replace(/\.idx$/, '.pack')), index);
    objects = new CountingObjects([new LoadedPack('t', 'p', pack, index, 0)]);
  });
  after(() => {
    pack?.close();
    removeTempDirs();
  });

  it('pages that resume after the last path list the same entries, in the same order, as one walk', () => {
    for (const [root, recursive] of [['', true], ['a', true], ['a/d3', true], ['', false], ['a', false]] as const) {
      const whole = walkTree(objects, head, root, recursive).map((e) => e.path);
      for (const size of [1, 5, 7, 13]) {
        const paged: string[] = [];
        let page = walkTree(objects, head, root, recursive, size);
        while (page.length) {
          paged.push(...page.map((e) => e.path));
          page = walkTreeAfter(objects, head, root, recursive, paged.at(-1)!, size)!;
          assert.ok(page, `resuming after ${paged.at(-1)} in ${root || '/'}`);
        }
        assert.deepEqual(paged, whole, `${root || '/'} recursive=${recursive} in pages of ${size}`);
      }
    }
  });

  it('a late page reads the trees along the resume path and its own, where counting from the start reads them all', () => {
    const whole = walkTree(objects, head, '', true);
    const lastDir = whole.findLastIndex((e) => e.path.startsWith('a/d9/s3/'));
    objects.treeReads = 0;
    const resumed = walkTreeAfter(objects, head, '', true, whole[lastDir]!.path, 5)!;
    const resumedReads = objects.treeReads;
    objects.treeReads = 0;
    const counted = walkTree(objects, head, '', true, lastDir + 1 + 5).slice(lastDir + 1);
    const countedReads = objects.treeReads;
    assert.deepEqual(resumed, counted);
    // root, a, a/d9, a/d9/s3 to find the place (plus the root tree entryAt reads), then the next folder
    assert.ok(resumedReads <= 7, `a resumed page read ${resumedReads} trees`);
    assert.ok(countedReads >= TREES - 20, `counting from the start read ${countedReads} trees`);
  });

  it('a path that is not in the listing (another revision, a made-up cursor) gives null', () => {
    assert.equal(walkTreeAfter(objects, head, '', true, 'a/d99/f0.txt', 5), null);
    assert.equal(walkTreeAfter(objects, head, '', true, 'README.md/x', 5), null);
    assert.equal(walkTreeAfter(objects, head, 'a', true, 'top/x.txt', 5), null);
    assert.equal(walkTreeAfter(objects, head, '', false, 'a/d1', 5), null);
    assert.deepEqual(walkTreeAfter(objects, head, '', true, 'top/x.txt', 5)?.map((e) => e.path), ['README.md'], 'files of the root come after its folders');
    assert.deepEqual(walkTreeAfter(objects, head, '', true, 'README.md', 5), [], 'nothing after the last entry');
  });
});
