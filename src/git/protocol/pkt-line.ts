import { GitFormatError } from '../../core/errors.js';

/** pkt-line framing (gitprotocol-common): 4 hex digits of length including themselves. */
export const MAX_PKT_PAYLOAD = 65516;
/** Side-band packets carry at most 65515 data bytes (one byte goes to the band number). */
export const MAX_SIDEBAND_DATA = 65515;

export const FLUSH = Buffer.from('0000');
export const DELIM = Buffer.from('0001');

export function pktLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > MAX_PKT_PAYLOAD) throw new Error(`pkt-line payload too long: ${body.length}`);
  const head = Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'ascii');
  return Buffer.concat([head, body]);
}

export function pktLines(lines: string[]): Buffer {
  return Buffer.concat(lines.map((l) => pktLine(l)));
}

export type Pkt = { kind: 'data'; data: Buffer } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' };

/** A pkt-line payload as text without its trailing LF. */
export function pktText(data: Buffer): string {
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  return data.toString('utf8', 0, end);
}

/** Bounds on what one request may send as pkt-lines (the bytes after them, a pack, are not counted). */
export interface PktLimits {
  /** Packets of any kind (data, flush, delim) read by `read()`. */
  maxPackets?: number;
  /** Bytes of those packets, length prefixes included. */
  maxBytes?: number;
}

/**
 * Reads pkt-lines from a byte stream without buffering more than one packet beyond what it
 * returns; whatever follows the last packet read (a pack) stays available via `rest()`.
 * With limits, a stream sending more packets or bytes than allowed is refused (a GitFormatError).
 */
export class PktReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly iter: AsyncIterator<Buffer>;
  private packets = 0;
  private bytes = 0;
  private readonly maxPackets: number;
  private readonly maxBytes: number;

  constructor(source: AsyncIterable<Buffer | string>, limits: PktLimits = {}) {
    this.maxPackets = limits.maxPackets ?? Infinity;
    this.maxBytes = limits.maxBytes ?? Infinity;
    this.iter = (async function* () {
      for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    })();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const next = await this.iter.next();
      if (next.done) this.ended = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, next.value]) : next.value;
    }
    return this.buf.length >= n;
  }

  /** The next packet, or null at a clean end of input. */
  async read(): Promise<Pkt | null> {
    if (!(await this.fill(4))) {
      if (this.buf.length === 0) return null;
      throw new GitFormatError('protocol error: truncated pkt-line length');
    }
    const hex = this.buf.toString('ascii', 0, 4);
    if (!/^[0-9a-f]{4}$/i.test(hex)) throw new GitFormatError(`protocol error: bad pkt-line length ${JSON.stringify(hex)}`);
    const len = parseInt(hex, 16);
    if (++this.packets > this.maxPackets) throw new GitFormatError(`protocol error: more than ${this.maxPackets} pkt-lines in one request`);
    this.bytes += Math.max(len, 4);
    if (this.bytes > this.maxBytes) throw new GitFormatError(`protocol error: more than ${this.maxBytes} bytes of pkt-lines in one request`);
    if (len === 0 || len === 1 || len === 2) {
      this.buf = this.buf.subarray(4);
      return { kind: len === 0 ? 'flush' : len === 1 ? 'delim' : 'end' };
    }
    if (len < 4) throw new GitFormatError(`protocol error: bad pkt-line length ${len}`);
    if (!(await this.fill(len))) throw new GitFormatError('protocol error: truncated pkt-line');
    const data = Buffer.from(this.buf.subarray(4, len));
    this.buf = this.buf.subarray(len);
    return { kind: 'data', data };
  }

  /** Packets up to (not including) the next flush; null if the input ended first with nothing. */
  async readUntilFlush(): Promise<Buffer[] | null> {
    const out: Buffer[] = [];
    for (;;) {
      const p = await this.read();
      if (p === null) return out.length ? out : null;
      if (p.kind === 'flush') return out;
      if (p.kind === 'data') out.push(p.data);
    }
  }

  /** The unread bytes: what is buffered, then the rest of the source. */
  async *rest(): AsyncGenerator<Buffer> {
    if (this.buf.length) {
      const b = this.buf;
      this.buf = Buffer.alloc(0);
      yield b;
    }
    while (!this.ended) {
      const next = await this.iter.next();
      if (next.done) this.ended = true;
      else yield next.value;
    }
  }
}
