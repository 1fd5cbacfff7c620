import crypto from 'node:crypto';
import type { RefRecord } from '../../db/db.js';
import { enumerateObjects } from './enumerate.js';
import type { LoadedPack } from './pack-cache.js';
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
 * The pack that holds exactly `planned` (the distinct objects of a full clone's enumeration): all of
 * them and nothing else, else null. With one pack the count says it; with several (a repository
 * created with an initial commit and then force-pushed keeps the first pack until it is compacted)
 * every object is looked up in the candidate.
 */
export function packAnswering(objects: RepoObjects, planned: readonly string[]): LoadedPack | null {
  for (const pack of objects.packs) {
    if (pack.index.count !== planned.length) continue;
    if (objects.packs.length === 1 || planned.every((oid) => pack.index.has(oid))) return pack;
  }
  return null;
}

/**
 * Whether every commit (and annotated tag) reachable from `wants` is in `pack`: a walk of the
 * commit graph only, cheap beside the full enumeration it spares when the answer is no (a pack
 * pushed on top of earlier history names parents it does not hold).
 */
function commitsWithin(objects: RepoObjects, pack: LoadedPack, wants: readonly string[]): boolean {
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const want of wants) {
    let cur = want;
    for (let i = 0; i < 64 && objects.type(cur) === 'tag'; i++) {
      if (!pack.index.has(cur)) return false;
      cur = objects.tag(cur).object;
    }
    if (objects.type(cur) === 'commit') stack.push(cur);
  }
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    if (!pack.index.has(oid)) return false;
    seen.add(oid);
    for (const parent of objects.commit(oid).parents) if (!seen.has(parent)) stack.push(parent);
  }
  return true;
}

/**
 * The key of the clone of `refs` when `pack` (by default the only pack of `objects`) answers it
 * exactly, else null. `objects` holds every live pack of the repository, so the walk can follow
 * objects outside `pack` and see that they are needed.
 * `closedOverAllRefs`: the pack is known to hold exactly what all of `refs` reach (a compaction with
 * nothing unreachable kept); then, when every ref is a branch or a tag, nothing needs walking.
 */
export function provenCloneKey(objects: RepoObjects, refs: readonly RefRecord[], closedOverAllRefs = false, pack: LoadedPack | null = objects.packs.length === 1 ? objects.packs[0]! : null): string | null {
  if (!pack) return null;
  const wants = cloneWants(refs);
  if (wants.length === 0) return null;
  if (closedOverAllRefs && objects.packs.length === 1 && wants.length === new Set(refs.map((r) => r.oid)).size) return cloneKey(wants);
  if (objects.packs.length > 1 && !commitsWithin(objects, pack, wants)) return null;
  const plan = enumerateObjects(objects, { wants, commonHaves: [], clientShallow: [] });
  return packAnswering(objects, plan.objects) === pack ? cloneKey(wants) : null;
}
