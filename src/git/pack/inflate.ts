import fs from 'node:fs';
import zlib from 'node:zlib';
import { GitFormatError } from '../../core/errors.js';

/** `length` bytes at `position` with positional reads (fewer at the end of the file). */
export function readAt(fd: number, position: number, length: number): Buffer {
  return readInto(fd, Buffer.allocUnsafe(Math.max(length, 0)), position, length);
}

/** Up to `length` bytes at `position` read into the start of `buf` (fewer at the end of the file); the filled part. */
export function readInto(fd: number, buf: Buffer, position: number, length: number): Buffer {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

/**
 * Bytes left free in front of inflated objects (`inflateExact`'s headroom, `applyDelta`'s), so
 * that git's "<type> <size>\0" header can be written before the content and the whole hashed in
 * one call (`hashFramed`) without copying the object.
 */
export const HEADROOM = 32;

interface NativeZlib {
  reset(): void;
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

/**
 * A zlib context driven directly, with the calls Node's own `inflateSync`/`deflateSync` make on it
 * (see NATIVE_ZLIB_HANDLE): `handle.reset()` between streams, `handle.writeSync(...)`, and then
 * `state` = [output bytes left, input bytes left]. `engine` keeps the native context alive.
 */
export interface ZlibContext {
  engine: zlib.Inflate | zlib.Deflate;
  handle: NativeZlib;
  state: Uint32Array;
}

/** The native handle of a new `zlib.Inflate` or `zlib.Deflate`; `onerror` is told of a corrupt stream or a failed call. */
export function zlibContext(engine: zlib.Inflate | zlib.Deflate, onerror: (message: string, code?: string) => void): ZlibContext {
  const internals = engine as unknown as { _handle: NativeZlib; _writeState: Uint32Array };
  internals._handle.onerror = (message, _errno, code) => onerror(message, code);
  return { engine, handle: internals._handle, state: internals._writeState };
}

/**
 * One zlib inflate context reused for every object, reset between them: a pack holds thousands of
 * small streams and `zlib.inflateSync` builds (and the GC later frees) a context and its 32 KiB
 * window for each. It drives the native handle of a `zlib.Inflate` with the same calls Node's own
 * `inflateSync` makes. After an error, the context is dropped and a fresh one made.
 */
class Inflater {
  private handle!: NativeZlib;
  private state!: Uint32Array;
  private error: { message: string; code?: string } | null = null;
  private context!: ZlibContext;

  constructor() {
    this.renew();
  }

  private renew(): void {
    this.context = zlibContext(new zlib.Inflate(), (message, code) => {
      this.error = { message, code };
    });
    ({ handle: this.handle, state: this.state } = this.context);
  }

  /**
   * Inflates the stream at the start of `input` into out[outOff, outOff + outLen). Returns the
   * input bytes used and the bytes produced (outLen when the stream goes on past the space), or
   * 'truncated' when the input ends first. A corrupt stream throws.
   */
  run(input: Buffer, out: Buffer, outOff: number, outLen: number, where: number): { used: number; produced: number } | 'truncated' {
    this.error = null;
    this.handle.reset();
    this.handle.writeSync(zlib.constants.Z_FINISH, input, 0, input.length, out, outOff, outLen);
    const error = this.error as { message: string; code?: string } | null;
    if (error) {
      this.renew();
      if (error.code === 'Z_BUF_ERROR') return 'truncated';
      throw new GitFormatError(`zlib stream corrupt in object at offset ${where}: ${error.message}`);
    }
    return { used: input.length - this.state[1]!, produced: outLen - this.state[0]! };
  }

  /**
   * Streams one zlib stream whose input arrives in pieces (`next(used, want)` gives up to `want`
   * bytes from input offset `used` on; none at the end of the file) and whose output goes to `onData` in
   * pieces of at most `chunk.length` bytes, refusing more than `size` bytes. Returns the input
   * bytes the stream used. The stream's end is where inflate stops consuming input with output
   * space left: a pack entry is always followed by more bytes (the next entry or the trailer).
   */
  stream(next: (used: number, want: number) => Buffer, size: number, chunk: Buffer, onData: (data: Buffer, input: Buffer) => void, where: number): number {
    this.error = null;
    this.handle.reset();
    let used = 0;
    let produced = 0;
    for (;;) {
      const input = next(used, STREAM_INPUT);
      if (input.length === 0) throw new GitFormatError(`pack truncated at offset ${where} (zlib stream of the object runs past the end)`);
      let inOff = 0;
      for (;;) {
        const room = Math.min(chunk.length, size + 1 - produced);
        this.handle.writeSync(zlib.constants.Z_NO_FLUSH, input, inOff, input.length - inOff, chunk, 0, room);
        const error = this.error as { message: string } | null;
        if (error) {
          this.renew();
          throw new GitFormatError(`zlib stream corrupt in object at offset ${where}: ${error.message}`);
        }
        const got = room - this.state[0]!;
        const consumed = input.length - inOff - this.state[1]!;
        if (got > 0 || consumed > 0) onData(chunk.subarray(0, got), input.subarray(inOff, inOff + consumed));
        produced += got;
        inOff += consumed;
        used += consumed;
        if (produced > size) throw new GitFormatError(`object at offset ${where} inflates to more than the ${size} bytes its header says`);
        if (this.state[0]! === 0) continue; // output full: drain more
        if (inOff < input.length) {
          if (produced !== size) throw new GitFormatError(`object at offset ${where} inflates to ${produced} bytes, its header says ${size}`);
          return used;
        }
        break; // input used up: the stream goes on
      }
    }
  }
}

/** Whether Node's zlib objects expose the native handle Inflater (and pack-writer's Deflater) drive. */
export const NATIVE_ZLIB_HANDLE = (() => {
  const engine = new zlib.Inflate();
  const probe = engine as unknown as { _handle?: { writeSync?: unknown; reset?: unknown }; _writeState?: unknown };
  const ok = typeof probe._handle?.writeSync === 'function' && typeof probe._handle.reset === 'function' && probe._writeState instanceof Uint32Array;
  engine.close();
  return ok;
})();
let inflater: Inflater | null = null;
/** Input read per step when streaming. */
const STREAM_INPUT = 1 << 20;

/**
 * Inflates the zlib stream at the start of `input` (bytes after it are ignored) that must inflate
 * to exactly `size` bytes. Returns the data and how many input bytes the stream used, or null when
 * `input` ends before the stream does. `where` is the pack offset of the entry, for messages.
 * With `headroom`, the data is preceded by that many bytes of its own buffer (see HEADROOM).
 */
export function inflateExact(input: Buffer, size: number, where: number, headroom = 0): { data: Buffer; used: number } | null {
  if (!NATIVE_ZLIB_HANDLE) return inflateExactPortable(input, size, where, headroom);
  inflater ??= new Inflater();
  // One byte more than the header says, to see a stream that goes on.
  const out = Buffer.allocUnsafe(headroom + size + 1);
  const r = inflater.run(input, out, headroom, size + 1, where);
  if (r === 'truncated') return null;
  if (r.produced > size) throw new GitFormatError(`object at offset ${where} inflates to more than the ${size} bytes its header says`);
  if (r.produced !== size) throw new GitFormatError(`object at offset ${where} inflates to ${r.produced} bytes, its header says ${size}`);
  return { data: out.subarray(headroom, headroom + size), used: r.used };
}

/**
 * The first `want` bytes the zlib stream at the start of `input` inflates to (fewer when it is
 * shorter), or null when `input` ends first. Only that much is inflated, with the shared context:
 * sniffing a small object's first bytes costs a fraction of inflating it whole.
 */
export function inflatePrefix(input: Buffer, want: number, where: number): Buffer | null {
  if (!NATIVE_ZLIB_HANDLE) return null;
  inflater ??= new Inflater();
  const out = Buffer.allocUnsafe(want);
  const r = inflater.run(input, out, 0, want, where);
  return r === 'truncated' ? null : out.subarray(0, r.produced);
}

/**
 * Inflates a stream too large to hold whole, piece by piece (see Inflater.stream); `onData` gets
 * each piece of output with the input bytes used to make it. Returns the input bytes the stream used.
 */
export function inflateStreaming(next: (used: number, want: number) => Buffer, size: number, chunk: Buffer, onData: (data: Buffer, input: Buffer) => void, where: number): number {
  if (NATIVE_ZLIB_HANDLE) {
    inflater ??= new Inflater();
    return inflater.stream(next, size, chunk, onData, where);
  }
  // Without the native handle: one piece, as inflateExact does it.
  for (let len = firstWindow(size); ; len *= 2) {
    const input = next(0, len);
    const r = inflateExact(input, size, where);
    if (r) {
      onData(r.data, input.subarray(0, r.used));
      return r.used;
    }
    if (input.length < len) throw new GitFormatError(`pack truncated at offset ${where} (zlib stream of the object runs past the end)`);
  }
}

interface InflateInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/** inflateExact through the public API only: a context per call. */
function inflateExactPortable(input: Buffer, size: number, where: number, headroom: number): { data: Buffer; used: number } | null {
  let r: InflateInfo;
  try {
    // `info` exposes the engine: bytesWritten is the count of input bytes consumed.
    // One output chunk of the expected size (no 16 KiB buffer per small object, no concatenation
    // of large ones), but never more than this input can inflate to (deflate expands at most 1032:1).
    const chunkSize = Math.max(64, Math.min(size + 1, input.length * 1032 + 64));
    r = zlib.inflateSync(input, { info: true, maxOutputLength: size + 1, chunkSize }) as unknown as InflateInfo;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'Z_BUF_ERROR') return null;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new GitFormatError(`object at offset ${where} inflates to more than the ${size} bytes its header says`);
    throw new GitFormatError(`zlib stream corrupt in object at offset ${where}: ${(err as Error).message}`, err);
  }
  if (r.buffer.length !== size) throw new GitFormatError(`object at offset ${where} inflates to ${r.buffer.length} bytes, its header says ${size}`);
  if (headroom === 0) return { data: r.buffer, used: r.engine.bytesWritten };
  const out = Buffer.allocUnsafe(headroom + size);
  r.buffer.copy(out, headroom);
  return { data: out.subarray(headroom), used: r.engine.bytesWritten };
}

/** A first read large enough for most streams: stored (level 0) deflate adds 5 bytes per 64 KiB. */
export const firstWindow = (size: number) => size + Math.ceil(size / 1000) + 64;

/**
 * Inflates the stream at file position `position` (which must end before `limit`), reading a
 * window and growing it while the stream goes on. Also returns the window, so callers can copy the
 * stored bytes (`input.subarray(0, used)`) without reading them again.
 */
export function inflateAt(fd: number, position: number, size: number, limit: number, where: number, headroom = 0): { data: Buffer; used: number; input: Buffer } {
  let len = firstWindow(size);
  for (;;) {
    const input = readAt(fd, position, Math.min(len, limit - position));
    const r = inflateExact(input, size, where, headroom);
    if (r) return { ...r, input };
    if (position + input.length >= limit) throw new GitFormatError(`pack truncated at offset ${where} (zlib stream of the object runs past the end)`);
    len *= 2;
  }
}

/**
 * The first `want` inflated bytes of the stream at `position` (fewer if the stream is shorter),
 * inflating only as much input as needed: enough for a delta's size header.
 */
export function inflateHead(fd: number, position: number, want: number, limit: number, where: number): Buffer {
  for (let len = 64; ; len *= 4) {
    const input = readAt(fd, position, Math.min(len, limit - position));
    let out: Buffer;
    try {
      // Deflate expands at most 1032:1, so this bound never cuts a valid stream short.
      out = zlib.inflateSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: input.length * 1100 + 64 });
    } catch (err) {
      throw new GitFormatError(`zlib stream corrupt in object at offset ${where}: ${(err as Error).message}`, err);
    }
    if (out.length >= want || position + input.length >= limit) return out.subarray(0, want);
  }
}
