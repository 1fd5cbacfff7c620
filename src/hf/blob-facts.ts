import { MissingObjectError, type RepoObjects } from '../git/store/repo-objects.js';
import { MAX_POINTER_SIZE, parsePointer, type LfsPointer } from '../lfs/pointer.js';

/** What a listing shows of a blob: its size, and the LFS object it points to when it is a pointer. */
export interface BlobFacts {
  size: number;
  pointer: LfsPointer | null;
}

/** How every LFS pointer begins (parsePointer refuses anything else): other blobs need no full read. */
const POINTER_START = Buffer.from('version ');

/**
 * Facts of blobs seen lately, by blob id: a size for most, { size, pointer } for LFS pointers. A
 * blob's content never changes under its id, so an entry is right for every repository (and every
 * replica) holding that id; callers only ask after finding the blob in their own repository's packs.
 * Bounded by count (an entry is a map slot and, usually, a key shared with the cached tree it came
 * from); when full, the oldest tenth goes.
 */
const known = new Map<string, number | BlobFacts>();
export const BLOB_FACTS_ENTRIES = 200_000;

/**
 * The size of blob `oid` and the LFS pointer it is, if any (the tree listing's and the siblings'
 * question for every file). Reads as little as it can: the pack entry's header and a few inflated
 * bytes (PackFile.objectHead); a blob is read whole only when it starts as a pointer does. Results
 * are remembered (see `known`), so a listing asked again reads no blob at all. Throws
 * MissingObjectError when this repository has no such object.
 */
export function blobFacts(objects: RepoObjects, oid: string): BlobFacts {
  // Found in this repository first: another repository's blob is never described here.
  const loc = objects.locate(oid);
  if (!loc) throw new MissingObjectError(oid);
  const hit = known.get(oid);
  if (hit !== undefined) return typeof hit === 'number' ? { size: hit, pointer: null } : hit;
  const { size, head } = loc.pack.file.objectHead(loc.offset, POINTER_START.length, MAX_POINTER_SIZE);
  const pointer = size > 0 && head?.equals(POINTER_START) ? parsePointer(objects.read(oid).data) : null;
  if (known.size >= BLOB_FACTS_ENTRIES) {
    const oldest = known.keys();
    for (let i = 0; i < BLOB_FACTS_ENTRIES / 10; i++) known.delete(oldest.next().value as string);
  }
  const facts = { size, pointer };
  known.set(oid, pointer ? facts : size);
  return facts;
}

/** Entries remembered now (for metrics and the memory report of bench/huge.ts). */
export function blobFactsCount(): number {
  return known.size;
}

/** Forget every remembered fact (tests: to count the reads of a cold listing). */
export function forgetBlobFacts(): void {
  known.clear();
}
