import type { RepoObjects } from '../git/store/repo-objects.js';

/** Commits one ancestry walk reads at most (a history longer than this is cut there). */
export const MAX_WALK = 100_000;

/** Every commit reachable from `from` (itself included), up to `max`. */
export function ancestors(objects: RepoObjects, from: string, max = MAX_WALK): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length && seen.size < max) {
    const oid = stack.pop()!;
    if (seen.has(oid) || !objects.has(oid)) continue;
    seen.add(oid);
    for (const p of objects.commit(oid).parents) if (!seen.has(p)) stack.push(p);
  }
  return seen;
}

/**
 * The common ancestor of a and b nearest to b (breadth first from b), or null when the histories
 * share nothing.
 */
export function mergeBase(objects: RepoObjects, a: string, b: string): string | null {
  const fromA = ancestors(objects, a);
  const seen = new Set<string>([b]);
  const queue = [b];
  for (let i = 0; i < queue.length && i < MAX_WALK; i++) {
    const oid = queue[i]!;
    if (fromA.has(oid)) return oid;
    for (const p of objects.commit(oid).parents) {
      if (!seen.has(p) && objects.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return null;
}

/** Commits reachable from `head` and not from `base` (null: all of them), newest first, at most `max`. */
export function commitsBetween(objects: RepoObjects, base: string | null, head: string, max: number): string[] {
  const excluded = base && objects.has(base) ? ancestors(objects, base) : new Set<string>();
  const seen = new Set<string>([head]);
  const queue = excluded.has(head) ? [] : [head];
  for (let i = 0; i < queue.length && queue.length < max; i++) {
    for (const p of objects.commit(queue[i]!).parents) {
      if (!seen.has(p) && !excluded.has(p) && objects.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  const time = (oid: string) => objects.commit(oid).committer.timestamp;
  return queue.slice(0, max).sort((x, y) => time(y) - time(x));
}

export interface FileDelta {
  path: string;
  /** null: absent on that side. */
  old: { oid: string; mode: string } | null;
  new: { oid: string; mode: string } | null;
}

/** Files (not directories) that differ between two trees, with their ids and modes, at most `max`. */
export function fileDeltas(objects: RepoObjects, a: string | null, b: string | null, max: number, prefix = '', out: FileDelta[] = []): FileDelta[] {
  if (a === b || out.length >= max) return out;
  const left = new Map((a ? objects.tree(a) : []).map((e) => [e.name, e]));
  const right = new Map((b ? objects.tree(b) : []).map((e) => [e.name, e]));
  for (const name of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    if (out.length >= max) break;
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const p = `${prefix}${name}`;
    const lt = l?.mode === '40000' ? l.oid : null;
    const rt = r?.mode === '40000' ? r.oid : null;
    if (lt || rt) fileDeltas(objects, lt, rt, max, `${p}/`, out);
    const lf = l && l.mode !== '40000' ? { oid: l.oid, mode: l.mode } : null;
    const rf = r && r.mode !== '40000' ? { oid: r.oid, mode: r.mode } : null;
    if ((lf || rf) && out.length < max) out.push({ path: p, old: lf, new: rf });
  }
  return out;
}
