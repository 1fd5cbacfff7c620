import type { PushCheck, PushContext } from '../git/receive-pack.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { ZERO_OID } from '../git/objects/types.js';
import { MAX_POINTER_SIZE, parsePointer } from './pointer.js';
import type { LfsRecords } from './records.js';

/** Paths whose content differs between a commit and its parents (all parents; a root commit: every path). */
function changedPaths(objects: RepoObjects, commitOid: string, into: Set<string>): void {
  const c = objects.commit(commitOid);
  const parents = c.parents.filter((p) => objects.has(p)).map((p) => objects.commit(p).tree);
  const walk = (tree: string | null, bases: (string | null)[], prefix: string) => {
    const entries = tree ? objects.tree(tree) : [];
    const baseMaps = bases.map((b) => new Map((b ? objects.tree(b) : []).map((e) => [e.name, e])));
    const names = new Set<string>(entries.map((e) => e.name));
    for (const m of baseMaps) for (const n of m.keys()) names.add(n);
    const mine = new Map(entries.map((e) => [e.name, e]));
    for (const name of names) {
      const e = mine.get(name);
      const others = baseMaps.map((m) => m.get(name));
      if (others.length > 0 && others.every((o) => o && e && o.oid === e.oid && o.mode === e.mode)) continue;
      const path = prefix + name;
      const isTree = e?.mode === '40000';
      const subBases = others.map((o) => (o && o.mode === '40000' ? o.oid : null));
      if (isTree || subBases.some(Boolean)) walk(isTree ? e!.oid : null, subBases.length ? subBases : [null], `${path}/`);
      if (!isTree || others.some((o) => o && o.mode !== '40000')) into.add(path);
    }
  };
  walk(c.tree, parents.length ? parents : [null], '');
}

/**
 * Two push-time rules of LFS: a ref may not move to commits whose pointers name objects this repo
 * does not hold, and files locked by someone else may not change.
 */
export function createLfsPushCheck(records: LfsRecords): PushCheck {
  return () => {
    const pointers = new Map<string, string>(); // lfs oid -> blob oid, from the received blobs
    const commits: string[] = [];
    return {
      observe(oid, type, data) {
        if (type === 'blob' && data && data.length < MAX_POINTER_SIZE) {
          const p = parsePointer(data);
          if (p) pointers.set(p.oid, oid);
        } else if (type === 'commit') commits.push(oid);
      },
      async check(ctx: PushContext) {
        const refused = new Map<string, string>();
        const updates = ctx.commands.filter((c) => c.newOid !== ZERO_OID);
        if (updates.length === 0 || ctx.received.size === 0) return refused;
        if (pointers.size > 0) {
          const linked = await records.linked(ctx.repoId, [...pointers.keys()]);
          const missing = [...pointers.keys()].filter((o) => !linked.has(o));
          if (missing.length > 0) {
            const reason = `missing LFS object ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}: run 'git lfs push --all' first`;
            for (const c of updates) refused.set(c.ref, reason);
            return refused;
          }
        }
        // Locks held by others on paths the received commits change.
        const { locks } = await records.locks.list(ctx.repoId, { limit: 10_000 });
        const theirs = locks.filter((l) => l.ownerId !== ctx.pusherId);
        if (theirs.length === 0) return refused;
        const changed = new Set<string>();
        for (const oid of commits) changedPaths(ctx.objects, oid, changed);
        const hit = theirs.find((l) => changed.has(l.path));
        if (hit) for (const c of updates) refused.set(c.ref, `path '${hit.path}' is locked by ${hit.ownerName}`);
        return refused;
      },
    };
  };
}
