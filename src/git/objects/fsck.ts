import { GitFormatError } from '../../core/errors.js';
import { parseCommit } from './commit.js';
import { parseTag } from './tag.js';
import { compareTreeEntries, TREE_MODES } from './tree.js';
import type { ObjectType } from './types.js';

/** Names that would escape or alias the .git directory on some filesystem (git's verify_path rules). */
function unsafeName(raw: string): string | null {
  if (raw === '') return 'empty name';
  if (raw === '.' || raw === '..') return `'${raw}'`;
  if (raw.includes('/')) return 'contains /';
  if (raw.includes('\\')) return 'contains a backslash';
  // NTFS ignores trailing dots and spaces; HFS+ ignores some Unicode code points.
  const folded = raw
    .replace(/[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '')
    .toLowerCase()
    .replace(/[. ]+$/, '');
  if (folded === '.git') return `'${raw}' (a .git directory)`;
  if (/^git~\d+$/.test(folded)) return `'${raw}' (an NTFS short name of .git)`;
  if (folded.startsWith('.git') && /^\.git(:|::\$index_allocation)/.test(folded)) return `'${raw}' (an NTFS stream of .git)`;
  return null;
}

function fsckTree(data: Buffer): void {
  let pos = 0;
  let prev: { name: string; mode: string } | null = null;
  const seen = new Set<string>();
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) throw new GitFormatError('tree entry truncated');
    const nul = data.indexOf(0, sp + 1);
    if (nul < 0 || nul + 21 > data.length) throw new GitFormatError('tree entry truncated');
    const mode = data.toString('latin1', pos, sp);
    const name = data.toString('utf8', sp + 1, nul);
    if (!TREE_MODES.has(mode)) throw new GitFormatError(`tree entry '${name}' has a bad mode ${mode}`);
    const bad = unsafeName(name);
    if (bad) throw new GitFormatError(`tree entry name ${bad} is not allowed`);
    if (seen.has(name)) throw new GitFormatError(`tree has duplicate entries named '${name}'`);
    seen.add(name);
    const entry = { name, mode };
    if (prev && compareTreeEntries(prev, entry) >= 0) throw new GitFormatError(`tree entries are not sorted ('${prev.name}' before '${name}')`);
    prev = entry;
    pos = nul + 21;
  }
}

/** git fsck --strict style checks for objects entering the hub. Blobs always pass. */
export function fsckObject(type: ObjectType, data: Buffer): void {
  if (type === 'tree') fsckTree(data);
  else if (type === 'commit') parseCommit(data);
  else if (type === 'tag') parseTag(data);
}
