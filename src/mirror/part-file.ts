import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fsp from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/**
 * The part file of a download and the SHA-256 of its bytes, written in order from the start. A part
 * left by an earlier run is kept and hashed again (its bytes count); one longer than the object is
 * emptied. `written` is what is in the file; `onWritten` is told each time it grows, so readers
 * that follow the file never read past it.
 */
export interface PartFile {
  readonly written: number;
  /** Appends bytes (copied: the caller may reuse the chunk); resolves when more may be pushed. */
  push(chunk: Buffer): Promise<void>;
  /** Everything pushed is in the file: the bytes written. */
  flush(): Promise<number>;
  /** Empties the file and starts the hash over. */
  restart(): Promise<void>;
  /** The SHA-256 (hex) of the bytes written; call `restart` before pushing more. */
  digest(): Promise<string>;
  /** fsync. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Objects from this size on are written and hashed by a worker thread, off the event loop. */
export const WORKER_MIN_BYTES = 16 << 20;

/** Bytes handed to the worker at a time, and how many such buffers may be in flight (what a SIGKILL
 * loses of the received bytes: keep it small). */
const BUF_BYTES = 1 << 20;
const MAX_BUFS = 2;

/** Bytes written at a time by the inline writer (small objects). */
const INLINE_WRITE = 1 << 20;

export async function openPart(partPath: string, size: number, onWritten: (bytes: number) => void): Promise<PartFile> {
  return size >= WORKER_MIN_BYTES ? WorkerPart.open(partPath, size, onWritten) : InlinePart.open(partPath, size, onWritten);
}

/** Small objects: hashed and written on the event loop, 1 MiB per write. */
class InlinePart implements PartFile {
  private hash = crypto.createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private constructor(
    private readonly fh: fsp.FileHandle,
    public written: number,
    private readonly onWritten: (bytes: number) => void,
  ) {}

  static async open(partPath: string, size: number, onWritten: (bytes: number) => void): Promise<InlinePart> {
    const fh = await fsp.open(partPath, 'a+');
    try {
      let done = (await fh.stat()).size;
      const part = new InlinePart(fh, 0, onWritten);
      if (done > size) {
        await fh.truncate(0);
        done = 0;
      } else if (done > 0) {
        for await (const chunk of createReadStream(partPath, { start: 0, end: done - 1 })) part.hash.update(chunk as Buffer);
      }
      part.written = done;
      return part;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async push(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= INLINE_WRITE) await this.flush();
  }

  async flush(): Promise<number> {
    if (this.pendingBytes === 0) return this.written;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    // Opened for appending: every write lands at the end, which is `written`.
    let off = 0;
    while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off, this.written + off)).bytesWritten;
    this.written += buf.length;
    this.onWritten(this.written);
    return this.written;
  }

  async restart(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.truncate(0);
    this.written = 0;
    this.hash = crypto.createHash('sha256');
  }

