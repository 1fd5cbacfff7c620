import { AppError } from '../core/errors.js';

/**
 * Split an NDJSON body into parsed lines as it streams in. Only one line is held at a time (a
 * base64 file line can be large); the whole body is never buffered.
 */
export async function* ndjsonLines(body: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<unknown> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNo = 0;
  const tooLong = () =>
    new AppError('too_large', 'PayloadTooLarge', `line ${lineNo + 1} of the commit payload exceeds ${maxLineBytes} bytes (files this large are uploaded through LFS: preupload, then an lfsFile line)`);
  const parse = (buf: Buffer) => {
    lineNo++;
    const text = buf.toString('utf8').trim();
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AppError('invalid', 'BadRequest', `line ${lineNo} of the commit payload is not valid JSON`);
    }
  };
  for await (const chunk of body) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (pendingBytes + piece.length > maxLineBytes) throw tooLong();
      const line = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      const v = parse(line);
      if (v !== undefined) yield v;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw tooLong();
    }
  }
  if (pending.length) {
    const v = parse(Buffer.concat(pending));
    if (v !== undefined) yield v;
  }
}
