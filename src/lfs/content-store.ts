import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Writable } from 'node:stream';
import { AppError } from '../core/errors.js';
import { VerifyingStream } from '../core/hashing-stream.js';
import type { BlobStore, ByteRange } from '../storage/blob-store.js';

/** LFS objects are content-addressed and stored once for the whole hub. */
export const lfsKey = (oid: string) => `lfs/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`;

/**
 * Uploads that bypass packhub (presigned PUTs to S3) land here, one key per repository, user and
 * object, never at `lfsKey`: only verified bytes are promoted from here. The key is deterministic so
 * that an API commit (whose client never calls verify) finds what the same user uploaded for the
 * same repository. Every staging key lives under this prefix: objects under it that were never
 * verified are garbage, and the storage sweep deletes those older than its grace period.
 */
export const LFS_STAGING_PREFIX = 'lfs-staging/';
export const stagingKey = (repoId: string, userId: number, oid: string) => `${LFS_STAGING_PREFIX}${repoId}/${userId}/${oid}`;

/**
 * What became of a staged upload: promoted after the store's own SHA-256 matched ('checksum') or
 * after reading it back ('read-back'); 'absent' when nothing is staged; 'mismatch' when the staged
 * bytes are not the object (the staging copy is then deleted); 'changed' when it was replaced while
 * being verified (left alone: its uploader may verify again).
 */
export type StagedResult = 'checksum' | 'read-back' | 'absent' | 'mismatch' | 'changed';

const isMismatch = (err: unknown) => err instanceof AppError && (err.code === 'SizeMismatch' || err.code === 'HashMismatch');
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

export class ContentStore {
  /**
   * `accelRedirectPrefix`: behind nginx on the filesystem backend, downloads are answered with an
   * `X-Accel-Redirect` to this internal location (which serves the objects directory), so nginx
   * sends the file itself (sendfile) instead of packhub copying it through.
   */
  constructor(
    readonly blobs: BlobStore,
    private readonly accelRedirectPrefix: string | null = null,
  ) {}

  /** The internal nginx location of an object, when downloads are handed to nginx. */
  accelPath(oid: string): string | null {
    return this.accelRedirectPrefix && this.blobs.localPath ? this.accelRedirectPrefix + lfsKey(oid) : null;
  }

  /** The stored size, or null when the object is absent. */
  async size(oid: string): Promise<number | null> {
    const st = await this.blobs.stat(lfsKey(oid));
    return st ? st.size : null;
  }

  /**
   * Store a body that must hash to `oid` and be exactly `size` bytes. Verification happens while
   * streaming; on a mismatch the store's atomic put never commits and the error propagates. What
   * it may replace at `lfsKey(oid)` can only be the same bytes (or bytes nobody verified).
   */
  async receive(oid: string, size: number, body: Readable): Promise<void> {
    const verify = new VerifyingStream(oid, size);
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    await Promise.all([pipeline(body, verify, pass), this.blobs.put(lfsKey(oid), pass, { size })]);
  }

  /** Check that a body is the object (size and SHA-256) and store nothing: proof of possession only. */
  async drain(oid: string, size: number, body: Readable): Promise<void> {
    await pipeline(body, new VerifyingStream(oid, size), sink());
  }

  /**
   * Verify what is staged at `key` as object `oid` of `size` bytes and promote it to `lfsKey(oid)`
   * (`present`: the object is already stored and verified, so the staged copy is only a proof and is
   * dropped). When the store reports the object's SHA-256 (it checked the upload's checksum header),
   * that and the size decide, and the promotion is a copy inside the store pinned to the ETag that was
   * checked. Otherwise the staged bytes are read back through a verifying stream that writes the
   * promoted copy itself: either way exactly the bytes that were verified are promoted, even if the
   * uploader replaces the staged object meanwhile. Deletes nothing but the staging key.
   */
  async promoteStaged(key: string, oid: string, size: number, present: boolean): Promise<StagedResult> {
    const st = await this.blobs.stat(key, { checksum: true });
    if (!st) return 'absent';
    const reject = async (): Promise<StagedResult> => {
      await this.blobs.delete(key);
      return 'mismatch';
    };
    if (st.size !== size) return reject();
    if (st.sha256 !== undefined && st.sha256 !== oid) return reject();
    // A copy must be pinned to the version whose checksum was checked: without an ETag, read back.
    if (st.sha256 === oid && (present || st.etag)) {
      if (!present) {
        try {
          await this.blobs.copy(key, lfsKey(oid), { ifMatch: st.etag });
        } catch (err) {
          if (err instanceof AppError && (err.code === 'BlobChanged' || err.code === 'BlobNotFound')) return 'changed';
          throw err;
        }
      }
      await this.blobs.delete(key);
      return 'checksum';
    }
    try {
      const body = await this.blobs.get(key);
      if (present) await this.drain(oid, size, body);
      else await this.receive(oid, size, body);
    } catch (err) {
      if (isMismatch(err)) return reject();
      if (err instanceof AppError && err.code === 'BlobNotFound') return 'absent';
      throw err;
    }
    await this.blobs.delete(key);
    return 'read-back';
  }

  open(oid: string, range?: ByteRange): Promise<Readable> {
    return this.blobs.get(lfsKey(oid), range);
  }

  /** The object's file, opened, when the store keeps local files (null otherwise); throws not_found when absent. */
  async openFile(oid: string): Promise<FileHandle | null> {
    return this.blobs.openFile ? this.blobs.openFile(lfsKey(oid)) : null;
  }
}
