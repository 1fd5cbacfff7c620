import crypto from 'node:crypto';
import fsp from 'node:fs/promises';

/**
 * A pack being received into a file, so that index-pack can read it while it arrives (as
 * `git index-pack --stdin` does): it knows how many bytes are in the file, waits for more, and
 * hashes every byte but the last 20 (the trailer, once the stream ends) on the way in.
 */
export class IncomingPack {
  /** Bytes in the file. */
  written = 0;
  /** True once the whole stream is in the file. */
  done = false;
  private failure: Error | null = null;
  private waiters: { n: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly hash = crypto.createHash('sha1');
  /** The last (up to) 20 bytes seen, not hashed yet: they may be the trailer. */
  private tail = Buffer.alloc(0);
  private sum: Buffer | null = null;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  /** Creates (or empties) the file, so readers can open it before the first byte arrives. */
  static async create(path: string): Promise<IncomingPack> {
    return new IncomingPack(path, await fsp.open(path, 'w'));
  }

  /**
   * Copies `source` into the file. `check(total)` may throw to stop (size limits): the rest of the
   * source is still read (and dropped) so the client gets an answer, and the failure is kept for
   * readers and rethrown at the end. `stop()` does the same from outside (the reader failed).
   */
  async receive(source: AsyncIterable<Buffer>, check: (total: number) => void = () => undefined): Promise<number> {
    const fh = this.fh;
    let total = 0;
    try {
      for await (const chunk of source) {
        total += chunk.length;
        if (this.failure) continue;
        try {
          check(total);
          for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        } catch (err) {
          this.fail(err as Error);
          continue;
        }
        this.hashIn(chunk);
        this.written += chunk.length;
        this.wake();
      }
    } catch (err) {
      this.fail(err as Error); // the client went away
      throw err;
    } finally {
      await fh.close();
    }
    if (this.failure) throw this.failure;
    this.sum = this.hash.digest();
    this.done = true;
    this.wake();
    return total;
  }

  /** Readers gave up: keep draining the source, write nothing more. */
  stop(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure);
  }

  private hashIn(chunk: Buffer): void {
    if (chunk.length >= 20) {
      this.hash.update(this.tail);
      this.hash.update(chunk.subarray(0, chunk.length - 20));
      this.tail = Buffer.from(chunk.subarray(chunk.length - 20));
    } else {
      const both = Buffer.concat([this.tail, chunk]);
      this.hash.update(both.subarray(0, Math.max(0, both.length - 20)));
      this.tail = both.subarray(Math.max(0, both.length - 20));
    }
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.done || this.written >= w.n);
    this.waiters = this.waiters.filter((w) => !(this.done || this.written >= w.n));
    for (const w of ready) w.resolve();
  }

  /** Resolves once the file holds `n` bytes or the stream has ended; rejects if receiving failed. */
  wait(n: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.done || this.written >= n) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ n, resolve, reject }));
  }

  /** SHA-1 of every byte but the last 20 (what the trailer must be); once done. */
  digest(): Buffer {
    if (!this.sum) throw new Error('the pack is still arriving');
    return this.sum;
  }
}
