import { GitFormatError } from '../../core/errors.js';
import { parseCommit } from './commit.js';
import { parseTag } from './tag.js';
import { compareTreeNames, frameTreeEntry, TREE_MODES } from './tree.js';
import { treeNameProblem } from './tree-name.js';
import type { ObjectType } from './types.js';

const show = (name: Buffer) => name.toString('utf8').slice(0, 200);

/**
 * Tree checks of `git fsck --strict` (where its warnings are errors): structure, unsafe names, null
 * ids, zero-padded modes, order and duplicates. Stricter than git in one point: modes outside
 * TREE_MODES (such as the legacy 100664) are refused, where git only reports them.
 */
function fsckTree(data: Buffer): void {
  const names: Buffer[] = [];
  let prevDir = false;
  for (let pos = 0; pos < data.length; ) {
    const { sp, nul } = frameTreeEntry(data, pos);
    const mode = data.toString('latin1', pos, sp);
    const name = data.subarray(sp + 1, nul);
    const problem = treeNameProblem(name, mode);
    if (problem) throw new GitFormatError(`tree entry name '${show(name)}' is not allowed (${problem})`);
    if (mode[0] === '0') throw new GitFormatError(`tree entry '${show(name)}' has a zero-padded mode ${mode}`);
    if (!TREE_MODES.has(mode)) throw new GitFormatError(`tree entry '${show(name)}' has a bad mode ${mode}`);
    if (isNullId(data, nul + 1)) throw new GitFormatError(`tree entry '${show(name)}' points to the null object id`);
    const dir = mode === '40000';
    const prev = names[names.length - 1];
    if (prev) {
      const c = compareTreeNames(prev, prevDir, name, dir);
      if (c === 0) throw new GitFormatError(`tree has two entries named '${show(name)}'`);
      if (c > 0) throw new GitFormatError(`tree entries are not sorted: '${show(prev)}' comes before '${show(name)}'`);
    }
    if (dir) {
      // A file of the same name sorts before this directory, but not always right before it
      // ('a', 'a.b', 'a/'): every entry in between starts with the name.
      for (let j = names.length - 1; j >= 0 && names[j]!.length >= name.length && names[j]!.compare(name, 0, name.length, 0, name.length) === 0; j--) {
        if (names[j]!.length === name.length) throw new GitFormatError(`tree has two entries named '${show(name)}'`);
      }
    }
    names.push(name);
    prevDir = dir;
    pos = nul + 21;
  }
}

function isNullId(data: Buffer, at: number): boolean {
  for (let i = at; i < at + 20; i++) if (data[i] !== 0) return false;
  return true;
}

/** `git fsck --strict` checks of one object's content; throws a GitFormatError. Blobs always pass. */
export function fsckObject(type: ObjectType, data: Buffer): void {
  if (type === 'tree') fsckTree(data);
  else if (type === 'commit') parseCommit(data);
  else if (type === 'tag') parseTag(data);
}
