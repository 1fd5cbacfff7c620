import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { VerifyingStream } from '../core/hashing-stream.js';
import type { BlobStore, ByteRange } from '../storage/blob-store.js';

/** LFS objects are content-addressed and stored once for the whole hub. */
export const lfsKey = (oid: string) => `lfs/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`;

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
   * streaming; on a mismatch the store's atomic put never commits and the error propagates.
   */
  async receive(oid: string, size: number, body: Readable): Promise<void> {
    const verify = new VerifyingStream(oid, size);
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    await Promise.all([pipeline(body, verify, pass), this.blobs.put(lfsKey(oid), pass, { size })]);
  }

  open(oid: string, range?: ByteRange): Promise<Readable> {
    return this.blobs.get(lfsKey(oid), range);
  }
}
