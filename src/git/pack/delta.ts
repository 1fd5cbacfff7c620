import { GitFormatError } from '../../core/errors.js';

function readVarint(delta: Buffer, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= delta.length) throw new GitFormatError('delta header truncated');
    const b = delta[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [value, pos];
  }
}

export function readDeltaSizes(delta: Buffer): { baseSize: number; resultSize: number; headerLength: number } {
  const [baseSize, p1] = readVarint(delta, 0);
  const [resultSize, p2] = readVarint(delta, p1);
  return { baseSize, resultSize, headerLength: p2 };
}

/** Apply a git delta (copy/insert opcodes) to its base, checking every bound. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const { baseSize, resultSize, headerLength } = readDeltaSizes(delta);
  if (baseSize !== base.length) throw new GitFormatError(`delta base size mismatch: delta expects ${baseSize}, base has ${base.length}`);
  const out = Buffer.allocUnsafe(resultSize);
  let pos = headerLength;
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      if (op & 0x01) off = delta[pos++]!;
      if (op & 0x02) off |= delta[pos++]! << 8;
      if (op & 0x04) off |= delta[pos++]! << 16;
      if (op & 0x08) off = (off | (delta[pos++]! << 24)) >>> 0;
      if (op & 0x10) size = delta[pos++]!;
      if (op & 0x20) size |= delta[pos++]! << 8;
      if (op & 0x40) size |= delta[pos++]! << 16;
      if (size === 0) size = 0x10000;
      if (pos > delta.length) throw new GitFormatError('delta copy instruction truncated');
      if (off + size > base.length || o + size > resultSize) throw new GitFormatError('delta copy out of bounds');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op !== 0) {
      if (pos + op > delta.length || o + op > resultSize) throw new GitFormatError('delta insert out of bounds');
      delta.copy(out, o, pos, pos + op);
      pos += op;
      o += op;
    } else {
      throw new GitFormatError('delta has a reserved opcode 0');
    }
  }
  if (o !== resultSize) throw new GitFormatError(`delta result size mismatch: produced ${o}, expected ${resultSize}`);
  return out;
}
