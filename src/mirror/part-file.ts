import crypto from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
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
  /**
   * Appends bytes: all of `chunk` is copied before this returns (the caller may reuse it at once).
   * A promise asks the caller to push no more than PUSH_SLACK bytes until it resolves (a caller that
   * pushes more anyway is not refused: the part allocates for it).
   */
  push(chunk: Buffer): void | Promise<void>;
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

/** What a caller may still push after `push` asked it to wait (one read of the upstream connection). */
export const PUSH_SLACK = 256 << 10;

/** Objects from this size on are written and hashed by a worker thread, off the event loop. */
export const WORKER_MIN_BYTES = 16 << 20;

/** Bytes written (and hashed) at a time, and how many such buffers a part holds (what a SIGKILL loses
 * of the received bytes: keep it small). */
const BUF_BYTES = 1 << 20;
const MAX_BUFS = 3;

export async function openPart(partPath: string, size: number, onWritten: (bytes: number) => void): Promise<PartFile> {
  return size >= WORKER_MIN_BYTES ? WorkerPart.open(partPath, size, onWritten) : InlinePart.open(partPath, size, onWritten);
}

/**
 * The bytes pushed are copied into a few buffers of BUF_BYTES, allocated once per part and reused:
 * a full buffer is handed to `writeBuffer` (which writes and hashes it) and comes back once written,
 * so receiving, writing and hashing overlap and nothing is allocated per chunk.
 */
abstract class BufferedPart implements PartFile {
  written = 0;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | null = null;
  private fillAt = 0;
  protected failure: Error | null = null;
  private bufferBack: (() => void) | null = null;
  private waiting: Promise<void> | null = null;
  /** The last write handed out: writes complete in order. */
  private last: Promise<void> = Promise.resolve();

  protected constructor(
    private readonly bufBytes: number,
    private readonly onWritten: (bytes: number) => void,
  ) {}

  /** Writes (and hashes) `len` bytes of `buf` at the end of the file; resolves with the buffer to reuse. */
  protected abstract writeBuffer(buf: Buffer, len: number): Promise<Buffer>;

  push(chunk: Buffer): void | Promise<void> {
    if (this.failure) throw this.failure;
    let off = 0;
    while (off < chunk.length) {
      if (!this.current) {
        // More than MAX_BUFS only for a caller that pushed past a request to wait.
        this.current = this.free.pop() ?? (this.allocated++, Buffer.allocUnsafeSlow(this.bufBytes));
        this.fillAt = 0;
      }
      const n = chunk.copy(this.current, this.fillAt, off);
      off += n;
      this.fillAt += n;
      if (this.fillAt === this.current.length) this.dispatch();
    }
    const room = (this.current ? this.current.length - this.fillAt : 0) + (this.free.length > 0 || this.allocated < MAX_BUFS ? this.bufBytes : 0);
    if (room >= PUSH_SLACK) return;
    this.waiting ??= new Promise<void>((resolve) => (this.bufferBack = resolve)).finally(() => (this.waiting = null));
    return this.waiting.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  protected fail(err: Error): void {
    this.failure ??= err;
    this.wakeBuffer();
  }

  private wakeBuffer(): void {
    const w = this.bufferBack;
    this.bufferBack = null;
    w?.();
  }

  /** Hands the current buffer to the writer; it comes back to the free list once written. */
  private dispatch(): void {
    const buf = this.current!;
    const len = this.fillAt;
    this.current = null;
    this.fillAt = 0;
    // Written in order by the worker; positional writes inline. Either way the part grows (and
    // readers following it are told) only in order.
    const wrote = Promise.all([this.last, this.writeBuffer(buf, len)]).then(
      ([, back]) => {
        this.free.push(back);
        this.written += len;
        this.onWritten(this.written);
        this.wakeBuffer();
      },
      (err: Error) => this.fail(err),
    );
    this.last = wrote;
  }

  async flush(): Promise<number> {
    if (this.current && this.fillAt > 0) this.dispatch();
    await this.last;
    if (this.failure) throw this.failure;
    return this.written;
  }

  /** Drops what is buffered and not written yet (before a restart). */
  protected dropBuffered(): void {
    if (this.current) this.free.push(this.current);
    this.current = null;
    this.fillAt = 0;
  }

  abstract restart(): Promise<void>;
  abstract digest(): Promise<string>;
  abstract sync(): Promise<void>;
  abstract close(): Promise<void>;
}

/** Small objects: hashed on the event loop, written through the libuv pool. */
class InlinePart extends BufferedPart {
  private hash = crypto.createHash('sha256');
  private pos = 0;

  private constructor(
    private readonly fh: fsp.FileHandle,
    bufBytes: number,
    onWritten: (bytes: number) => void,
  ) {
    super(bufBytes, onWritten);
  }

