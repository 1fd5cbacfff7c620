import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { decodeEntryHeader, decodeOfsOffset, encodeEntryHeader, encodeOfsOffset } from './entry-header.js';

const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);

describe('pack entry header', () => {
  it('encodes type and size as git does', () => {
    // blob (3) of 100 bytes: 0x80 | 3 << 4 | (100 & 15), then 100 >> 4.
    assert.deepEqual([...encodeEntryHeader(3, 100)], [0xb4, 0x06]);
    assert.deepEqual([...encodeEntryHeader(1, 15)], [0x1f]);
    assert.deepEqual([...encodeEntryHeader(2, 16)], [0xa0, 0x01]);
    assert.deepEqual([...encodeEntryHeader(7, 0)], [0x70]);
  });

  it('round-trips sizes up to 2^53 - 1', () => {
    for (const size of [0, 1, 15, 16, 127, 128, 2047, 2048, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 30 << 20, 2 ** 45 + 3, Number.MAX_SAFE_INTEGER]) {
      for (const type of [1, 2, 3, 4, 6, 7]) {
        const b = encodeEntryHeader(type, size);
        const padded = Buffer.concat([Buffer.from([9, 9]), b, Buffer.from([0xff])]);
        assert.deepEqual(decodeEntryHeader(padded, 2), { typeCode: type, size, length: b.length }, `type ${type} size ${size}`);
      }
    }
  });

  it('refuses truncated and oversized headers', () => {
    assert.throws(() => decodeEntryHeader(Buffer.from([0xb4]), 0, 1234), isFormatError(/pack truncated at offset 1234/));
    assert.throws(() => decodeEntryHeader(Buffer.alloc(0), 0, 77), isFormatError(/pack truncated at offset 77/));
    assert.throws(() => decodeEntryHeader(Buffer.alloc(12, 0xff), 0, 5), isFormatError(/impossibly large size/));
    assert.throws(() => encodeEntryHeader(5, 1), RangeError);
    assert.throws(() => encodeEntryHeader(3, -1), RangeError);
  });
});

describe('ofs-delta base offset', () => {
  it('uses the +1 per continuation byte encoding', () => {
    assert.deepEqual([...encodeOfsOffset(1)], [0x01]);
    assert.deepEqual([...encodeOfsOffset(127)], [0x7f]);
    assert.deepEqual([...encodeOfsOffset(128)], [0x80, 0x00]);
    assert.deepEqual([...encodeOfsOffset(16511)], [0xff, 0x7f]);
    assert.deepEqual([...encodeOfsOffset(16512)], [0x80, 0x80, 0x00]);
  });

  it('round-trips distances', () => {
    for (const d of [1, 2, 127, 128, 129, 16511, 16512, 2 ** 21, 2 ** 31 + 17, 2 ** 40, 2 ** 50 - 1]) {
      const b = encodeOfsOffset(d);
      assert.deepEqual(decodeOfsOffset(Buffer.concat([Buffer.from([1]), b, Buffer.from([0xaa])]), 1), { distance: d, length: b.length }, `distance ${d}`);
    }
  });

  it('refuses truncated and overflowing offsets', () => {
    assert.throws(() => decodeOfsOffset(Buffer.from([0x80]), 0, 99), isFormatError(/pack truncated at offset 99/));
    assert.throws(() => decodeOfsOffset(Buffer.alloc(12, 0xff), 0, 3), isFormatError(/overflows/));
    assert.throws(() => encodeOfsOffset(0), RangeError);
  });
});
