import crypto from 'node:crypto';
import type { RefRecord } from '../../db/db.js';
import { enumerateObjects } from './enumerate.js';
import type { RepoObjects } from './repo-objects.js';

/**
 * Full clones answered by a stored pack as it is. A pack that holds exactly what a clone needs (every
 * object reachable from the clone's wants, nothing else) is sent byte for byte: its header, entries and
 * trailer are already the answer, and nothing has to be walked or counted. Which clone that is, is
 * proven once by an enumeration (at compaction, after the first push into an empty repository, or by
 * the first clone) and kept with the pack as a key: the hash of the clone's sorted wants. Packs are
 * immutable, so a key once proven stays true whatever the refs do later; a clone with other wants
 * (a ref moved, a branch added) just does not match it. This is what git gets from a reachability
 * bitmap plus pack reuse, for the request that needs it most.
 */

/** The key of a clone that wants these objects (order and repeats do not matter). */
export function cloneKey(wants: Iterable<string>): string {
  return crypto.createHash('sha256').update([...new Set(wants)].sort().join('\n')).digest('hex');
}

/** What `git clone` wants from these refs: the distinct ids of the branches and tags. */
export function cloneWants(refs: readonly RefRecord[]): string[] {
  return [...new Set(refs.filter((r) => r.name.startsWith('refs/heads/') || r.name.startsWith('refs/tags/')).map((r) => r.oid))];
}

/**
 * The key of the clone of `refs` when a repository held in one pack answers it exactly, else null.
 * `closedOverAllRefs`: the pack is known to hold exactly what all of `refs` reach (a compaction with
 * nothing unreachable kept); then, when every ref is a branch or a tag, nothing needs walking.
 */
export function provenCloneKey(objects: RepoObjects, refs: readonly RefRecord[], closedOverAllRefs = false): string | null {
  if (objects.packs.length !== 1) return null;
  const wants = cloneWants(refs);
  if (wants.length === 0) return null;
  if (closedOverAllRefs && wants.length === new Set(refs.map((r) => r.oid)).size) return cloneKey(wants);
  const plan = enumerateObjects(objects, { wants, commonHaves: [], clientShallow: [] });
  return plan.objects.length === objects.packs[0]!.index.count ? cloneKey(wants) : null;
}
