import type { Readable } from 'node:stream';
import { AppError } from '../core/errors.js';
import type { RepoRecord } from '../db/types.js';
import { can } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { stagingKey, type ContentStore } from './content-store.js';
import type { LfsRecords } from './records.js';

/**
 * The one rule by which an LFS object becomes part of a repository (LFS batch and verify, transfers
 * through packhub, API commits; a git push needs its pointers linked already). An oid joins a
 * repository only when
 *  (i)   its bytes were uploaded for this repository by this user and verified: streamed through
 *        packhub (`receive`), or staged by a presigned upload and verified there (`claim`);
 *  (ii)  it is linked already to some repository the user can read (`adopt`, and `claim` with a
 *        principal);
 *  (iii) the bytes arrive in the same request (inline content of an API commit, `receive`).
 * Naming an oid proves nothing, and whoever cannot prove possession gets the same answer whether or
 * not the hub holds the object elsewhere. Nothing here deletes stored content, only staging copies.
 */
export interface PossessionDeps {
  records: LfsRecords;
  content: ContentStore;
  /** A repository by id (for rule ii). */
  findRepo(id: string): Promise<RepoRecord | null>;
}

/** Repositories looked at for rule (ii) per object. */
const MAX_LINKING_REPOS = 1000;

export const lfsObjectMissing = (oid: string) =>
  new AppError('invalid', 'LfsObjectMissing', `LFS object ${oid} was not uploaded for this repository (or does not match its size and SHA-256); upload it through the batch API first`);

/** Who claims: the user an upload was made by, and their principal when known (needed for rule ii). */
export interface Claimant {
  userId: number;
  principal: Principal | null;
}

export function createPossession(deps: PossessionDeps) {
  const { records, content } = deps;

  /** The verified size when the object is stored and recorded, else null. */
  async function storedSize(oid: string): Promise<number | null> {
    const known = await records.objectSize(oid);
    return known !== null && (await content.size(oid)) === known ? known : null;
  }

  /** Rule (ii): linked to a repository this principal may read. */
  async function readableElsewhere(principal: Principal | null, oid: string): Promise<boolean> {
    for (const id of await records.reposLinking(oid, MAX_LINKING_REPOS)) {
      const repo = await deps.findRepo(id);
      if (repo && can(principal, repo, 'read')) return true;
    }
    return false;
  }

  return {
    /**
     * Rule (ii) for a batch upload: when the object (of this size) is linked to a repository the
     * principal can read, link it here too; true when it did (no upload needed).
     */
    async adopt(repo: RepoRecord, principal: Principal | null, oid: string, size: number): Promise<boolean> {
      if ((await records.objectSize(oid)) !== size || !(await readableElsewhere(principal, oid))) return false;
      await records.link(repo.id, oid);
      return true;
    },

    /**
     * Rules (i) and (iii) for bytes that pass through packhub: verified while streaming, stored
     * unless the hub holds the object already (then they only prove possession), then linked.
     */
    async receive(repoId: string, oid: string, size: number, body: Readable): Promise<void> {
      if ((await storedSize(oid)) === size) await content.drain(oid, size, body);
      else {
        await content.receive(oid, size, body);
        await records.recordObject(oid, size);
      }
      await records.link(repoId, oid);
    },

    /**
     * Link `oid` to the repository if the claimant may have it: linked already, or staged by this
     * user for this repository and verified now (then promoted), or (with a principal) rule (ii).
     * `size` null: whatever size the object has. Returns the object's size; throws
     * `lfsObjectMissing` otherwise, the same whether or not the oid exists elsewhere.
     */
    async claim(repoId: string, who: Claimant, oid: string, size: number | null): Promise<number> {
      const known = await records.objectSize(oid);
      const fits = known !== null && (size === null || size === known);
      if (fits && (await records.linked(repoId, [oid])).has(oid)) return known!;

      const key = stagingKey(repoId, who.userId, oid);
      const expected = size ?? (await content.blobs.stat(key))?.size ?? null;
      if (expected !== null) {
        const present = (await storedSize(oid)) === expected;
        const r = await content.promoteStaged(key, oid, expected, present);
        if (r === 'checksum' || r === 'read-back') {
          await records.recordObject(oid, expected);
          await records.link(repoId, oid);
          return expected;
        }
        // A concurrent verify of the same upload may have promoted it meanwhile.
        if (r === 'absent' && fits && (await records.linked(repoId, [oid])).has(oid)) return known!;
      }

      if (fits && who.principal && (await readableElsewhere(who.principal, oid))) {
        await records.link(repoId, oid);
        return known!;
      }
      throw lfsObjectMissing(oid);
    },
  };
}

export type Possession = ReturnType<typeof createPossession>;

/** The API commit's check of an `lfsFile` line: the committer must possess the object (see above). */
export function verifyUploaded(possession: Possession, repo: RepoRecord, principal: Principal, oid: string, size: number | null): Promise<number> {
  return possession.claim(repo.id, { userId: principal.user.id, principal }, oid, size);
}
