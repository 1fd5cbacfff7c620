import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. `end` omitted means to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobStat {
  size: number;
  etag?: string;
}

export interface BlobListing {
  key: string;
  size: number;
  modified: Date;
}

export interface PresignPutOptions {
  /** Exact Content-Length the upload must have. */
  size: number;
  /** Hex SHA-256 of the body; backends that support checksums pin the upload to it. */
  sha256?: string;
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
  /** null when absent. */
  stat(key: string): Promise<BlobStat | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Keys in key order, with their size and when they were last written (for garbage collection's grace period). */
  list(prefix: string): AsyncIterable<BlobListing>;
  /** A local file path holding the object, for backends that are local files (lets packs be read in place). */
  localPath?(key: string): string;
  /** Presigned URLs, for backends that support them (S3). */
  presignGet?(key: string, expiresInSeconds: number): Promise<string>;
  presignPut?(key: string, expiresInSeconds: number, opts: PresignPutOptions): Promise<string>;
  /** Throws when the backend is not reachable (readiness probe). */
  ping(): Promise<void>;
}

/** Keys are built by the callers; this guards the invariant at every backend. */
export function assertSafeKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\0')) {
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  }
}
