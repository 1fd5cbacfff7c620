import fs from 'node:fs';
import { GitFormatError } from '../../core/errors.js';

/** Where a streamed delta copies from: `size` bytes read by position. */
export interface DeltaBase {
  size: number;
  /** Fills into[0, len) with the base's bytes from `pos` (the range is within the base). */
  read(pos: number, len: number, into: Buffer): void;
}

const OUT_BUFFER = 1 << 20;

/**
 * Applies a git delta that arrives in pieces (`push`), writing the result to a file descriptor as it
 * goes: neither the delta nor the result is ever held whole, only a 1 MiB output buffer and the
 * few bytes of an instruction split between pieces. The same checks as applyDelta: base size,
 * copies inside the base, the result size the header states (refused over `maxResult` before
 * anything is written), no reserved opcode.
 */
export class DeltaStreamApplier {
  /** 0, 1: the header's two varints; 2: an opcode; 3: copy arguments; 4: insert data. */
  private state = 0;
  private varint = 0;
  private shift = 0;
  private resultSize = 0;
  private produced = 0;
  private op = 0;
  private argsLeft = 0;
  private args: number[] = [];
  private insertLeft = 0;
  private readonly out = Buffer.allocUnsafe(OUT_BUFFER);
  private outLen = 0;

  constructor(
    private readonly base: DeltaBase,
    private readonly fd: number,
    private readonly maxResult = Infinity,
  ) {}

  /** Size of the result, once the header has been read. */
  get size(): number {
    return this.resultSize;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 0:
        case 1: {
          const b = chunk[i++]!;
          if (this.shift > 49) throw new GitFormatError('delta header size too large');
          this.varint += (b & 0x7f) * 2 ** this.shift;
          this.shift += 7;
          if (b & 0x80) break;
          if (this.state === 0) {
            if (this.varint !== this.base.size) throw new GitFormatError(`delta base size mismatch: the delta expects ${this.varint} bytes, the base has ${this.base.size}`);
            this.state = 1;
          } else {
            this.resultSize = this.varint;
            if (this.resultSize > this.maxResult) throw new GitFormatError(`delta result of ${this.resultSize} bytes is over the limit of ${this.maxResult} bytes per object`);
            this.state = 2;
          }
          this.varint = 0;
          this.shift = 0;
          break;
        }
        case 2: {
          const op = chunk[i++]!;
          if (op & 0x80) {
            this.op = op;
            this.args = [];
            this.argsLeft = 0;
            for (let v = op & 0x7f; v; v >>= 1) this.argsLeft += v & 1;
            this.state = 3;
            if (this.argsLeft === 0) this.copy();
          } else if (op !== 0) {
            this.insertLeft = op;
            this.state = 4;
          } else {
            throw new GitFormatError('delta has the reserved opcode 0');
          }
          break;
        }
        case 3: {
          this.args.push(chunk[i++]!);
          if (--this.argsLeft === 0) this.copy();
          break;
        }
        case 4: {
          const n = Math.min(this.insertLeft, chunk.length - i);
          this.emit(chunk.subarray(i, i + n));
          i += n;
          this.insertLeft -= n;
          if (this.insertLeft === 0) this.state = 2;
          break;
        }
      }
    }
  }

  private copy(): void {
    const op = this.op;
    let a = 0;
    let offset = 0;
    let size = 0;
    if (op & 0x01) offset = this.args[a++]!;
    if (op & 0x02) offset |= this.args[a++]! << 8;
    if (op & 0x04) offset |= this.args[a++]! << 16;
    if (op & 0x08) offset = (offset | (this.args[a++]! << 24)) >>> 0;
    if (op & 0x10) size = this.args[a++]!;
    if (op & 0x20) size |= this.args[a++]! << 8;
    if (op & 0x40) size |= this.args[a++]! << 16;
    if (size === 0) size = 0x10000;
    if (offset + size > this.base.size) throw new GitFormatError(`delta copies bytes ${offset}..${offset + size} from a base of ${this.base.size} bytes`);
    this.state = 2;
    for (let done = 0; done < size; ) {
      if (this.outLen === this.out.length) this.flushOut();
      const n = Math.min(size - done, this.out.length - this.outLen);
      this.checkRoom(n);
      this.base.read(offset + done, n, this.out.subarray(this.outLen, this.outLen + n));
      this.outLen += n;
      this.produced += n;
      done += n;
    }
  }

  private checkRoom(n: number): void {
    if (this.state < 2 || this.produced + n > this.resultSize) throw new GitFormatError(`delta result size mismatch: the instructions produce more than the ${this.resultSize} bytes the header says`);
  }

  private emit(data: Buffer): void {
    this.checkRoom(data.length);
    this.produced += data.length;
    if (this.outLen + data.length > this.out.length) this.flushOut();
    if (data.length >= this.out.length) writeAll(this.fd, data);
    else {
      data.copy(this.out, this.outLen);
      this.outLen += data.length;
    }
  }

  private flushOut(): void {
    if (this.outLen > 0) writeAll(this.fd, this.out.subarray(0, this.outLen));
    this.outLen = 0;
  }

  /** After the last piece: checks the delta ended cleanly and produced the stated size. */
  finish(): number {
    if (this.state !== 2) throw new GitFormatError('delta truncated');
    if (this.produced !== this.resultSize) throw new GitFormatError(`delta result size mismatch: the instructions produce ${this.produced} bytes, the header says ${this.resultSize}`);
    this.flushOut();
    return this.resultSize;
  }
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
}

/** A base read from a file by position. */
export function fileBase(fd: number, size: number): DeltaBase {
  return {
    size,
    read(pos, len, into) {
      let got = 0;
      while (got < len) {
        const n = fs.readSync(fd, into, got, len - got, pos + got);
        if (n === 0) throw new Error(`delta base file ended at ${pos + got} of ${size} bytes`);
        got += n;
      }
    },
  };
}
