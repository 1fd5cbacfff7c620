import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { git, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { hashObject } from './hash.js';
import { parseTree, serializeTree, type TreeEntry } from './tree.js';

const B = 'd95f3ad14dee633a758d2e331151e950dd13e4ed'; // blob "content\n"
const T = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const C = 'c'.repeat(40);
const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);

describe('tree codec', () => {
  let repo: string;
  before(() => {
    repo = path.join(tempDir(), 'r');
    git(tempDir(), ['init', '-q', '--bare', repo]);
  });
  after(removeTempDirs);

  /** git mktree's tree (it sorts the entries itself) and its id. */
  const mktree = (entries: TreeEntry[]) => {
    const kind = (mode: string) => (mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob');
    const input = entries.map((e) => `${e.mode} ${kind(e.mode)} ${e.oid}\t${e.name}\n`).join('');
    const oid = git(repo, ['mktree', '--missing'], input).toString().trim();
    return { oid, data: git(repo, ['cat-file', 'tree', oid]) };
  };

  it("sorts like git (directories as if they ended in '/') and round-trips", () => {
    const entries: TreeEntry[] = [
      { mode: '100644', name: 'a', oid: B },
      { mode: '40000', name: 'b', oid: T },
      { mode: '100644', name: 'b.txt', oid: B },
      { mode: '100644', name: 'b-c', oid: B },
      { mode: '40000', name: 'b0', oid: T },
      { mode: '100755', name: 'A', oid: B },
      { mode: '120000', name: 'link', oid: B },
      { mode: '160000', name: 'sub', oid: C },
      { mode: '100644', name: 'é ü', oid: B },
      { mode: '100644', name: '~tilde', oid: B },
      { mode: '100644', name: 'back\\slash', oid: B },
    ];
    const expected = mktree(entries);
    for (const order of [entries, [...entries].reverse()]) {
      const ours = serializeTree(order);
      assert.ok(ours.equals(expected.data), 'same bytes as git mktree');
      assert.equal(hashObject('tree', ours), expected.oid);
    }
    const parsed = parseTree(expected.data);
    assert.deepEqual(parsed.map((e) => e.name), ['A', 'a', 'b-c', 'b.txt', 'b', 'b0', 'back\\slash', 'link', 'sub', '~tilde', 'é ü']);
    assert.deepEqual(new Set(parsed.map((e) => JSON.stringify(e))), new Set(entries.map((e) => JSON.stringify(e))));
    assert.deepEqual(parseTree(Buffer.alloc(0)), []);
  });

  it('refuses to serialize entries git fsck would refuse', () => {
    const ok: TreeEntry = { mode: '100644', name: 'a', oid: B };
    const cases: [TreeEntry[], RegExp][] = [
      [[{ ...ok, mode: '110644' }], /bad mode '110644'/],
      [[{ ...ok, oid: 'xyz' }], /bad object id/],
      [[{ ...ok, name: '..' }], /tree entry name '\.\.' is not allowed/],
      [[{ ...ok, name: '.GIT' }], /tree entry name '\.GIT' is not allowed/],
      [[{ ...ok, name: 'a/b' }], /'a\/b' is not allowed/],
      [[{ ...ok, name: '' }], /'' is not allowed/],
      [[ok, { mode: '100644', name: 'a.b', oid: B }, { mode: '40000', name: 'a', oid: T }], /two entries named 'a'/],
    ];
    for (const [entries, re] of cases) assert.throws(() => serializeTree(entries), isFormatError(re));
  });

  it('refuses trees it cannot frame', () => {
    const oid = Buffer.from(B, 'hex');
    const cases: [Buffer, RegExp][] = [
      [Buffer.concat([Buffer.from('100644 a\0'), oid.subarray(0, 19)]), /tree entry at byte 0 truncated/],
      [Buffer.from('100644'), /no space after the mode/],
      [Buffer.concat([Buffer.from('10064x a\0'), oid]), /malformed mode '10064x'/],
      [Buffer.concat([Buffer.from(' a\0'), oid]), /empty mode/],
      [Buffer.concat([Buffer.from('100644 \0'), oid]), /empty name/],
      [Buffer.concat([Buffer.from('100644 a\0'), oid, Buffer.from('100644 b')]), /tree entry at byte 29 truncated/],
    ];
    for (const [data, re] of cases) assert.throws(() => parseTree(data), isFormatError(re));
  });
});
