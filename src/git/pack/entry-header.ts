import { GitFormatError } from '../../core/errors.js';

/**
 * Pack entry header: type in bits 4-6 of the first byte, size (of the inflated data) in its low 4
 * bits, then 7 more bits per byte, little-endian, while the high bit is set.
 */
export function encodeEntryHeader(typeCode: number, size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`pack entry size ${size} is not a safe non-negative integer`);
  if (typeCode < 1 || typeCode > 7 || typeCode === 5) throw new RangeError(`pack entry type ${typeCode} is invalid`);
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

/**
 * Decodes the entry header at `pos` of `buf`; `at` is the pack offset of buf[pos], for messages.
 * The type code is returned as stored (0 and 5 are invalid, callers check).
 */
export function decodeEntryHeader(buf: Buffer, pos: number, at = pos): { typeCode: number; size: number; length: number } {
  const start = pos;
  if (pos >= buf.length) throw new GitFormatError(`pack truncated at offset ${at} (entry header)`);
  let c = buf[pos++]!;
  const typeCode = (c >> 4) & 7;
  let size = c & 0x0f;
  let shift = 4;
  while (c & 0x80) {
    if (pos >= buf.length) throw new GitFormatError(`pack truncated at offset ${at} (entry header)`);
    // 4 + 7 * 7 bits: beyond that the size would not be a safe integer.
    if (shift > 46) throw new GitFormatError(`pack entry at offset ${at} has an impossibly large size`);
    c = buf[pos++]!;
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
  }
  return { typeCode, size, length: pos - start };
}

/**
 * OFS_DELTA base distance: big-endian 7 bits per byte, and every continuation adds 1 before the
 * shift, so each length has its own range (no two encodings of one number).
 */
export function encodeOfsOffset(distance: number): Buffer {
  if (!Number.isSafeInteger(distance) || distance <= 0) throw new RangeError(`ofs-delta distance ${distance} must be a positive integer`);
  const bytes = [distance & 0x7f];
  let d = Math.floor(distance / 128);
  while (d > 0) {
    d -= 1;
    bytes.unshift(0x80 | (d & 0x7f));
    d = Math.floor(d / 128);
  }
  return Buffer.from(bytes);
}

export function decodeOfsOffset(buf: Buffer, pos: number, at = pos): { distance: number; length: number } {
  const start = pos;
  if (pos >= buf.length) throw new GitFormatError(`pack truncated at offset ${at} (ofs-delta base offset)`);
  let c = buf[pos++]!;
  let distance = c & 0x7f;
  while (c & 0x80) {
    if (pos >= buf.length) throw new GitFormatError(`pack truncated at offset ${at} (ofs-delta base offset)`);
    if (distance >= 2 ** 45) throw new GitFormatError(`ofs-delta base offset at offset ${at} overflows`);
    c = buf[pos++]!;
    distance = (distance + 1) * 128 + (c & 0x7f);
  }
  return { distance, length: pos - start };
}
