import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { notFound } from '../core/errors.js';
import type { TreeEntry } from '../git/objects/tree.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { blobFacts } from './blob-facts.js';

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
    const e = findEntry(objects.tree(cur.oid), part);
    if (!e) return null;
    cur = { mode: e.mode, oid: e.oid };
  }
  return cur;
}

/**
 * A tree entry as the Hub lists it: directories by id, files with their size, and LFS pointers
 * with the object they point to (see blobFacts: most blobs are told apart by a few bytes, and
 * remembered).
 */
export function describeEntry(objects: RepoObjects, path: string, e: PathEntry): HfEntry {
  if (e.mode === '40000') return { type: 'directory', oid: e.oid, size: 0, path };
  if (e.mode === '160000') return { type: 'file', oid: e.oid, size: 0, path };
  const { size, pointer } = blobFacts(objects, e.oid);
  if (!pointer) return { type: 'file', oid: e.oid, size, path };
  return { type: 'file', oid: e.oid, size: pointer.size, path, lfs: { oid: pointer.oid, size: pointer.size, pointerSize: size } };
}

/** Entries described in order, letting other requests run every few hundred (a blob not seen lately is read for an LFS pointer). */
export async function describeEntries(objects: RepoObjects, entries: readonly (PathEntry & { path: string })[]): Promise<HfEntry[]> {
  const out: HfEntry[] = [];
  for (const e of entries) {
    if (out.length % DESCRIBE_SLICE === DESCRIBE_SLICE - 1) await yieldToEventLoop();
    out.push(describeEntry(objects, e.path, e));
  }
  return out;
}
const DESCRIBE_SLICE = 200;

/**
 * Paths, modes and ids under `path` (direct children, or every file and directory below with
 * recursive), from trees alone: no blob is read, so callers describe only the entries they send.
 * With `stopAfter`, the walk ends once it has that many (a page needs no more).
 */
export function walkTree(objects: RepoObjects, commitOid: string, path: string, recursive: boolean, stopAfter = Infinity): (PathEntry & { path: string })[] {
  const root = entryAt(objects, commitOid, path);
  if (!root) throw notFound('EntryNotFound', `${path} does not exist at this revision`);
  if (root.mode !== '40000') return [{ path, mode: root.mode, oid: root.oid }];
  return walkFrom(objects, root.oid, path, recursive, stopAfter, null)!;
}

/**
 * The entries walkTree lists after the entry `after` (a path it listed), at most `stopAfter` of them:
 * the walk goes down the trees along `after` and carries on from there, so a page costs those trees
 * and its own entries, never a walk from the start. Null when `after` is not an entry of this listing
 * (another revision, a hand-made cursor): the caller falls back to counting from the start.
 */
export function walkTreeAfter(objects: RepoObjects, commitOid: string, path: string, recursive: boolean, after: string, stopAfter: number): (PathEntry & { path: string })[] | null {
  const root = entryAt(objects, commitOid, path);
  if (!root) throw notFound('EntryNotFound', `${path} does not exist at this revision`);
  const rel = !path ? after : after.startsWith(`${path}/`) ? after.slice(path.length + 1) : '';
  if (root.mode !== '40000' || !rel) return null;
  const resume = rel.split('/');
  if (!recursive && resume.length > 1) return null;
  return walkFrom(objects, root.oid, path, recursive, stopAfter, resume);
}

/** Entries below tree `treeOid` in the Hub's order, starting after the path `resume` (its parts) when given; null if `resume` is not there. */
function walkFrom(objects: RepoObjects, treeOid: string, path: string, recursive: boolean, stopAfter: number, resume: string[] | null): (PathEntry & { path: string })[] | null {
  const out: (PathEntry & { path: string })[] = [];
  const walk = (oid: string, prefix: string, from: string[] | null): boolean => {
    const entries = hubOrder(objects.tree(oid));
    let i = 0;
    if (from) {
      i = entries.findIndex((e) => e.name === from[0]);
      const e = entries[i];
      if (!e) return false;
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      if (from.length > 1) {
        if (e.mode !== '40000' || !walk(e.oid, p, from.slice(1))) return false;
      } else if (recursive && e.mode === '40000') walk(e.oid, p, null); // listed last: its children come next
      i++;
    }
    for (; i < entries.length && out.length < stopAfter; i++) {
      const e = entries[i]!;
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      out.push({ path: p, mode: e.mode, oid: e.oid });
      if (recursive && e.mode === '40000') walk(e.oid, p, null);
    }
    return true;
  };
  return walk(treeOid, path, resume) ? out : null;
}

/**
 * A tree's entries as the Hub lists them: directories first, then files, each group in byte order
 * of the names (git keeps them in one order where a directory sorts as `name/`).
 */
function hubOrder(entries: readonly TreeEntry[]): TreeEntry[] {
  // Files keep git's order, which among files alone is byte order; directories (few) are sorted by
  // their plain names (git compares them as `name/`).
  const dirs = entries.filter((e) => e.mode === '40000');
  if (dirs.length === 0) return entries as TreeEntry[];
  dirs.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return [...dirs, ...entries.filter((e) => e.mode !== '40000')];
}

/** Entries under `path` (direct children, or every file and directory below with recursive). */
export function listTree(objects: RepoObjects, commitOid: string, path: string, recursive: boolean): HfEntry[] {
  return walkTree(objects, commitOid, path, recursive).map((e) => describeEntry(objects, e.path, e));
}

/** Every file path in a commit (for siblings). */
export function listFiles(objects: RepoObjects, commitOid: string): string[] {
  return listTree(objects, commitOid, '', true)
    .filter((e) => e.type === 'file')
    .map((e) => e.path);
}

