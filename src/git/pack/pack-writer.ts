import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { encodeEntryHeader, encodeOfsOffset } from './entry-header.js';

/**
 * Streams a pack: header, entries (whole, or stored compressed bytes copied verbatim, optionally
 * as OFS/REF deltas), SHA-1 trailer. The sink may return a promise to apply backpressure.
 */
export class PackWriter {
  private readonly hash = crypto.createHash('sha1');
  private expected = -1;
  private written = 0;
  position = 0;

  constructor(private readonly sink: (chunk: Buffer) => void | Promise<void>) {}

  private async emit(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.position += chunk.length;
    await this.sink(chunk);
  }

  async begin(count: number): Promise<void> {
    const h = Buffer.alloc(12);
    h.write('PACK', 0, 'latin1');
    h.writeUInt32BE(2, 4);
    h.writeUInt32BE(count, 8);
    this.expected = count;
    await this.emit(h);
  }

  async writeWhole(typeCode: number, data: Buffer): Promise<void> {
    await this.writeRaw(typeCode, data.length, zlib.deflateSync(data, { level: data.length > 1 << 20 ? 1 : 6 }));
  }

  async writeRaw(typeCode: number, size: number, compressed: Buffer, base?: { ofsDistance: number } | { oid: Buffer }): Promise<void> {
    const parts = [encodeEntryHeader(typeCode, size)];
    if (base && 'ofsDistance' in base) parts.push(encodeOfsOffset(base.ofsDistance));
    else if (base) parts.push(base.oid);
    parts.push(compressed);
    this.written++;
    await this.emit(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  async finish(): Promise<Buffer> {
    if (this.written !== this.expected) throw new Error(`pack writer: ${this.written} entries written, ${this.expected} announced`);
    const sum = this.hash.digest();
    this.position += 20;
    await this.sink(sum);
    return sum;
  }
}
