import { GitFormatError } from '../../core/errors.js';

export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
}

export const TREE_MODES = new Set(['100644', '100755', '120000', '40000', '160000']);

/** Parse a tree object. Structure errors throw; name and mode policy is fsck's job. */
export function parseTree(data: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) throw new GitFormatError('tree: truncated entry (no mode)');
    const nul = data.indexOf(0, sp + 1);
    if (nul < 0 || nul + 21 > data.length) throw new GitFormatError('tree: truncated entry');
    entries.push({ mode: data.toString('latin1', pos, sp), name: data.toString('utf8', sp + 1, nul), oid: data.toString('hex', nul + 1, nul + 21) });
    pos = nul + 21;
  }
  return entries;
}

/** git's tree order: byte order of names, where a directory name sorts as if it ended in '/'. */
export function compareTreeEntries(a: { name: string; mode: string }, b: { name: string; mode: string }): number {
  const ka = Buffer.from(a.mode === '40000' ? `${a.name}/` : a.name);
  const kb = Buffer.from(b.mode === '40000' ? `${b.name}/` : b.name);
  return Buffer.compare(ka, kb);
}

export function serializeTree(entries: TreeEntry[]): Buffer {
  const sorted = [...entries].sort(compareTreeEntries);
  const parts: Buffer[] = [];
  for (const e of sorted) parts.push(Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex'));
  return Buffer.concat(parts);
}
