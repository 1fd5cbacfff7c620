import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../core/errors.js';
import type { S3Config } from '../core/config.js';
import { assertSafeKey, type BlobListing, type BlobStat, type BlobStore, type ByteRange, type PresignedPut, type PresignPutOptions } from './blob-store.js';

/** Multipart part size (S3 needs >= 5 MiB; larger parts mean fewer requests). */
const PART_SIZE = 16 * 1024 * 1024;
/** Parts in flight per upload: memory per upload is about PART_SIZE * QUEUE_SIZE. */
const QUEUE_SIZE = 2;
/** The largest object one CopyObject (and one PutObject) can handle; larger copies stream through. */
export const MAX_SINGLE_COPY = 5 * 1024 ** 3;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError']);

type VendorError = { name?: string; code?: string; message?: string; errors?: unknown[]; $metadata?: { httpStatusCode?: number } };

function isNetworkError(err: unknown): boolean {
  const e = err as VendorError;
  if (!e || typeof e !== 'object') return false;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  // Node's happy-eyeballs connect reports an AggregateError of the per-address failures.
  return Array.isArray(e.errors) && e.errors.some(isNetworkError);
}

function isMissing(err: unknown): boolean {
  const e = err as VendorError;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/** Vendor errors become AppError kinds here, at the edge. */
export function translateS3Error(err: unknown, key: string): AppError {
  if (err instanceof AppError) return err;
  const e = err as VendorError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchBucket') return new AppError('unavailable', 'StorageUnavailable', `object storage bucket is missing (${e.message ?? ''})`, { cause: err });
  if (isMissing(err)) return new AppError('not_found', 'BlobNotFound', `object ${key} not found`);
  if (status === 416 || e.name === 'InvalidRange') return new AppError('invalid', 'InvalidRange', `range not satisfiable for ${key}`, { cause: err });
  if (isNetworkError(err) || (e.name && UNAVAILABLE_NAMES.has(e.name)) || (status !== undefined && status >= 500)) {
    return new AppError('unavailable', 'StorageUnavailable', `object storage unreachable: ${e.message || e.code || e.name}`, { cause: err });
  }
  return new AppError('internal', 'StorageError', `object storage error on ${key}: ${e.name ?? ''} ${e.message ?? ''}`.trim(), { cause: err });
}

/** Failures worth one more try: the connection broke, or the server was briefly unable. */
function isTransient(err: unknown): boolean {
  const e = err as VendorError;
  return isNetworkError(err) || /socket hang up/i.test(e.message ?? '') || (!!e.name && UNAVAILABLE_NAMES.has(e.name)) || (e.$metadata?.httpStatusCode ?? 0) >= 500;
}

function translate(err: unknown, key: string): never {
  throw translateS3Error(err, key);
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  /** Signs URLs for clients: same bucket, possibly another address (a proxy or a published port). */
  private readonly presigner: S3Client;

  constructor(private readonly cfg: S3Config) {
    this.client = S3BlobStore.makeClient(cfg, cfg.endpoint);
    this.presigner = cfg.publicEndpoint ? S3BlobStore.makeClient(cfg, cfg.publicEndpoint) : this.client;
  }

  private static makeClient(cfg: S3Config, endpoint: string | undefined): S3Client {
    return new S3Client({
      endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      credentials: cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined,
      // Stream bodies must go out unframed: some S3-compatible servers store aws-chunked framing verbatim.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private k(key: string): string {
    assertSafeKey(key);
    return this.cfg.prefix ? `${this.cfg.prefix.replace(/\/+$/, '')}/${key}` : key;
  }

  /** Create the bucket when it does not exist (other failures are reported, not papered over). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
      return;
    } catch (err) {
      if (!isMissing(err) && (err as VendorError).name !== 'NoSuchBucket') translate(err, this.cfg.bucket);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.cfg.bucket }));
    } catch (err) {
      // Another replica may have created it meanwhile.
      const name = (err as VendorError).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') translate(err, this.cfg.bucket);
    }
  }

  /**
   * Streams through lib-storage: one PutObject for small bodies, a multipart upload of PART_SIZE
   * parts (QUEUE_SIZE in flight, so memory stays bounded) for large ones. Nothing is visible
   * until the upload completes.
   */
  async put(key: string, body: Readable, opts: { size?: number; contentType?: string } = {}): Promise<void> {
    // When the body fails (a client went away, a hash did not match), that is the error to report,
    // not whatever the upload's cleanup ran into afterwards.
    let bodyError: unknown;
    const onError = (err: unknown) => {
      bodyError ??= err;
    };
    body.on('error', onError);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.cfg.bucket, Key: this.k(key), Body: body, ContentType: opts.contentType ?? 'application/octet-stream' },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const failure = bodyError ?? (cause instanceof AppError ? cause : translateS3Error(err, key));
      // Release whoever is still writing into the body: nothing will read it any more. (Destroyed
      // without an error: an 'error' event nobody listens to would crash the process.)
      if (!body.destroyed) body.destroy();
      throw failure;
    } finally {
      body.off('error', onError);
    }
  }

  async putFile(key: string, filePath: string, opts: { contentType?: string; move?: boolean } = {}): Promise<void> {
    const size = (await fsp.stat(filePath)).size;
    if (size < PART_SIZE) {
      // The SDK cannot replay a stream body: a request that died on a stale keep-alive socket is
      // retried here with the file opened again.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.client.send(
            new PutObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key), Body: fs.createReadStream(filePath), ContentLength: size, ContentType: opts.contentType ?? 'application/octet-stream' }),
          );
          break;
        } catch (err) {
          if (attempt < 3 && isTransient(err)) {
            await new Promise((r) => setTimeout(r, 100 * attempt));
            continue;
          }
          translate(err, key);
        }
      }
    } else {
      await this.put(key, fs.createReadStream(filePath, { highWaterMark: 1 << 20 }), { size, contentType: opts.contentType });
    }
    // The caller gave the file up: it is stored now.
    if (opts.move) await fsp.rm(filePath, { force: true });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key), Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }),
      );
      return r.Body as Readable;
    } catch (err) {
      translate(err, key);
    }
  }

  async download(key: string, filePath: string): Promise<void> {
    await fsp.mkdir(path.dirname(filePath), { recursive: true });
    const tmp = `${filePath}.tmp-${crypto.randomUUID()}`;
    try {
      await pipeline(await this.get(key), fs.createWriteStream(tmp));
      await fsp.rename(tmp, filePath);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async stat(key: string, opts: { checksum?: boolean } = {}): Promise<BlobStat | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key), ...(opts.checksum ? { ChecksumMode: 'ENABLED' as const } : {}) }));
      // Only a full-object checksum describes the bytes ("<base64>-<parts>" is a checksum of part checksums).
      const sum = r.ChecksumSHA256 && !r.ChecksumSHA256.includes('-') ? Buffer.from(r.ChecksumSHA256, 'base64') : null;
      return { size: r.ContentLength ?? 0, etag: r.ETag, ...(sum && sum.length === 32 ? { sha256: sum.toString('hex') } : {}) };
    } catch (err) {
      if (isMissing(err) && (err as VendorError).name !== 'NoSuchBucket') return null;
      translate(err, key);
    }
  }

  /**
   * CopyObject inside the bucket (the bytes do not pass through packhub), with `x-amz-copy-source-if-match`
   * when `ifMatch` is given (AWS S3 and MinIO honour it; s3rver ignores it). Objects over 5 GiB
   * stream through this process instead (and then `ifMatch` is not checked).
   */
  async copy(from: string, to: string, opts: { ifMatch?: string } = {}): Promise<void> {
    const st = await this.stat(from);
    if (!st) throw new AppError('not_found', 'BlobNotFound', `object ${from} not found`);
    if (st.size > MAX_SINGLE_COPY) {
      await this.put(to, await this.get(from), { size: st.size });
      return;
    }
    const source = `${this.cfg.bucket}/${this.k(from)}`.split('/').map(encodeURIComponent).join('/');
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(to), CopySource: source, ...(opts.ifMatch ? { CopySourceIfMatch: opts.ifMatch } : {}) }));
    } catch (err) {
      const e = err as VendorError;
      if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) throw new AppError('conflict', 'BlobChanged', `object ${from} changed before it could be copied`);
      translate(err, from);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key) }));
    } catch (err) {
      if (isMissing(err) && (err as VendorError).name !== 'NoSuchBucket') return;
      translate(err, key);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobListing> {
    let token: string | undefined;
    const strip = this.cfg.prefix ? this.cfg.prefix.replace(/\/+$/, '').length + 1 : 0;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.cfg.prefix ? `${this.cfg.prefix.replace(/\/+$/, '')}/${prefix}` : prefix, ContinuationToken: token }));
      } catch (err) {
        translate(err, prefix);
      }
      for (const o of r.Contents ?? []) yield { key: o.Key!.slice(strip), size: o.Size ?? 0, modified: o.LastModified ?? new Date() };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key) }), { expiresIn: expiresInSeconds });
  }

  /**
   * With `sha256`, the checksum is a signed header the client must send, not a query parameter:
   * S3 ignores `x-amz-checksum-sha256` in a presigned URL's query string, so hoisted there it would
   * pin nothing. A store that checks checksums then refuses a body with another SHA-256, and keeps
   * the checksum for `stat(key, { checksum: true })`.
   */
  async presignPut(key: string, expiresInSeconds: number, opts: PresignPutOptions): Promise<PresignedPut> {
    const checksum = opts.sha256 ? Buffer.from(opts.sha256, 'hex').toString('base64') : null;
    const url = await getSignedUrl(
      this.presigner,
      new PutObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key), ContentLength: opts.size, ...(checksum ? { ChecksumSHA256: checksum } : {}) }),
      { expiresIn: expiresInSeconds, ...(checksum ? { unhoistableHeaders: new Set(['x-amz-checksum-sha256']) } : {}) },
    );
    return { url, headers: checksum ? { 'x-amz-checksum-sha256': checksum } : {} };
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
    } catch (err) {
      translate(err, this.cfg.bucket);
    }
  }
}
