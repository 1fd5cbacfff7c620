import { notFound } from '../core/errors.js';
import type { RefRecord } from '../db/types.js';
import type { RepoObjects } from '../git/store/repo-objects.js';

export const revisionNotFound = (rev: string) => notFound('RevisionNotFound', `Invalid rev id: ${rev}`);

/** Every stored oid starting with a hex prefix (binary search in each pack index). */
export function oidsWithPrefix(objects: RepoObjects, prefix: string, limit = 2): string[] {
  const found = new Set<string>();
  const lo = Buffer.from(prefix.padEnd(40, '0'), 'hex');
  for (const pack of objects.packs) {
    const idx = pack.index;
    let a = 0;
    let b = idx.count;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (Buffer.compare(idx.oidAt(mid), lo) < 0) a = mid + 1;
      else b = mid;
    }
    for (let i = a; i < idx.count && found.size < limit; i++) {
      const hex = idx.oidAt(i).toString('hex');
      if (!hex.startsWith(prefix)) break;
      found.add(hex);
    }
  }
  return [...found];
}

/**
 * Commit ids of a mirror whose history is synthetic (src/mirror/rest-sync.ts): the upstream's id of
 * each local commit and back. Such a repository takes either id and shows the upstream's.
 */
export interface CommitIdMap {
  toLocal: ReadonlyMap<string, string>;
  toUpstream: ReadonlyMap<string, string>;
}

/** The id the API shows for a commit: the upstream's for a mapped one. */
export const shownCommit = (ids: CommitIdMap | null | undefined, oid: string) => ids?.toUpstream.get(oid) ?? oid;

/**
 * A revision as the Hub API accepts it: HEAD (the default branch), a branch or tag name, a full ref
 * name (refs/heads/x, refs/pr/1), or a full or abbreviated commit id. Returns the commit id it names.
 */
export function resolveRevision(refs: RefRecord[], objects: RepoObjects, rev: string, defaultBranch: string, ids?: CommitIdMap | null): { oid: string; ref: string | null } {
  const byName = new Map(refs.map((r) => [r.name, r]));
  const peeled = (r: RefRecord) => r.peeled ?? r.oid;
  if (rev === 'HEAD') rev = defaultBranch;
  for (const name of rev.startsWith('refs/') ? [rev] : [`refs/heads/${rev}`, `refs/tags/${rev}`]) {
    const r = byName.get(name);
    if (r) return { oid: peeled(r), ref: name };
  }
  const mapped = ids?.toLocal.get(rev);
  if (mapped && objects.type(mapped) === 'commit') return { oid: mapped, ref: null };
  if (/^[0-9a-f]{40}$/.test(rev)) {
    if (objects.type(rev) === 'commit') return { oid: rev, ref: null };
    throw revisionNotFound(rev);
  }
  if (/^[0-9a-f]{4,39}$/.test(rev)) {
    const commits = oidsWithPrefix(objects, rev, 16).filter((o) => objects.type(o) === 'commit');
    if (commits.length === 1) return { oid: commits[0]!, ref: null };
  }
  throw revisionNotFound(rev);
}
