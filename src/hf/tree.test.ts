import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PackIndex } from '../git/pack/idx.js';
import { PackFile } from '../git/pack/pack-file.js';
import { git, removeTempDirs, tempDir } from '../git/pack/test-fixtures.js';
import { LoadedPack } from '../git/store/pack-cache.js';
import { MissingObjectError, RepoObjects } from '../git/store/repo-objects.js';
import type { TreeEntry } from '../git/objects/tree.js';
import { parsePointer } from '../lfs/pointer.js';
import { forgetBlobFacts } from './blob-facts.js';
import { describeEntries, describeEntry, walkTree, walkTreeAfter } from './tree.js';

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

describe('describeEntry: LFS pointers told apart from other files by their first bytes', () => {
  /** The repository's real objects, counting the blobs read whole. */
  class ReadCountingObjects extends RepoObjects {
    reads = 0;
    override read(oid: string) {
      this.reads++;
      return super.read(oid);
    }
  }
  let objects: ReadCountingObjects;
  let head: string;
  let pack: PackFile;
  const pointer = (n: number, version = 'https://git-lfs.github.com/spec/v1') => `version ${version}\noid sha256:${String(n).repeat(64).slice(0, 64)}\nsize ${1000 + n}\n`;
  /** File name -> content. */
  const files: Record<string, string | Buffer> = {
    'a.txt': 'hello\n',
    'empty.txt': '',
    'notes.txt': 'version 2 of the notes: not a pointer\n',
    'p1.bin': pointer(1),
    'p2.bin': pointer(2),
    'hawser.bin': pointer(3, 'https://hawser.github.com/spec/v1'),
    'near.txt': `version ${'x'.repeat(1014)}\n`, // 1023 bytes: still a candidate
    'big.txt': `version ${'y'.repeat(2000)}\n`, // too large to be a pointer
    'bad-pointer.bin': pointer(4).replace('size', 'sise'),
    // Two small files alike enough to be stored as a delta of each other.
    'd1.txt': `${'shared line of text\n'.repeat(40)}one\n`,
    'd2.txt': `${'shared line of text\n'.repeat(40)}two\n`,
    'dp.bin': `${pointer(5)}`,
  };

  before(async () => {
    const repo = tempDir();
    git(repo, ['init', '--quiet', '-b', 'main']);
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(repo, name), content);
    fs.symlinkSync('a.txt', path.join(repo, 'link'));
    git(repo, ['add', '-A']);
    git(repo, ['commit', '--quiet', '-m', 'files']);
    git(repo, ['repack', '-adfq', '--window=50']);
    head = git(repo, ['rev-parse', 'HEAD']).toString().trim();
    const dir = path.join(repo, '.git/objects/pack');
    const idx = fs.readdirSync(dir).find((f) => f.endsWith('.idx'))!;
    const index = PackIndex.fromBuffer(fs.readFileSync(path.join(dir, idx)));
    pack = await PackFile.open(path.join(dir, idx.replace(/\.idx$/, '.pack')), index);
    objects = new ReadCountingObjects([new LoadedPack('t', 'p', pack, index, 0)]);
  });
  after(() => {
    pack?.close();
    removeTempDirs();
  });

  it('describes every entry as reading each small blob whole would, reading whole only those that start as a pointer does', async () => {
    const entries = walkTree(objects, head, '', true);
    forgetBlobFacts();
    objects.reads = 0;
    const got = await describeEntries(objects, entries);
    const reads = objects.reads;
    for (const d of got) {
      const e = entries.find((x) => x.path === d.path)!;
      const data = objects.read(e.oid).data;
      const p = data.length < 1024 ? parsePointer(data) : null;
      assert.deepEqual(d, { type: 'file', oid: e.oid, path: e.path, size: p ? p.size : data.length, ...(p ? { lfs: { oid: p.oid, size: p.size, pointerSize: data.length } } : {}) }, d.path);
    }
    assert.deepEqual(got.filter((d) => d.lfs).map((d) => d.path).sort(), ['dp.bin', 'hawser.bin', 'p1.bin', 'p2.bin']);
    // notes.txt, near.txt, bad-pointer.bin and the four pointers start with "version ": only they are read whole.
    assert.equal(reads, 7);
  });

  it('a listing asked again reads no blob; a repository without the blob cannot use what another learnt of it', async () => {
    const entries = walkTree(objects, head, '', true);
    const first = await describeEntries(objects, entries);
    objects.reads = 0;
    assert.deepEqual(await describeEntries(objects, entries), first);
    assert.equal(objects.reads, 0);
    const file = entries.find((e) => e.path === 'p1.bin')!;
    assert.throws(() => describeEntry(new RepoObjects([]), file.path, file), MissingObjectError);
  });
});
