import { diffTrees } from '../hf/tree.js';
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
export function fileDeltas(objects: RepoObjects, a: string | null, b: string | null, max: number): FileDelta[] {
  return diffTrees(objects, a, b, '', [], max).map((f) => ({
    path: f.path,
    old: f.oldOid === null ? null : { oid: f.oldOid, mode: f.oldMode! },
    new: f.newOid === null ? null : { oid: f.newOid, mode: f.newMode! },
  }));
}
