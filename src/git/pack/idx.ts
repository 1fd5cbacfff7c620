import crypto from 'node:crypto';
import { GitFormatError } from '../../core/errors.js';

const MAGIC = 0xff744f63; // "\377tOc"
const FANOUT_AT = 8;
const OIDS_AT = FANOUT_AT + 256 * 4;
const BIG = 0x80000000;

export interface IndexEntry {
  oid: Buffer;
  offset: number;
  crc: number;
}

/**
 * A pack index, version 2: header, 256-entry fanout (count of ids whose first byte is <= i),
 * sorted 20-byte ids, CRC32 of each packed entry, 31-bit offsets whose high bit instead points into
 * a table of 64-bit offsets, then the pack's checksum and the index's own checksum.
 * Lookups binary-search the raw ids inside the fanout bucket; nothing is copied out of the buffer.
 */
export class PackIndex {
  readonly count: number;
  private readonly crcsAt: number;
  private readonly offsetsAt: number;
  private readonly bigAt: number;
  private readonly bigCount: number;

  private constructor(private readonly buf: Buffer) {
    this.count = buf.readUInt32BE(FANOUT_AT + 255 * 4);
    this.crcsAt = OIDS_AT + this.count * 20;
    this.offsetsAt = this.crcsAt + this.count * 4;
    this.bigAt = this.offsetsAt + this.count * 4;
    this.bigCount = (buf.length - 40 - this.bigAt) / 8;
  }

  /** Validates the layout (and, unless told not to, the trailing checksum) of idx v2 bytes. */
  static fromBuffer(buf: Buffer, opts: { verifyChecksum?: boolean } = {}): PackIndex {
    if (buf.length < OIDS_AT + 40) throw new GitFormatError(`pack index truncated: ${buf.length} bytes`);
    if (buf.readUInt32BE(0) !== MAGIC) throw new GitFormatError('not a version 2 pack index (bad signature)');
    const version = buf.readUInt32BE(4);
    if (version !== 2) throw new GitFormatError(`unsupported pack index version ${version}`);
    let prev = 0;
    for (let i = 0; i < 256; i++) {
      const v = buf.readUInt32BE(FANOUT_AT + i * 4);
      if (v < prev) throw new GitFormatError(`pack index fanout is not monotonic at entry ${i}`);
      prev = v;
    }
    const min = OIDS_AT + prev * 28 + 40;
    // Like git: at most count-1 offsets can need 64 bits (the first object is at offset 12).
    const extra = buf.length - min;
    if (extra < 0) throw new GitFormatError(`pack index truncated: ${buf.length} bytes for ${prev} objects`);
    if (extra % 8 !== 0 || extra / 8 > Math.max(prev - 1, 0)) throw new GitFormatError(`pack index has a wrong size: ${buf.length} bytes for ${prev} objects`);
    if (opts.verifyChecksum !== false) {
      const sum = crypto.createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest();
      if (!sum.equals(buf.subarray(buf.length - 20))) throw new GitFormatError('pack index checksum mismatch');
    }
    return new PackIndex(buf);
  }

  /** The checksum (trailer) of the pack this index describes. */
  get packChecksum(): Buffer {
    return this.buf.subarray(this.buf.length - 40, this.buf.length - 20);
  }

  /** The i-th id in sorted order (a view into the index buffer). */
  oidAt(i: number): Buffer {
    const p = OIDS_AT + i * 20;
    return this.buf.subarray(p, p + 20);
  }

  crcAt(i: number): number {
    return this.buf.readUInt32BE(this.crcsAt + i * 4);
  }

  offsetAt(i: number): number {
    const v = this.buf.readUInt32BE(this.offsetsAt + i * 4);
    if (!(v & BIG)) return v;
    const k = v & ~BIG;
    if (k >= this.bigCount) throw new GitFormatError(`pack index entry ${i} points past the 64-bit offset table`);
    const p = this.bigAt + k * 8;
    const offset = this.buf.readUInt32BE(p) * 2 ** 32 + this.buf.readUInt32BE(p + 4);
    if (!Number.isSafeInteger(offset)) throw new GitFormatError(`pack index entry ${i} has an impossibly large offset`);
    return offset;
  }