const isoDate = (seconds: number) => new Date(seconds * 1000).toISOString();

export interface LastCommit {
  id: string;
  title: string;
  date: string;
}

/** A requested path's place in the walk: its remaining children, and the path itself if it ends here. */
interface PathNode {
  path: string | null;
  children: Map<string, PathNode>;
}

/** Entry `name` of a tree: binary search in git's order (directories sort as `name/`), else a scan. */
export function findEntry(entries: TreeEntry[], name: string): TreeEntry | undefined {
  if (entries.length < 32) return entries.find((e) => e.name === name);
  const search = (dir: boolean) => {
    const key = dir ? `${name}/` : name;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = entries[mid]!;
      if ((e.mode === '40000' ? `${e.name}/` : e.name) < key) lo = mid + 1;
      else hi = mid;
    }
    const e = entries[lo];
    return e && e.name === name ? e : undefined;
  };
  // Code-unit order equals byte order for nearly every name; a miss (or an unsorted tree) falls back to a scan.
  return search(false) ?? search(true) ?? entries.find((e) => e.name === name);
}

/** Collect the requested nodes under `node` whose entries differ between trees a and b (unchanged subtrees are skipped). */
function changedNodes(objects: RepoObjects, a: string | null, b: string | null, node: PathNode, out: PathNode[]): void {
  if (a === b) return;
  const ea = a ? objects.tree(a) : [];
  const eb = b ? objects.tree(b) : [];
  for (const [name, child] of node.children) {
    if (child.path === null && child.children.size === 0) {
      node.children.delete(name); // everything below was found
      continue;
    }
    const x = findEntry(ea, name);
    const y = findEntry(eb, name);
    if (x?.oid === y?.oid && x?.mode === y?.mode) continue;
    if (child.path !== null) out.push(child);
    if (child.children.size) changedNodes(objects, x?.mode === '40000' ? x.oid : null, y?.mode === '40000' ? y.oid : null, child, out);
  }
}

/** How far one last-commit walk goes back (first parents), and how often it lets other requests run. */
export const LAST_COMMIT_MAX_COMMITS = 10_000;
const YIELD_EVERY_COMMITS = 32;

/**
 * The newest commit that changed each of `paths` (which exist at `commitOid`; '' is the root), in ONE
 * first-parent walk for all of them together: each step compares only the trees along the paths still
 * unresolved, and the walk stops once every path is found (or after `maxCommits`, where the rest get the
 * oldest commit walked). It yields to the event loop every few commits so other requests keep being served.
 */
export async function lastCommitsOf(objects: RepoObjects, commitOid: string, paths: Iterable<string>, maxCommits = LAST_COMMIT_MAX_COMMITS): Promise<Map<string, LastCommit>> {
  const found = new Map<string, LastCommit>();
  const root: PathNode = { path: null, children: new Map() };
  let pending = 0;
  for (const p of new Set(paths)) {
    let node = root;
    for (const part of p ? p.split('/') : []) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { path: null, children: new Map() }));
      node = next;
    }
    if (node.path === null) pending++;
    node.path = p;
  }
  let cur = commitOid;
  for (let steps = 1; pending > 0; steps++) {
    const c = objects.commit(cur);
    const info = { id: cur, title: c.message.split('\n')[0] ?? '', date: isoDate(c.committer.timestamp) };
    const parent = c.parents[0];
    const changed: PathNode[] = [];
    if (!parent || !objects.has(parent) || steps >= maxCommits) {
      // The root commit (or the walk's bound): whatever is still unresolved was last changed here.
      const rest = (n: PathNode) => {
        if (n.path !== null) changed.push(n);
        for (const child of n.children.values()) rest(child);
      };
      rest(root);
    } else {
      const parentTree = objects.commit(parent).tree;
      if (parentTree !== c.tree && root.path !== null) changed.push(root);
      changedNodes(objects, c.tree, parentTree, root, changed);
    }
    for (const n of changed) {
      found.set(n.path!, info);
      n.path = null;
      pending--;
    }
    cur = parent!;
    if (steps % YIELD_EVERY_COMMITS === 0) await yieldToEventLoop();
  }
  return found;
}

export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted';
  oldOid: string | null;
  newOid: string | null;
  /** File modes (100644, 100755, 120000, 160000); null where the file is absent. */
  oldMode: string | null;
  newMode: string | null;
}

/** Files that differ between two trees (recursing only into subtrees that differ), at most `max` of them. */
export function diffTrees(objects: RepoObjects, a: string | null, b: string | null, prefix = '', out: FileChange[] = [], max = Infinity): FileChange[] {
  if (a === b || out.length >= max) return out;
  const left = new Map((a ? objects.tree(a) : []).map((e) => [e.name, e]));
  const right = new Map((b ? objects.tree(b) : []).map((e) => [e.name, e]));
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const name of names) {
    if (out.length >= max) break;
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const p = `${prefix}${name}`;
    const lt = l?.mode === '40000' ? l.oid : null;
    const rt = r?.mode === '40000' ? r.oid : null;
    if (lt || rt) diffTrees(objects, lt, rt, `${p}/`, out, max);
    const lf = l && l.mode !== '40000' ? l : null;
    const rf = r && r.mode !== '40000' ? r : null;
    if ((lf || rf) && out.length < max) out.push({ path: p, status: !lf ? 'added' : !rf ? 'deleted' : 'modified', oldOid: lf?.oid ?? null, newOid: rf?.oid ?? null, oldMode: lf?.mode ?? null, newMode: rf?.mode ?? null });
  }
  return out;
}