  async digest(): Promise<string> {
    await this.flush();
    return this.hash.digest('hex');
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * The worker: owns the file descriptor and the hash. Each message is answered in order: `open`
 * (hash the part left before) with the bytes in the file; `write` (a transferred buffer) with the
 * new length and the buffer back; `restart`, `digest`, `sync`, `close`. A write is handed to the
 * libuv pool first and hashed while it runs, so writing and hashing (the slower, SHA-256 at some
 * 300 MiB/s a core without SHA instructions) overlap. (A flush in the background, fdatasync every
 * 64 MiB to shorten the final sync, was tried and left out: with it the SIGKILL test lost 9 MiB, over
 * its 8 MiB bound, probably as writes waited for the flush while the socket buffers filled.) Plain
 * JavaScript, evaluated: nothing to resolve or compile when the worker starts.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
let fd = -1;
let pos = 0;
let hash = crypto.createHash('sha256');
const writeAt = (buf, off, len, at) => new Promise((resolve, reject) => fs.write(fd, buf, off, len, at, (err, n) => (err ? reject(err) : resolve(n))));
async function writeAll(buf, len, at) {
  for (let off = 0; off < len; ) off += await writeAt(buf, off, len - off, at + off);
}
async function handle(m) {
  switch (m.op) {
    case 'open': {
      fd = fs.openSync(m.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      pos = fs.fstatSync(fd).size;
      if (pos > m.size) {
        fs.ftruncateSync(fd, 0);
        pos = 0;
      } else if (pos > 0) {
        const buf = Buffer.allocUnsafe(Math.min(pos, 4 << 20));
        for (let at = 0; at < pos; ) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, pos - at), at);
          if (n === 0) throw new Error('part file shrank while it was read');
          hash.update(buf.subarray(0, n));
          at += n;
        }
      }
      return [{ written: pos }];
    }
    case 'write': {
      const buf = Buffer.from(m.buf, 0, m.len);
      const written = writeAll(buf, m.len, pos);
      written.catch(() => undefined);
      hash.update(buf);
      await written;
      pos += m.len;
      return [{ written: pos, buf: m.buf }, [m.buf]];
    }
    case 'restart':
      fs.ftruncateSync(fd, 0);
      pos = 0;
      hash = crypto.createHash('sha256');
      return [{ written: 0 }];
    case 'digest':
      return [{ digest: hash.digest('hex') }];
    case 'sync':
      fs.fsyncSync(fd);
      return [{}];
    case 'close':
      if (fd >= 0) fs.closeSync(fd);
      fd = -1;
      return [{}];
  }
  throw new Error('unknown operation ' + m.op);
}
// One message at a time, in order: a write's answer (its new length) comes once its bytes are in the file.
let queue = Promise.resolve();
parentPort.on('message', (m) => {
  queue = queue.then(async () => {
    let answer;
    try {
      answer = await handle(m);
    } catch (err) {
      parentPort.postMessage({ error: err.message, code: err.code });
      return;
    }
    parentPort.postMessage(answer[0], answer[1] || []);
    if (m.op === 'close') parentPort.close();
  });
});
`;

interface Answer {
  written?: number;
  buf?: ArrayBuffer;
  digest?: string;
  error?: string;
  code?: string;
}

/**
 * Large objects: the event loop only copies the received bytes into 1 MiB buffers and hands them
 * (transferred, not copied) to a worker that writes and hashes them, so receiving, writing and
 * hashing overlap; at most MAX_BUFS buffers are in flight (the download waits for one to come back).
 */
class WorkerPart implements PartFile {
  written = 0;
  private readonly answers: { resolve(a: Answer): void; reject(e: Error): void }[] = [];
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | null = null;
  private fillAt = 0;
  private failure: Error | null = null;
  private bufferBack: (() => void) | null = null;
  private last: Promise<Answer> = Promise.resolve({});

  private constructor(
    private readonly worker: Worker,
    private readonly onWritten: (bytes: number) => void,
  ) {
    worker.on('message', (a: Answer) => {
      const waiter = this.answers.shift();
      if (a.error !== undefined) {
        const err = Object.assign(new Error(a.error), { code: a.code });
        this.failure ??= err;
        waiter?.reject(err);
        this.wakeBuffer();
      } else waiter?.resolve(a);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => this.fail(new Error('part file writer stopped')));
  }

  static async open(partPath: string, size: number, onWritten: (bytes: number) => void): Promise<WorkerPart> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    const part = new WorkerPart(worker, onWritten);
    try {
      const a = await part.send({ op: 'open', path: partPath, size });
      part.written = a.written!;
      return part;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.answers.splice(0)) w.reject(err);
    this.wakeBuffer();
  }

  private wakeBuffer(): void {
    const w = this.bufferBack;
    this.bufferBack = null;
    w?.();
  }

  private send(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<Answer>((resolve, reject) => this.answers.push({ resolve, reject }));
    this.worker.postMessage(msg, transfer);
    p.catch(() => undefined);
    this.last = p;
    return p;
  }

  async push(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.failure) throw this.failure;
      if (!this.current) {
        this.current = this.free.pop() ?? (this.allocated < MAX_BUFS ? (this.allocated++, Buffer.allocUnsafeSlow(BUF_BYTES)) : null);
        this.fillAt = 0;
        if (!this.current) {
          await new Promise<void>((r) => (this.bufferBack = r));
          continue;
        }
      }
      const n = chunk.copy(this.current, this.fillAt, off);
      off += n;
      this.fillAt += n;
      if (this.fillAt === this.current.length) this.dispatch();
    }
  }

  /** Hands the current buffer to the worker; it comes back to the free list once written. */
  private dispatch(): void {
    const buf = this.current!;
    const len = this.fillAt;
    this.current = null;
    this.fillAt = 0;
    const ab = buf.buffer as ArrayBuffer;
    void this.send({ op: 'write', buf: ab, len }, [ab]).then(
      (a) => {
        this.free.push(Buffer.from(a.buf!));
        this.written = a.written!;
        this.onWritten(this.written);
        this.wakeBuffer();
      },
      () => undefined,
    );
  }

  async flush(): Promise<number> {
    if (this.current && this.fillAt > 0) this.dispatch();
    await this.last;
    if (this.failure) throw this.failure;
    return this.written;
  }

  async restart(): Promise<void> {
    if (this.current) this.free.push(this.current);
    this.current = null;
    this.fillAt = 0;
    await this.send({ op: 'restart' });
    this.written = 0;
  }

  async digest(): Promise<string> {
    await this.flush();
    return (await this.send({ op: 'digest' })).digest!;
  }

  async sync(): Promise<void> {
    await this.send({ op: 'sync' });
  }

  async close(): Promise<void> {
    if (!this.failure) await this.send({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
