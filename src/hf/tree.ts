import { notFound } from '../core/errors.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { MAX_POINTER_SIZE, parsePointer } from '../lfs/pointer.js';

export interface HfEntry {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: string };
}

export interface PathEntry {
  mode: string;
  oid: string;
}

/** The tree entry at `path` in a commit ('' is the root tree), or null. */
export function entryAt(objects: RepoObjects, commitOid: string, path: string): PathEntry | null {
  let cur: PathEntry = { mode: '40000', oid: objects.commit(commitOid).tree };
  if (!path) return cur;
  for (const part of path.split('/')) {
    if (cur.mode !== '40000') return null;
    const e = objects.tree(cur.oid).find((x) => x.name === part);
    if (!e) return null;
    cur = { mode: e.mode, oid: e.oid };
  }
  return cur;
}

export function describeEntry(objects: RepoObjects, path: string, e: PathEntry): HfEntry {
  if (e.mode === '40000') return { type: 'directory', oid: e.oid, size: 0, path };
  const size = e.mode === '160000' ? 0 : objects.size(e.oid);
  const entry: HfEntry = { type: 'file', oid: e.oid, size, path };
  if (size > 0 && size < MAX_POINTER_SIZE) {
    const p = parsePointer(objects.read(e.oid).data);
    if (p) {
      entry.size = p.size;
      entry.lfs = { oid: p.oid, size: p.size, pointerSize: size };
    }
  }
  return entry;
}

/** Entries under `path` (direct children, or every file and directory below with recursive). */
export function listTree(objects: RepoObjects, commitOid: string, path: string, recursive: boolean): HfEntry[] {
  const root = entryAt(objects, commitOid, path);
  if (!root) throw notFound('EntryNotFound', `${path} does not exist at this revision`);
  if (root.mode !== '40000') return [describeEntry(objects, path, root)];
  const out: HfEntry[] = [];
  const walk = (treeOid: string, prefix: string) => {
    for (const e of objects.tree(treeOid)) {
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      out.push(describeEntry(objects, p, e));
      if (recursive && e.mode === '40000') walk(e.oid, p);
    }
  };
  walk(root.oid, path);
  return out;
}

/** Every file path in a commit (for siblings). */
export function listFiles(objects: RepoObjects, commitOid: string): string[] {
  return listTree(objects, commitOid, '', true)
    .filter((e) => e.type === 'file')
    .map((e) => e.path);
}

const isoDate = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The newest commit (first-parent walk, bounded) that changed `path`. */
export function lastCommitOf(objects: RepoObjects, commitOid: string, path: string, limit = 1000): { id: string; title: string; date: string } {
  let cur = commitOid;
  let here = entryAt(objects, cur, path);
  for (let i = 0; i < limit; i++) {
    const c = objects.commit(cur);
    const parent = c.parents[0];
    const there = parent && objects.has(parent) ? entryAt(objects, parent, path) : null;
    if (!parent || !objects.has(parent) || there?.oid !== here?.oid) {
      return { id: cur, title: c.message.split('\n')[0] ?? '', date: isoDate(c.committer.timestamp) };
    }
    cur = parent;
    here = there;
  }
  const c = objects.commit(cur);
  return { id: cur, title: c.message.split('\n')[0] ?? '', date: isoDate(c.committer.timestamp) };
}

export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted';
  oldOid: string | null;
  newOid: string | null;
}

/** Files that differ between two trees (recursing only into subtrees that differ). */
export function diffTrees(objects: RepoObjects, a: string | null, b: string | null, prefix = '', out: FileChange[] = []): FileChange[] {
  if (a === b) return out;
  const left = new Map((a ? objects.tree(a) : []).map((e) => [e.name, e]));
  const right = new Map((b ? objects.tree(b) : []).map((e) => [e.name, e]));
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const name of names) {
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const p = `${prefix}${name}`;
    const lt = l?.mode === '40000' ? l.oid : null;
    const rt = r?.mode === '40000' ? r.oid : null;
    if (lt || rt) diffTrees(objects, lt, rt, `${p}/`, out);
    const lf = l && l.mode !== '40000' ? l : null;
    const rf = r && r.mode !== '40000' ? r : null;
    if (lf || rf) out.push({ path: p, status: !lf ? 'added' : !rf ? 'deleted' : 'modified', oldOid: lf?.oid ?? null, newOid: rf?.oid ?? null });
  }
  return out;
}