  /** Position of an id in sorted order, or -1. */
  position(oid: string | Buffer): number {
    const key = typeof oid === 'string' ? Buffer.from(oid, 'hex') : oid;
    if (key.length !== 20) return -1;
    const buf = this.buf;
    const first = key[0]!;
    let lo = first === 0 ? 0 : buf.readUInt32BE(FANOUT_AT + (first - 1) * 4);
    let hi = buf.readUInt32BE(FANOUT_AT + first * 4);
    const head = key.readUInt32BE(0);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = OIDS_AT + mid * 20;
      // Most steps are decided by the first four bytes; compare the rest only on a tie.
      const h = buf.readUInt32BE(p);
      const c = h !== head ? (h < head ? -1 : 1) : buf.compare(key, 4, 20, p + 4, p + 20);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** Offset of an object in the pack, or -1. */
  find(oid: string | Buffer): number {
    const i = this.position(oid);
    return i < 0 ? -1 : this.offsetAt(i);
  }

  has(oid: string | Buffer): boolean {
    return this.position(oid) >= 0;
  }

  *entries(): IterableIterator<IndexEntry> {
    for (let i = 0; i < this.count; i++) yield { oid: this.oidAt(i), offset: this.offsetAt(i), crc: this.crcAt(i) };
  }

  [Symbol.iterator](): IterableIterator<IndexEntry> {
    return this.entries();
  }
}

/** idx v2 bytes for a pack's entries (any order); offsets of 2^31 and more go to the 64-bit table. */
export function writeIndex(entries: readonly IndexEntry[], packChecksum: Buffer): Buffer {
  if (packChecksum.length !== 20) throw new RangeError('pack checksum must be 20 bytes');
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.oid, b.oid));
  const n = sorted.length;
  const bigCount = sorted.reduce((k, e) => k + (e.offset >= BIG ? 1 : 0), 0);
  const buf = Buffer.alloc(OIDS_AT + n * 28 + bigCount * 8 + 40);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(2, 4);
  const crcsAt = OIDS_AT + n * 20;
  const offsetsAt = crcsAt + n * 4;
  const bigAt = offsetsAt + n * 4;
  const fanout = new Uint32Array(256);
  let big = 0;
  for (let i = 0; i < n; i++) {
    const e = sorted[i]!;
    if (e.oid.length !== 20) throw new RangeError(`object id ${e.oid.toString('hex')} is not 20 bytes`);
    if (i > 0 && e.oid.equals(sorted[i - 1]!.oid)) throw new GitFormatError(`pack contains object ${e.oid.toString('hex')} twice`);
    if (!Number.isSafeInteger(e.offset) || e.offset < 0) throw new RangeError(`bad pack offset ${e.offset}`);
    fanout[e.oid[0]!]!++;
    e.oid.copy(buf, OIDS_AT + i * 20);
    buf.writeUInt32BE(e.crc >>> 0, crcsAt + i * 4);
    if (e.offset < BIG) {
      buf.writeUInt32BE(e.offset, offsetsAt + i * 4);
    } else {
      buf.writeUInt32BE((BIG | big) >>> 0, offsetsAt + i * 4);
      buf.writeUInt32BE(Math.floor(e.offset / 2 ** 32), bigAt + big * 8);
      buf.writeUInt32BE(e.offset >>> 0, bigAt + big * 8 + 4);
      big++;
    }
  }
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fanout[i]!;
    buf.writeUInt32BE(acc, FANOUT_AT + i * 4);
  }
  const end = bigAt + bigCount * 8;
  packChecksum.copy(buf, end);
  crypto.createHash('sha1').update(buf.subarray(0, end + 20)).digest().copy(buf, end + 20);
  return buf;
}
