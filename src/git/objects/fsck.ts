import { GitFormatError } from '../../core/errors.js';
import { parseCommit } from './commit.js';
import { parseTag } from './tag.js';
import { frameTreeEntry } from './tree.js';
import { isDotGitmodules, treeNameProblem } from './tree-name.js';
import type { ObjectType } from './types.js';

const show = (name: Buffer) => name.toString('utf8').slice(0, 200);

/** Modes fsck accepts, as numbers: 100644, 100755, 120000, 40000, 160000. */
const MODES = new Set([0o100644, 0o100755, 0o120000, 0o40000, 0o160000]);

/**
 * Bytewise comparison of data[a, aEnd) and data[b, bEnd) in git's tree order, where a directory's
 * name counts as if it ended in '/' (see compareTreeNames; inlined: trees have thousands of names).
 */
function compareNamesAt(data: Buffer, a: number, aEnd: number, aDir: boolean, b: number, bEnd: number, bDir: boolean): number {
  const len = Math.min(aEnd - a, bEnd - b);
  for (let i = 0; i < len; i++) {
    const d = data[a + i]! - data[b + i]!;
    if (d !== 0) return d;
  }
  if (aEnd - a === bEnd - b) return 0;
  const ca = aEnd - a > len ? data[a + len]! : aDir ? 0x2f : 0;
  const cb = bEnd - b > len ? data[b + len]! : bDir ? 0x2f : 0;
  return ca - cb;
}

/** True when no rule of treeNameProblem can apply: printable ASCII without '/' or '\', not starting like '.git'. */
function plainName(data: Buffer, start: number, end: number): boolean {
  const first = data[start]!;
  if (first === 0x2e || (first | 0x20) === 0x67) return false;
  for (let i = start; i < end; i++) {
    const c = data[i]!;
    if (c < 0x21 || c > 0x7e || c === 0x2f || c === 0x5c) return false;
  }
  return true;
}

/**
 * Tree checks of `git fsck --strict` (where its warnings are errors): structure, unsafe names, null
 * ids, zero-padded modes, order and duplicates. Like git, a regular file's mode with other
 * permission bits (the legacy 100664) passes (git only warns: badFilemode); other modes are refused.
 */
function fsckTree(data: Buffer, gitmodules?: string[]): void {
  // Names as [start, end) in data, for the order and duplicate checks.
  const starts: number[] = [];
  const ends: number[] = [];
  let prevDir = false;
  for (let pos = 0; pos < data.length; ) {
    const { sp, nul } = frameTreeEntry(data, pos);
    const start = sp + 1;
    let mode = 0;
    for (let i = pos; i < sp; i++) mode = mode * 8 + (data[i]! - 0x30);
    const modeText = () => data.toString('latin1', pos, sp);
    if (!plainName(data, start, nul)) {
      const problem = treeNameProblem(data.subarray(start, nul), modeText());
      if (problem) throw new GitFormatError(`tree entry name '${show(data.subarray(start, nul))}' is not allowed (${problem})`);
      // What it names must be a blob that parses as git's fsck requires (checked once the pack is in).
      if (gitmodules && isDotGitmodules(data.subarray(start, nul))) gitmodules.push(data.toString('hex', nul + 1, nul + 21));
    }
    const name = () => show(data.subarray(start, nul));
    if (data[pos] === 0x30) throw new GitFormatError(`tree entry '${name()}' has a zero-padded mode ${modeText()}`);
    if (sp - pos > 6 || !(MODES.has(mode) || (mode & ~0o777) === 0o100000)) throw new GitFormatError(`tree entry '${name()}' has a bad mode ${modeText()}`);
    if (isNullId(data, nul + 1)) throw new GitFormatError(`tree entry '${name()}' points to the null object id`);
    const dir = mode === 0o40000;
    const n = starts.length;
    if (n > 0) {
      const c = compareNamesAt(data, starts[n - 1]!, ends[n - 1]!, prevDir, start, nul, dir);
      if (c === 0) throw new GitFormatError(`tree has two entries named '${name()}'`);
      if (c > 0) throw new GitFormatError(`tree entries are not sorted: '${show(data.subarray(starts[n - 1]!, ends[n - 1]!))}' comes before '${name()}'`);
    }
    if (dir) {
      // A file of the same name sorts before this directory, but not always right before it
      // ('a', 'a.b', 'a/'): every entry in between starts with the name.
      const len = nul - start;
      for (let j = n - 1; j >= 0 && ends[j]! - starts[j]! >= len && data.compare(data, start, nul, starts[j]!, starts[j]! + len) === 0; j--) {
        if (ends[j]! - starts[j]! === len) throw new GitFormatError(`tree has two entries named '${name()}'`);
      }
    }
    starts.push(start);
    ends.push(nul);
    prevDir = dir;
    pos = nul + 21;
  }
}

function isNullId(data: Buffer, at: number): boolean {
  for (let i = at; i < at + 20; i++) if (data[i] !== 0) return false;
  return true;
}

/**
 * `git fsck --strict` checks of one object's content; throws a GitFormatError. Blobs always pass.
 * The ids of entries named '.gitmodules' (in any spelling a filesystem reads as that) are added to
 * `gitmodules`: like git, the caller checks those blobs (checkGitmodules) once it has them.
 */
export function fsckObject(type: ObjectType, data: Buffer, gitmodules?: string[]): void {
  if (type === 'tree') fsckTree(data, gitmodules);
  else if (type === 'commit') parseCommit(data);
  else if (type === 'tag') parseTag(data);
}
