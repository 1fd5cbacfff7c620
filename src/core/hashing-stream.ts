import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from './errors.js';

/**
 * Passes bytes through while computing SHA-256 and counting; at the end it fails the stream
 * (so nothing downstream commits) unless both match what was promised.
 */
export class VerifyingStream extends Transform {
  private readonly hash = crypto.createHash('sha256');
  bytes = 0;

  constructor(
    private readonly expectedOid: string,
    private readonly expectedSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expectedSize) {
      cb(new AppError('invalid', 'SizeMismatch', `body is larger than the declared size ${this.expectedSize}`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.bytes !== this.expectedSize) {
      cb(new AppError('invalid', 'SizeMismatch', `received ${this.bytes} bytes, expected ${this.expectedSize}`));
      return;
    }
    const oid = this.hash.digest('hex');
    if (oid !== this.expectedOid) {
      cb(new AppError('invalid', 'HashMismatch', `content hash ${oid} does not match the expected oid ${this.expectedOid}`));
      return;
    }
    cb();
  }
}
