import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { OFS_DELTA, REF_DELTA, TYPE_NAME } from '../objects/types.js';
import { encodeEntryHeader, encodeOfsOffset } from './entry-header.js';
import { NATIVE_ZLIB_HANDLE, zlibContext, type ZlibContext } from './inflate.js';

/** An object's zlib stream as writeWhole stores it (the bytes `zlib.deflateSync` gives at the same level). */
export function deflateObject(data: Buffer): Buffer {
  // Large objects deflate at level 1: several times faster, and big files are mostly binary anyway.
  if (data.length > 1 << 20) return zlib.deflateSync(data, { level: 1 });
  if (!NATIVE_ZLIB_HANDLE) return zlib.deflateSync(data, { level: 6 });
  deflater ??= new Deflater(6);
  return deflater.run(data) ?? zlib.deflateSync(data, { level: 6 });
}

/**
 * One deflate context reused for every small object, reset between them, as Inflater does for
 * inflating (src/git/pack/inflate.ts): `zlib.deflateSync` builds and initialises a context of
 * ~256 KiB per call, most of the time of deflating a small object (an API commit of 10,000 small
 * files: 170 ms against 45 ms here).
 */
class Deflater {
  private context!: ZlibContext;
  private failed = false;
  private out = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly level: number) {
    this.renew();
  }

  private renew(): void {
    this.context = zlibContext(new zlib.Deflate({ level: this.level }), () => {
      this.failed = true;
    });
  }

  /** `data` deflated whole, in a buffer of its own; null when the context failed (the caller falls back). */
  run(data: Buffer): Buffer | null {
    // zlib's deflateBound for these settings is below this.
    const room = data.length + (data.length >> 10) + 64;
    if (this.out.length < room) this.out = Buffer.allocUnsafe(room);
    const { handle, state } = this.context;
    this.failed = false;
    handle.reset();
    handle.writeSync(zlib.constants.Z_FINISH, data, 0, data.length, this.out, 0, room);
    // Output space left over means the stream ended (Z_FINISH with room to spare); none left, that it might not have.
    if (this.failed || state[1] !== 0 || state[0] === 0) {
      this.renew();
      return null;
    }
    return Buffer.from(this.out.subarray(0, room - state[0]!));
  }
}
let deflater: Deflater | null = null;

export type DeltaBase = { ofsDistance: number } | { oid: Buffer };

/** Entries at least this large go to the sink as they are instead of being copied behind their header. */
const PASS_THROUGH = 64 * 1024;
/** Size of the blocks small entries are gathered into (larger than PASS_THROUGH plus a header). */
const STAGE_BYTES = 256 * 1024;

/**
 * Streams a pack to a sink: header, entries (whole objects, deflated here, or stored compressed
 * bytes copied verbatim, optionally as OFS/REF deltas), SHA-1 trailer. Every call awaits the sink,
 * so a sink returning a promise applies backpressure. Use one call at a time.
 */
export class PackWriter {
  private readonly hash = crypto.createHash('sha1');
  private expected = -1;
  private written = 0;
  private finished = false;
  /** Offset in the pack of the next byte written (for OFS_DELTA distances). */
  position = 0;

  constructor(private readonly sink: (chunk: Buffer) => void | Promise<void>) {}

  /** Small entries are copied into this buffer and go to the sink (and the hash) a block at a time. */
  private staged = Buffer.allocUnsafe(STAGE_BYTES);
  private stagedBytes = 0;

  private async emit(chunk: Buffer): Promise<void> {
    await this.flushStaged();
    this.hash.update(chunk);
    this.position += chunk.length;
    await this.sink(chunk);
  }

  /** Appends to the staging buffer (callers check that it fits). */
  private stage(chunk: Buffer): void {
    chunk.copy(this.staged, this.stagedBytes);
    this.stagedBytes += chunk.length;
    this.position += chunk.length;
  }

  /** Hands the staged bytes to the sink in a buffer of their own (the sink may keep it). */
  private async flushStaged(): Promise<void> {
    if (this.stagedBytes === 0) return;
    const block = this.staged.subarray(0, this.stagedBytes);
    this.staged = Buffer.allocUnsafe(STAGE_BYTES);
    this.stagedBytes = 0;
    this.hash.update(block);
    await this.sink(block);
  }

  async begin(count: number): Promise<void> {
    if (this.expected >= 0) throw new Error('pack writer: begin() called twice');
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new RangeError(`pack writer: bad object count ${count}`);
    const h = Buffer.alloc(12);
    h.write('PACK', 0, 'latin1');
    h.writeUInt32BE(2, 4);
    h.writeUInt32BE(count, 8);
    this.expected = count;
    await this.emit(h);
  }

  /** A whole object of type `typeCode` (1-4), deflated here. */
  async writeWhole(typeCode: number, data: Buffer): Promise<void> {
    if (!TYPE_NAME[typeCode]) throw new RangeError(`pack writer: ${typeCode} is not an object type`);
    await this.writeRaw(typeCode, data.length, deflateObject(data));
  }

  /**
   * An entry whose zlib stream is given as stored: `size` is the inflated size of the object (or of
   * the delta). Deltas need `base`: an OFS_DELTA the distance back to its base entry, a REF_DELTA
   * the base's id.
   */
  async writeRaw(typeCode: number, size: number, compressed: Buffer, base?: DeltaBase): Promise<void> {
    if (this.expected < 0 || this.finished) throw new Error('pack writer: write outside begin()/finish()');
    if (this.written >= this.expected) throw new Error(`pack writer: more than the ${this.expected} entries announced`);
    const parts = [encodeEntryHeader(typeCode, size)];
    if (typeCode === OFS_DELTA) {
      if (!base || !('ofsDistance' in base)) throw new Error('pack writer: an OFS_DELTA needs { ofsDistance }');
      if (base.ofsDistance > this.position - 12) throw new RangeError(`pack writer: ofs-delta distance ${base.ofsDistance} reaches before the first entry`);
      parts.push(encodeOfsOffset(base.ofsDistance));
    } else if (typeCode === REF_DELTA) {
      if (!base || !('oid' in base) || base.oid.length !== 20) throw new Error('pack writer: a REF_DELTA needs { oid } of 20 bytes');
      parts.push(base.oid);
    } else if (base) {
      throw new Error(`pack writer: type ${typeCode} is not a delta but a base was given`);
    }
    this.written++;
    if (compressed.length >= PASS_THROUGH) {
      await this.emit(Buffer.concat(parts));
      await this.emit(compressed);
      return;
    }
    // Small entries (most of them) are gathered into blocks: one sink call and one hash update per
    // block instead of per object.
    const length = parts.reduce((n, b) => n + b.length, compressed.length);
    if (this.stagedBytes + length > STAGE_BYTES) await this.flushStaged();
    for (const b of parts) this.stage(b);
    this.stage(compressed);
  }

  /** Appends the trailer after checking the entry count; resolves to the pack checksum. */
  async finish(): Promise<Buffer> {
    if (this.finished) throw new Error('pack writer: finish() called twice');
    if (this.written !== this.expected) throw new Error(`pack writer: ${this.written} entries written, ${Math.max(this.expected, 0)} announced`);
    this.finished = true;
    await this.flushStaged();
    const sum = this.hash.digest();
    this.position += 20;
    await this.sink(sum);
    return sum;
  }
}
