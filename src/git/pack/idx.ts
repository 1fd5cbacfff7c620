import crypto from 'node:crypto';
import { GitFormatError } from '../../core/errors.js';

const MAGIC = 0xff744f63;

/** A pack index, version 2 (fanout, sorted ids, CRC32s, 31-bit offsets + 64-bit table, checksums). */
export class PackIndex {
  readonly count: number;
  private readonly oidsAt: number;
  private readonly crcAt_: number;
  private readonly offAt: number;
  private readonly bigAt: number;

  private constructor(private readonly buf: Buffer) {
    this.count = buf.readUInt32BE(8 + 255 * 4);
    this.oidsAt = 8 + 256 * 4;
    this.crcAt_ = this.oidsAt + this.count * 20;
    this.offAt = this.crcAt_ + this.count * 4;
    this.bigAt = this.offAt + this.count * 4;
  }

  static fromBuffer(buf: Buffer, verifyChecksum = true): PackIndex {
    if (buf.length < 8 + 1024 + 40 || buf.readUInt32BE(0) !== MAGIC || buf.readUInt32BE(4) !== 2) {
      throw new GitFormatError('not a version 2 pack index');
    }
    let prev = 0;
    for (let i = 0; i < 256; i++) {
      const v = buf.readUInt32BE(8 + i * 4);
      if (v < prev) throw new GitFormatError('pack index fanout is not monotonic');
      prev = v;
    }
    const idx = new PackIndex(buf);
    if (idx.bigAt + 40 > buf.length) throw new GitFormatError('pack index truncated');
    if (verifyChecksum) {
      const sum = crypto.createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest();
      if (!sum.equals(buf.subarray(buf.length - 20))) throw new GitFormatError('pack index checksum mismatch');
    }
    return idx;
  }

  get packChecksum(): Buffer {
    return this.buf.subarray(this.buf.length - 40, this.buf.length - 20);
  }

  oidAt(i: number): Buffer {
    const p = this.oidsAt + i * 20;
    return this.buf.subarray(p, p + 20);
  }

  crcAt(i: number): number {
    return this.buf.readUInt32BE(this.crcAt_ + i * 4);
  }

  offsetAt(i: number): number {
    const v = this.buf.readUInt32BE(this.offAt + i * 4);
    if (!(v & 0x80000000)) return v;
    const p = this.bigAt + (v & 0x7fffffff) * 8;
    return this.buf.readUInt32BE(p) * 2 ** 32 + this.buf.readUInt32BE(p + 4);
  }

  /** Position of an oid in the index, or -1. */
  position(oid: string | Buffer): number {
    const key = typeof oid === 'string' ? Buffer.from(oid, 'hex') : oid;
    if (key.length !== 20) return -1;
    const first = key[0]!;
    let lo = first === 0 ? 0 : this.buf.readUInt32BE(8 + (first - 1) * 4);
    let hi = this.buf.readUInt32BE(8 + first * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.oidsAt + mid * 20;
      const c = this.buf.compare(key, 0, 20, p, p + 20);
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
}

/** Build idx v2 bytes for a pack. */
export function writeIndex(entries: { oid: Buffer; offset: number; crc: number }[], packChecksum: Buffer): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.oid, b.oid));
  const n = sorted.length;
  const big = sorted.filter((e) => e.offset >= 0x80000000);
  const buf = Buffer.alloc(8 + 1024 + n * 28 + big.length * 8 + 40);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(2, 4);
  const fan = new Uint32Array(256);
  for (const e of sorted) fan[e.oid[0]!]!++;
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fan[i]!;
    buf.writeUInt32BE(acc, 8 + i * 4);
  }
  let p = 8 + 1024;
  for (const e of sorted) {
    e.oid.copy(buf, p);
    p += 20;
  }
  for (const e of sorted) {
    buf.writeUInt32BE(e.crc >>> 0, p);
    p += 4;
  }
  let bigIndex = 0;
  const bigStart = p + n * 4;
  for (const e of sorted) {
    if (e.offset >= 0x80000000) {
      buf.writeUInt32BE((0x80000000 | bigIndex) >>> 0, p);
      const q = bigStart + bigIndex * 8;
      buf.writeUInt32BE(Math.floor(e.offset / 2 ** 32), q);
      buf.writeUInt32BE(e.offset >>> 0, q + 4);
      bigIndex++;
    } else {
      buf.writeUInt32BE(e.offset, p);
    }
    p += 4;
  }
  p = bigStart + big.length * 8;
  packChecksum.copy(buf, p);
  p += 20;
  crypto.createHash('sha1').update(buf.subarray(0, p)).digest().copy(buf, p);
  return buf;
}
