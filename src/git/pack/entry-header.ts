import { GitFormatError } from '../../core/errors.js';

/** Pack entry header: type in bits 4-6 of the first byte, size as a little-endian varint. */
export function encodeEntryHeader(typeCode: number, size: number): Buffer {
  const bytes: number[] = [];
  let b = (typeCode << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(b | 0x80);
    b = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(b);
  return Buffer.from(bytes);
}

export function decodeEntryHeader(buf: Buffer, pos: number): { typeCode: number; size: number; length: number } {
  const start = pos;
  if (pos >= buf.length) throw new GitFormatError('pack entry header truncated');
  let c = buf[pos++]!;
  const typeCode = (c >> 4) & 7;
  let size = c & 0x0f;
  let shift = 4;
  while (c & 0x80) {
    if (pos >= buf.length) throw new GitFormatError('pack entry header truncated');
    c = buf[pos++]!;
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (shift > 60) throw new GitFormatError('pack entry size too large');
  }
  return { typeCode, size, length: pos - start };
}

/** OFS_DELTA distance: big-endian base-128 with +1 on each continuation (the "offset encoding" quirk). */
export function encodeOfsOffset(distance: number): Buffer {
  const bytes = [distance & 0x7f];
  let d = Math.floor(distance / 128);
  while (d > 0) {
    d -= 1;
    bytes.unshift(0x80 | (d & 0x7f));
    d = Math.floor(d / 128);
  }
  return Buffer.from(bytes);
}

export function decodeOfsOffset(buf: Buffer, pos: number): { distance: number; length: number } {
  const start = pos;
  if (pos >= buf.length) throw new GitFormatError('ofs-delta offset truncated');
  let c = buf[pos++]!;
  let distance = c & 0x7f;
  while (c & 0x80) {
    if (pos >= buf.length) throw new GitFormatError('ofs-delta offset truncated');
    c = buf[pos++]!;
    distance = (distance + 1) * 128 + (c & 0x7f);
    if (distance > Number.MAX_SAFE_INTEGER / 256) throw new GitFormatError('ofs-delta offset overflow');
  }
  return { distance, length: pos - start };
}
