import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { AppError, tooLarge } from '../core/errors.js';

/** The decompressing stream for a request's Content-Encoding (null: none). */
function inflaterFor(req: IncomingMessage): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return null;
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  throw new AppError('unsupported_media', 'UnsupportedMediaType', `unsupported Content-Encoding of the request body: ${encoding.slice(0, 40)}`);
}

/** Stop reading a request body: what is left is read off the wire and dropped, never decompressed. */
export function discardBody(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.resume();
}

/**
 * A request body as it arrives, decompressed (gzip, deflate, br or none), failing with a 413 once it
 * holds more than `maxBytes` decompressed bytes. Memory stays bounded by the streams' buffers (the
 * decompressor waits for this reader). Leaving early (an error, a limit) never destroys the request,
 * so the caller can still answer; the rest of the raw body is discarded.
 */
export async function* decodedBody(req: IncomingMessage, maxBytes: number, what = 'the request body'): AsyncGenerator<Buffer> {
  const inflater = inflaterFor(req);
  let source: Readable = req;
  const aborted = () => {
    if (!req.complete) inflater?.destroy(new AppError('invalid', 'BadRequest', `${what} was cut off`));
  };
  if (inflater) {
    req.once('error', (err) => inflater.destroy(err));
    req.once('close', aborted);
    req.pipe(inflater);
    source = inflater;
  }
  let total = 0;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: source !== req }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(`${what} exceeds ${maxBytes} bytes${inflater ? ' (decompressed)' : ''}`);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') throw new AppError('invalid', 'BadRequest', `${what} was cut off`);
    if (code && /^Z_|^ERR_(ZLIB|BROTLI)/.test(code)) throw new AppError('invalid', 'BadRequest', `${what} is not valid ${req.headers['content-encoding']} data`);
    throw err;
  } finally {
    req.off('close', aborted);
    if (inflater && !inflater.destroyed) inflater.destroy();
    discardBody(req);
  }
}