  static async open(partPath: string, size: number, onWritten: (bytes: number) => void): Promise<InlinePart> {
    const fh = await fsp.open(partPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    try {
      let done = (await fh.stat()).size;
      const part = new InlinePart(fh, Math.max(PUSH_SLACK, Math.min(BUF_BYTES, size)), onWritten);
      if (done > size) {
        await fh.truncate(0);
        done = 0;
      } else if (done > 0) {
        for await (const chunk of createReadStream(partPath, { start: 0, end: done - 1 })) part.hash.update(chunk as Buffer);
      }
      part.written = done;
      part.pos = done;
      return part;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  protected async writeBuffer(buf: Buffer, len: number): Promise<Buffer> {
    const at = this.pos;
    this.pos += len;
    const bytes = buf.subarray(0, len);
    this.hash.update(bytes);
    for (let off = 0; off < len; ) off += (await this.fh.write(bytes, off, len - off, at + off)).bytesWritten;
    return buf;
  }

  async restart(): Promise<void> {
    this.dropBuffered();
    await this.flush().catch(() => undefined);
    await this.fh.truncate(0);
    this.written = 0;
    this.pos = 0;
    this.failure = null;
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
 * libuv pool and hashed while it runs, and the next buffer is hashed while the previous one is
 * still being written, so writing and hashing (SHA-256: 0.3 to 2 GiB/s a core, with or without
 * SHA instructions) overlap. Every 64 MiB an fdatasync runs in the background (writes go on beside
 * it), so the fsync before the object is stored waits for the last stretch only (0.7 s -> 0.05-0.1 s
 * per GiB here). Plain JavaScript, evaluated: nothing to resolve or compile when the worker starts.
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
    case 'restart':
      fs.ftruncateSync(fd, 0);
      pos = 0;
      synced = 0;
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
// A write is hashed at once and answered (with its buffer) once its bytes are in the file, so the
// next buffer is hashed while this one is written. Answers go out in the order of the messages; any
// other operation waits for every write before it.
function write(m) {
  const buf = Buffer.from(m.buf, 0, m.len);
  const at = pos;
  pos += m.len;
  const written = writeAll(buf, m.len, at);
  written.catch(() => undefined);
  hash.update(buf);
  return written.then(() => {
    // Every EARLY_SYNC bytes the disk is asked to catch up, in the background (writes go on): the
    // fsync before the object is stored then has only the last stretch to wait for.
    if (!syncing && at + m.len - synced >= EARLY_SYNC) {
      syncing = true;
      const upto = at + m.len;
      fs.fdatasync(fd, () => {
        syncing = false;
        synced = upto;
      });
    }
    return [{ written: at + m.len, buf: m.buf }, [m.buf]];
  });
}
const EARLY_SYNC = 64 << 20;
let syncing = false;
let synced = 0;
let queue = Promise.resolve();
let answers = Promise.resolve();
function answer(p, closing) {
  answers = answers.then(() => p).then(
    (a) => {
      parentPort.postMessage(a[0], a[1] || []);
      if (closing) parentPort.close();
    },
    (err) => parentPort.postMessage({ error: err.message, code: err.code }),
  );
  return answers;
}
parentPort.on('message', (m) => {
  queue = queue.then(async () => {
    if (m.op === 'write') {
      let p;
      try {
        p = write(m);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.catch(() => undefined);
      answer(p);
      return;
    }
    await answers;
    await answer(Promise.resolve().then(() => handle(m)), m.op === 'close');
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
 * Large objects: the event loop only copies the received bytes into the part's buffers and hands
 * them (transferred, not copied) to a worker that writes and hashes them.
 */
class WorkerPart extends BufferedPart {
  private readonly answers: { resolve(a: Answer): void; reject(e: Error): void }[] = [];

  private constructor(
    private readonly worker: Worker,
    onWritten: (bytes: number) => void,
  ) {
    super(BUF_BYTES, onWritten);
    worker.on('message', (a: Answer) => {
      const waiter = this.answers.shift();
      if (a.error !== undefined) {
        const err = Object.assign(new Error(a.error), { code: a.code });
        this.fail(err);
        waiter?.reject(err);
      } else waiter?.resolve(a);
    });
    worker.on('error', (err) => this.stop(err));
    worker.on('exit', () => this.stop(new Error('part file writer stopped')));
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

  private stop(err: Error): void {
    this.fail(err);
    for (const w of this.answers.splice(0)) w.reject(err);
  }

  private send(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<Answer>((resolve, reject) => this.answers.push({ resolve, reject }));
    this.worker.postMessage(msg, transfer);
    p.catch(() => undefined);
    return p;
  }

  protected async writeBuffer(buf: Buffer, len: number): Promise<Buffer> {
    const ab = buf.buffer as ArrayBuffer;
    const a = await this.send({ op: 'write', buf: ab, len }, [ab]);
    return Buffer.from(a.buf!);
  }

  async restart(): Promise<void> {
    this.dropBuffered();
    await this.flush().catch(() => undefined);
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
