import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
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
import { assertSafeKey, type BlobStat, type BlobStore, type ByteRange, type PresignPutOptions } from './blob-store.js';

const PART_SIZE = 16 * 1024 * 1024;

/** Vendor errors become AppError kinds here, at the edge. */
function translate(err: unknown, key: string): never {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string; message?: string };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) throw new AppError('not_found', 'BlobNotFound', `object ${key} not found`);
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || e.name === 'TimeoutError') {
    throw new AppError('unavailable', 'StorageUnavailable', `object storage unreachable: ${e.message ?? e.code}`, { cause: err });
  }
  throw new AppError('internal', 'StorageError', `object storage error on ${key}: ${e.name ?? ''} ${e.message ?? ''}`.trim(), { cause: err });
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

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
    } catch {
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.cfg.bucket }));
      } catch (err) {
        translate(err, this.cfg.bucket);
      }
    }
  }

  async put(key: string, body: Readable, opts: { size?: number; contentType?: string } = {}): Promise<void> {
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.cfg.bucket, Key: this.k(key), Body: body, ContentType: opts.contentType ?? 'application/octet-stream' },
        partSize: PART_SIZE,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      if (err instanceof AppError) throw err;
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof AppError) throw cause;
      translate(err, key);
    }
  }

  async putFile(key: string, filePath: string, opts: { contentType?: string; move?: boolean } = {}): Promise<void> {
    const size = (await fsp.stat(filePath)).size;
    if (size < PART_SIZE) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key), Body: fs.createReadStream(filePath), ContentLength: size, ContentType: opts.contentType ?? 'application/octet-stream' }),
        );
      } catch (err) {
        translate(err, key);
      }
      return;
    }
    await this.put(key, fs.createReadStream(filePath, { highWaterMark: 1 << 20 }), { size, contentType: opts.contentType });
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

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key) }));
      return { size: r.ContentLength ?? 0, etag: r.ETag };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
      translate(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key) }));
    } catch (err) {
      const e = err as { $metadata?: { httpStatusCode?: number } };
      if (e.$metadata?.httpStatusCode === 404) return;
      translate(err, key);
    }
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    let token: string | undefined;
    const strip = this.cfg.prefix ? this.cfg.prefix.replace(/\/+$/, '').length + 1 : 0;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.cfg.prefix ? `${this.cfg.prefix.replace(/\/+$/, '')}/${prefix}` : prefix, ContinuationToken: token }));
      } catch (err) {
        translate(err, prefix);
      }
      for (const o of r.Contents ?? []) yield { key: o.Key!.slice(strip), size: o.Size ?? 0 };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.k(key) }), { expiresIn: expiresInSeconds });
  }

  presignPut(key: string, expiresInSeconds: number, opts: PresignPutOptions): Promise<string> {
    return getSignedUrl(
      this.presigner,
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: this.k(key),
        ContentLength: opts.size,
        ...(opts.sha256 ? { ChecksumSHA256: Buffer.from(opts.sha256, 'hex').toString('base64') } : {}),
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
    } catch (err) {
      translate(err, this.cfg.bucket);
    }
  }
}
