import fs from 'node:fs';
import zlib from 'node:zlib';
import { GitFormatError } from '../../core/errors.js';

export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Inflate one zlib stream that starts at `position` in a file and inflates to exactly `size`
 * bytes. Returns the data and how many compressed bytes the stream used.
 */
export function inflateAt(fd: number, position: number, size: number, fileSize: number, where: number): { data: Buffer; used: number } {
  let window = Math.min(fileSize - position, size + (size >> 7) + 512);
  for (;;) {
    if (window <= 0) throw new GitFormatError(`pack truncated at offset ${where}`);
    const input = readAt(fd, position, window);
    try {
      const r = zlib.inflateSync(input, { info: true, maxOutputLength: Math.max(size, 1) + 1 }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      if (r.buffer.length !== size) {
        throw new GitFormatError(`object at offset ${where} inflates to ${r.buffer.length} bytes, header says ${size}`);
      }
      return { data: r.buffer, used: r.engine.bytesWritten };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'Z_BUF_ERROR' && position + window < fileSize) {
        window = Math.min(fileSize - position, window * 2);
        continue;
      }
      if (code === 'Z_BUF_ERROR') throw new GitFormatError(`pack truncated in the object at offset ${where}`);
      if (code === 'ERR_BUFFER_TOO_LARGE' || (err as Error).message?.includes('maxOutputLength')) {
        throw new GitFormatError(`object at offset ${where} inflates to more than the ${size} bytes its header says`);
      }
      if (err instanceof GitFormatError) throw err;
      throw new GitFormatError(`zlib stream corrupt in the object at offset ${where}: ${(err as Error).message}`);
    }
  }
}

/** The first bytes of a zlib stream (enough for a delta header), without inflating all of it. */
export function inflatePrefix(fd: number, position: number, fileSize: number): Buffer {
  const input = readAt(fd, position, Math.min(fileSize - position, 1024));
  return zlib.inflateSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 });
}
