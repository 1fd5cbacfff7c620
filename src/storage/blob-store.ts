import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. `end` omitted means to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobStat {
  size: number;
  etag?: string;
  /**
   * Hex SHA-256 of the whole object as the store computed it, when asked for (`checksum: true`)
   * and the store keeps one (S3 objects uploaded with `x-amz-checksum-sha256`; never s3rver, never fs).
   */
  sha256?: string;
}

export interface BlobListing {
  key: string;
  size: number;
  modified: Date;
}

export interface PresignPutOptions {
  /** Exact Content-Length the upload must have. */
  size: number;
  /**
   * Hex SHA-256 of the body. The URL then requires the header `x-amz-checksum-sha256` (returned
   * in `headers`, signed), so a store that checks checksums (AWS S3, MinIO) refuses other bytes.
   * Only for clients that send the headers they are given.
   */
  sha256?: string;
}

/** A presigned upload: the URL and the headers the client must send with it. */
export interface PresignedPut {
  url: string;
  headers: Record<string, string>;
}

/**
 * Immutable object storage: packs, indexes and LFS objects. Keys are '/'-separated, never start
 * with '/', and contain no '..' segment. Vendor errors are translated to AppError at this edge:
 * a missing key is AppError('not_found', 'BlobNotFound'); an unreachable backend is 'unavailable'.
 * All bodies stream; nothing holds a whole object in memory.
 */
export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Store a stream. Writes are atomic: readers never see a partial object. */
  put(key: string, body: Readable, opts?: { size?: number; contentType?: string }): Promise<void>;
  /**
   * Store a local file (multipart upload for large files on S3). With `move`, the caller gives the
   * file up: a local backend may rename it into place instead of copying.
   */
  putFile(key: string, filePath: string, opts?: { contentType?: string; move?: boolean }): Promise<void>;
  /** Read an object or a byte range of it. Throws not_found 'BlobNotFound' when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Copy an object into a local file (atomically: temp file + rename). */
  download(key: string, filePath: string): Promise<void>;
  /** null when absent. With `checksum`, ask the store for the object's SHA-256 too (where it keeps one). */
  stat(key: string, opts?: { checksum?: boolean }): Promise<BlobStat | null>;
  /**
   * Copy an object to another key inside the store (server-side where the store can), atomically for
   * readers of `to`. With `ifMatch`, only if `from` still has that ETag (stores that cannot check it
   * copy anyway: callers must not rely on it alone). Throws not_found 'BlobNotFound' when `from` is
   * absent, conflict 'BlobChanged' when it no longer matches.
   */
  copy(from: string, to: string, opts?: { ifMatch?: string }): Promise<void>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Keys in key order, with their size and when they were last written (for garbage collection's grace period). */
  list(prefix: string): AsyncIterable<BlobListing>;
  /** A local file path holding the object, for backends that are local files (lets packs be read in place). */
  localPath?(key: string): string;
  /** The object opened for reading, for backends that are local files. Throws not_found 'BlobNotFound' when absent. */
  openFile?(key: string): Promise<FileHandle>;
  /** Presigned URLs, for backends that support them (S3). */
  presignGet?(key: string, expiresInSeconds: number): Promise<string>;
  presignPut?(key: string, expiresInSeconds: number, opts: PresignPutOptions): Promise<PresignedPut>;
  /** Throws when the backend is not reachable (readiness probe). */
  ping(): Promise<void>;
}

/** Keys are built by the callers; this guards the invariant at every backend. */
export function assertSafeKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\0')) {
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  }
}
