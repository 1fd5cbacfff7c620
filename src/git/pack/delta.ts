import { GitFormatError } from '../../core/errors.js';

function readVarint(delta: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= delta.length) throw new GitFormatError('delta header truncated');
    if (shift > 49) throw new GitFormatError('delta header size too large');
    const b = delta[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [value, pos];
  }
}

/** The two sizes at the start of a delta: its base's and its result's (little-endian base-128). */
export function readDeltaSizes(delta: Buffer): { baseSize: number; resultSize: number; headerLength: number } {
  const [baseSize, p1] = readVarint(delta, 0);
  const [resultSize, p2] = readVarint(delta, p1);
  return { baseSize, resultSize, headerLength: p2 };
}

/**
 * The result size in a delta's header (the second varint), without allocating: for checks made on
 * every delta of a pack. -1 when the header is truncated or not a safe integer.
 */
export function deltaResultSize(delta: Buffer): number {
  let pos = 0;
  while (pos < delta.length && delta[pos]! & 0x80) pos++;
  pos++;
  let value = 0;
  for (let shift = 0; pos < delta.length; shift += 7) {
    if (shift > 49) return -1;
    const b = delta[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return value;
  }
  return -1;
}

/** How many argument bytes follow a copy opcode: one per set bit among bits 0-6. */
const ARG_BYTES = Uint8Array.from({ length: 128 }, (_, op) => {
  let n = 0;
  for (let v = op; v; v >>= 1) n += v & 1;
  return n;
});

/**
 * Calls `copy(offset, size)` or `insert(pos, size)` for each instruction. Copy: high bit set, bits
 * 0-3 say which offset bytes follow, bits 4-6 which size bytes (little-endian, size 0 means 0x10000).
 * Insert: 1-127 literal bytes follow. Opcode 0 is reserved.
 */
function forEachOp(delta: Buffer, from: number, copy: (offset: number, size: number) => void, insert: (pos: number, size: number) => void): void {
  let pos = from;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      if (pos + ARG_BYTES[op & 0x7f]! > delta.length) throw new GitFormatError(`delta copy instruction at byte ${pos - 1} truncated`);
      let offset = 0;
      let size = 0;
      if (op & 0x01) offset = delta[pos++]!;
      if (op & 0x02) offset |= delta[pos++]! << 8;
      if (op & 0x04) offset |= delta[pos++]! << 16;
      if (op & 0x08) offset = (offset | (delta[pos++]! << 24)) >>> 0;
      if (op & 0x10) size = delta[pos++]!;
      if (op & 0x20) size |= delta[pos++]! << 8;
      if (op & 0x40) size |= delta[pos++]! << 16;
      copy(offset, size === 0 ? 0x10000 : size);
    } else if (op !== 0) {
      if (pos + op > delta.length) throw new GitFormatError(`delta insert instruction at byte ${pos - 1} truncated`);
      insert(pos, op);
      pos += op;
    } else {
      throw new GitFormatError(`delta has the reserved opcode 0 at byte ${pos - 1}`);
    }
  }
}

/**
 * Applies a git delta to its base. Every instruction is checked before the result is allocated,
 * so a delta claiming a huge result cannot make us allocate it, and a result over `maxResult` is
 * refused from the header alone. With `headroom`, the result is preceded by that many free bytes
 * of its own buffer (see inflate.ts HEADROOM).
 */
export function applyDelta(base: Buffer, delta: Buffer, headroom = 0, maxResult = Infinity): Buffer {
  const { baseSize, resultSize, headerLength } = readDeltaSizes(delta);
  if (resultSize > maxResult) throw new GitFormatError(`delta result of ${resultSize} bytes is over the limit of ${maxResult} bytes per object`);
  if (baseSize !== base.length) throw new GitFormatError(`delta base size mismatch: the delta expects ${baseSize} bytes, the base has ${base.length}`);
  let produced = 0;
  forEachOp(
    delta,
    headerLength,
    (offset, size) => {
      if (offset + size > base.length) throw new GitFormatError(`delta copies bytes ${offset}..${offset + size} from a base of ${base.length} bytes`);
      produced += size;
    },
    (_pos, size) => {
      produced += size;
    },
  );
  if (produced !== resultSize) throw new GitFormatError(`delta result size mismatch: the instructions produce ${produced} bytes, the header says ${resultSize}`);
  const out = Buffer.allocUnsafe(headroom + resultSize).subarray(headroom);
  let o = 0;
  forEachOp(
    delta,
    headerLength,
    (offset, size) => {
      o += base.copy(out, o, offset, offset + size);
    },
    (pos, size) => {
      o += delta.copy(out, o, pos, pos + size);
    },
  );
  return out;
}
