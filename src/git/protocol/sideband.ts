import { MAX_SIDEBAND_DATA, pktLine } from './pkt-line.js';

export type Sink = (chunk: Buffer) => void | Promise<void>;

/** pkt-line header of a full band-1 packet: length 65520 (ffef + 1), band 1. */
const BAND1_FULL_HEADER = Buffer.concat([Buffer.from((MAX_SIDEBAND_DATA + 5).toString(16).padStart(4, '0')), Buffer.from([1])]);

/**
 * Multiplexes a byte stream into side-band packets (band 1 data, 2 progress, 3 fatal error).
 * Data is coalesced into full packets so a pack goes out in 64 KiB frames, not one per object.
 */
export class SidebandWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly sink: Sink,
    private readonly enabled: boolean,
  ) {}

  async data(chunk: Buffer): Promise<void> {
    if (!this.enabled) {
      await this.sink(chunk);
      return;
    }
    if (chunk.length >= MAX_SIDEBAND_DATA) {
      // Large chunks (stored entries, pack files) go out as slices: no copy of the payload.
      await this.flushData(true);
      let pos = 0;
      for (; pos + MAX_SIDEBAND_DATA <= chunk.length; pos += MAX_SIDEBAND_DATA) {
        await this.sink(BAND1_FULL_HEADER);
        await this.sink(chunk.subarray(pos, pos + MAX_SIDEBAND_DATA));
      }
      if (pos < chunk.length) {
        this.pending.push(chunk.subarray(pos));
        this.pendingBytes += chunk.length - pos;
      }
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= MAX_SIDEBAND_DATA) await this.flushData(false);
  }

  private async flushData(all: boolean): Promise<void> {
    if (this.pendingBytes === 0) return;
    let joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const out: Buffer[] = [];
    while (joined.length >= MAX_SIDEBAND_DATA || (all && joined.length > 0)) {
      const n = Math.min(MAX_SIDEBAND_DATA, joined.length);
      out.push(pktLine(Buffer.concat([Buffer.from([1]), joined.subarray(0, n)])));
      joined = joined.subarray(n);
    }
    this.pending = joined.length ? [Buffer.from(joined)] : [];
    this.pendingBytes = joined.length;
    if (out.length) await this.sink(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Flush buffered data; call before any other packet and at the end. */
  async flush(): Promise<void> {
    await this.flushData(true);
  }

  async progress(message: string): Promise<void> {
    if (!this.enabled) return;
    await this.flushData(true);
    await this.sink(pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(message)])));
  }

  async fatal(message: string): Promise<void> {
    await this.flushData(true);
    if (this.enabled) await this.sink(pktLine(Buffer.concat([Buffer.from([3]), Buffer.from(message)])));
    else await this.sink(pktLine(`ERR ${message}`));
  }
}
