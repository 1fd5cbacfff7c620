import { GitFormatError } from '../../core/errors.js';
import { treeNameProblem } from './tree-name.js';
import { OID_RE } from './types.js';

export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
}

/** The modes git writes: file, executable, symlink, directory, submodule. */
export const TREE_MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000', '40000', '160000']);

/**
 * A regular file's mode with other permission bits (100664, written by gits of 2005, or 100600):
 * git reads it as a regular file and fsck only warns (badFilemode), so histories holding it are
 * accepted and kept as they are, never written anew.
 */
export const isLegacyFileMode = (mode: string): boolean => /^100[0-7]{3}$/.test(mode);

/**
 * Frames the entry at byte `pos` of a tree: `<octal mode> <name>\0<20-byte id>`. Returns where the
 * space and the NUL are; throws on structure errors (truncation, bad mode field, empty name).
 */
export function frameTreeEntry(data: Buffer, pos: number): { sp: number; nul: number } {
  const sp = data.indexOf(0x20, pos);
  if (sp < 0) throw new GitFormatError(`tree entry at byte ${pos} truncated (no space after the mode)`);
  if (sp === pos) throw new GitFormatError(`tree entry at byte ${pos} has an empty mode`);
  for (let i = pos; i < sp; i++) {
    const c = data[i]!;
    if (c < 0x30 || c > 0x37) throw new GitFormatError(`tree entry at byte ${pos} has a malformed mode '${data.toString('latin1', pos, Math.min(sp, pos + 20))}'`);
  }
  const nul = data.indexOf(0, sp + 1);
  if (nul < 0 || nul + 21 > data.length) throw new GitFormatError(`tree entry at byte ${pos} truncated`);
  if (nul === sp + 1) throw new GitFormatError(`tree entry at byte ${pos} has an empty name`);
  return { sp, nul };
}

/** Parses a tree. Structure errors throw; name, mode and order policy is fsckObject's job. */
export function parseTree(data: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (let pos = 0; pos < data.length; ) {
    const { sp, nul } = frameTreeEntry(data, pos);
    entries.push({ mode: data.toString('latin1', pos, sp), name: data.toString('utf8', sp + 1, nul), oid: data.toString('hex', nul + 1, nul + 21) });
    pos = nul + 21;
  }
  return entries;
}

/** True for modes git reads as a directory (S_IFDIR), zero-padded ones included. */
export const isTreeMode = (mode: string): boolean => (parseInt(mode, 8) & 0o170000) === 0o040000;

/**
 * git's tree order: names compared bytewise, where a directory's name counts as if it ended in
 * '/'. Two entries with the same name compare equal whatever their modes (a duplicate).
 */
export function compareTreeNames(a: Buffer, aIsDir: boolean, b: Buffer, bIsDir: boolean): number {
  const len = Math.min(a.length, b.length);
  const c = a.compare(b, 0, len, 0, len);
  if (c !== 0) return c;
  if (a.length === b.length) return 0;
  const ca = a.length > len ? a[len]! : aIsDir ? 0x2f : 0;
  const cb = b.length > len ? b[len]! : bIsDir ? 0x2f : 0;
  return ca - cb;
}

export function compareTreeEntries(a: { name: string; mode: string }, b: { name: string; mode: string }): number {
  return compareTreeNames(Buffer.from(a.name), isTreeMode(a.mode), Buffer.from(b.name), isTreeMode(b.mode));
}

/** Serializes entries in git's order; refuses entries git fsck --strict would refuse. */
export function serializeTree(entries: readonly TreeEntry[]): Buffer {
  const keyed = entries.map((e) => {
    const name = Buffer.from(e.name);
    if (!TREE_MODES.has(e.mode) && !isLegacyFileMode(e.mode)) throw new GitFormatError(`tree entry '${e.name}' has a bad mode '${e.mode}'`);
    if (!OID_RE.test(e.oid)) throw new GitFormatError(`tree entry '${e.name}' has a bad object id '${e.oid}'`);
    const problem = treeNameProblem(name, e.mode);
    if (problem) throw new GitFormatError(`tree entry name '${e.name}' is not allowed (${problem})`);
    return { e, name, dir: e.mode === '40000' };
  });
  keyed.sort((a, b) => compareTreeNames(a.name, a.dir, b.name, b.dir));
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  for (const { e, name } of keyed) {
    // A file and a directory of the same name need not be neighbours ('a', 'a.b', 'a/').
    if (seen.has(e.name)) throw new GitFormatError(`tree has two entries named '${e.name}'`);
    seen.add(e.name);
    parts.push(Buffer.from(`${e.mode} `), name, Buffer.from([0]), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}
