import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { applyDelta, readDeltaSizes } from './delta.js';

const varint = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
};
const delta = (baseSize: number, resultSize: number, ...ops: number[]) => Buffer.from([...varint(baseSize), ...varint(resultSize), ...ops]);
const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);

describe('delta', () => {
  const base = Buffer.from('0123456789abcdefghij');

  it('reads the base and result sizes', () => {
    assert.deepEqual(readDeltaSizes(delta(300, 70000)), { baseSize: 300, resultSize: 70000, headerLength: 5 });
  });

  it('applies copy and insert instructions', () => {
    // copy offset 10 size 6; insert "XY"; copy offset 0 size 3 (offset byte omitted).
    const d = delta(20, 11, 0x91, 10, 6, 0x02, 0x58, 0x59, 0x90, 3);
    assert.equal(applyDelta(base, d).toString(), 'abcdefXY012');
  });

  it('reads multi-byte offsets and sizes, and size 0 as 0x10000', () => {
    const big = Buffer.alloc(0x20000);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    // copy offset 0x010203 size 0x0102 (bytes 1 and 2 of each); copy offset 0x100 size 0x10000.
    const d = delta(big.length, 0x0102 + 0x10000, 0x80 | 0x07 | 0x30, 0x03, 0x02, 0x01, 0x02, 0x01, 0x80 | 0x02, 0x01);
    const out = applyDelta(big, d);
    assert.ok(out.subarray(0, 0x102).equals(big.subarray(0x010203, 0x010203 + 0x102)));
    assert.ok(out.subarray(0x102).equals(big.subarray(0x100, 0x100 + 0x10000)));
  });

  it('refuses malformed deltas with a GitFormatError', () => {
    assert.throws(() => applyDelta(base, delta(19, 1, 0x01, 0x41)), isFormatError(/delta base size mismatch: the delta expects 19 bytes, the base has 20/));
    assert.throws(() => applyDelta(base, delta(20, 6, 0x91, 16, 6)), isFormatError(/delta copies bytes 16\.\.22 from a base of 20 bytes/));
    assert.throws(() => applyDelta(base, delta(20, 5, 0x05, 0x41)), isFormatError(/insert instruction at byte 2 truncated/));
    assert.throws(() => applyDelta(base, delta(20, 5, 0x91, 1)), isFormatError(/copy instruction at byte 2 truncated/));
    assert.throws(() => applyDelta(base, delta(20, 1, 0x00)), isFormatError(/reserved opcode 0/));
    assert.throws(() => applyDelta(base, delta(20, 5, 0x01, 0x41)), isFormatError(/produce 1 bytes, the header says 5/));
    assert.throws(() => applyDelta(base, Buffer.from([20, 0x80])), isFormatError(/delta header truncated/));
  });

  it('never allocates a result the instructions cannot produce', () => {
    assert.throws(() => applyDelta(base, delta(20, 2 ** 40, 0x01, 0x41)), isFormatError(/result size mismatch/));
  });
});
