import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sendRange, type ReadAt } from '../http/send-file.js';
import type { Logger } from '../core/logger.js';
import type { RepoType } from '../db/db.js';
import { lfsKey, type ContentStore } from '../lfs/content-store.js';
import type { LfsRecords } from '../lfs/records.js';
import { openPart } from './part-file.js';
import { encodePath, repoPath, UpstreamError, type Upstream } from './upstream.js';

/** Where an LFS object can be downloaded from: a file of a commit of an upstream repository. */
export interface FillSource {
  type: RepoType;
  upstreamId: string;
  commit: string;
  path: string;
}

export interface FillOptions {
  /** Cut a body that sends nothing for this long, and resume it. */
  inactivityMs?: number;
  /** Attempts without a single new byte before the download fails. */
  maxStalls?: number;
}

/** Bytes read from the part file at a time, for clients that follow a fill. */
const READ_CHUNK = 1 << 20;

/**
 * One download of an LFS object from the upstream into storage, shared by everyone who wants the
 * object meanwhile (a job, several clients). The bytes go to a part file in the cache at the
 * upstream's speed; clients read that file as it grows, the last byte held back until the whole
 * object's size and SHA-256 are checked, so a client never receives a complete copy of wrong bytes
 * (it gets that byte as soon as the hash matches, while the file is still being synced and stored).
 * After a cut the download resumes with `Range` from the bytes already in the part file, also after
 * a restart of the process (the file is hashed again first). Wrong bytes are thrown away and fetched
 * once more from scratch; a second failure fails the fill. Only verified bytes are stored.
 */
export class Fill {
  /** Bytes in the part file, in order from the start. */
  written = 0;
  state: 'running' | 'stored' | 'failed' = 'running';
  /** All the bytes are in the part file and their SHA-256 is the oid: readers may have the last byte. */
  verified = false;
  error: Error | null = null;
  /** The last error the download recovered from (a cut, an unreachable upstream), for callers that wait. */
  lastError: Error | null = null;
  /** Upstream bytes received by this fill (resumes and retries included). */
  received = 0;
  readonly done: Promise<void>;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  /** Jobs waiting on it that may give it up (clients never cancel a fill). */
  private holders = 0;
  private anchored = false;

  constructor(
    readonly oid: string,
    readonly size: number,
    readonly partPath: string,
    private readonly content: ContentStore,
    run: (fill: Fill, signal: AbortSignal) => Promise<void>,
  ) {
    this.done = run(this, this.controller.signal).then(
      () => {
        this.state = 'stored';
        this.wake();
      },
      (err: Error) => {
        this.state = 'failed';
        this.error = err;
        this.wake();
        throw err;
      },
    );
    this.done.catch(() => undefined);
  }

  /** The download made progress (or restarted from `bytes`). */
  advance(bytes: number, received = 0): void {
    this.written = bytes;
    this.received += received;
    this.wake();
  }

  /** Resolves when the first bytes are in the part file, the fill ended, it hit an error, or after `ms`. */
  async started(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.state === 'running' && this.written === 0 && !this.lastError && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.changed(), new Promise<void>((r) => (timer = setTimeout(r, Math.min(250, until - Date.now()))))]);
      clearTimeout(timer);
    }
  }

  /** Someone that must not be cancelled (a client) follows the fill: it runs to its end. */
  anchor(): void {
    this.anchored = true;
  }

  /** A job waits on the fill; when every job let go of it and no client follows it, it stops. */
  hold(signal?: AbortSignal): void {
    if (!signal) return this.anchor();
    this.holders++;
    signal.addEventListener(
      'abort',
      () => {
        if (--this.holders === 0 && !this.anchored && this.state === 'running') this.abort(new Error('cancelled'));
      },
      { once: true },
    );
  }

  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Sends the object's bytes (or a range of them) to `out` as they arrive, then ends it; the same
   * rules as `stream`. On a store of local files through reused buffers (src/http/send-file.ts):
   * nothing allocated per read. Rejects (and leaves `out` to the caller) when the fill fails.
   */
  async sendTo(out: Writable, range: { start: number; end: number } | null = null): Promise<void> {
    if (!this.content.blobs.openFile) {
      await pipeline(this.stream(range), out);
      return;
    }
    this.anchor();
    const end = range ? range.end : this.size - 1;
    let fh: fsp.FileHandle | null = null;
    const read: ReadAt = async (buf, pos) => {
      for (;;) {
        const state = this.state as Fill['state'];
        if (state === 'failed') throw this.error ?? new Error('download failed');
        if (!fh) {
          // The part file stays readable through its descriptor when it is moved into storage.
          if (state === 'stored') fh = await this.content.openFile(this.oid);
          else {
            try {
              fh = await fsp.open(this.partPath, 'r');
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
              // Moved into storage between the check and the open: read it there once it is stored.
              if (this.state === 'running') await this.changed();
            }
          }
          continue;
        }
        const limit = state === 'stored' || this.verified ? end + 1 : Math.min(end + 1, this.written, this.size - 1);
        if (pos >= limit) {
          await this.changed();
          continue;
        }
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, limit - pos), pos);
        if (bytesRead > 0) return bytesRead;
        // The file was started over (the upstream ignored a resume); wait for it to grow again.
        await this.changed();
      }
    };
    try {
      await sendRange(out, read, range?.start ?? 0, end);
    } finally {
      await (fh as fsp.FileHandle | null)?.close();
    }
    out.end();
  }

  /**
   * The object's bytes (or a range of them) as they arrive. The last byte of the object comes only
   * once it is verified; on failure the stream errors (a client then sees a cut, never a complete
   * wrong file).
   */
  stream(range: { start: number; end: number } | null = null): Readable {
    this.anchor();
    const start = range?.start ?? 0;
    const end = range ? range.end : this.size - 1;
    const fill = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      if (fill.state === 'stored') {
        yield* await fill.content.open(fill.oid, range ?? undefined);
        return;
      }
      // The part file stays readable through this descriptor when it is moved into storage.
      let fh: fsp.FileHandle | null = null;
      try {
        let pos = start;
        const state = () => fill.state as Fill['state'];
        while (pos <= end) {
          if (state() === 'failed') throw fill.error ?? new Error('download failed');
          if (state() === 'stored' && !fh) {
            yield* await fill.content.open(fill.oid, { start: pos, end });
            return;
          }
          const limit = state() === 'stored' || fill.verified ? end + 1 : Math.min(end + 1, fill.written, fill.size - 1);
          if (pos >= limit) {
            await fill.changed();
            continue;
          }
          if (!fh) {
            try {
              fh = await fsp.open(fill.partPath, 'r');
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
              // Moved into storage between the check and the open: read it there once it is stored.
              if (state() === 'running') await fill.changed();
              continue;
            }
          }
          const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, limit - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) {
            // The file was started over (the upstream ignored a resume); wait for it to grow again.
            await fill.changed();
            continue;
          }
          pos += bytesRead;
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await fh?.close();
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }
}

/**
 * The fills of this process, one per object at a time. (Replicas do not share fills: two replicas
 * asked for the same cold object at once each download it; the stored result is the same.)
 */
/** How long a stored fill stays joinable after it ended (see LfsFills.fill). */
const STORED_FILL_LINGER_MS = 60_000;

export class LfsFills {
  private readonly fills = new Map<string, Fill>();
  private readonly opts: Required<FillOptions>;
  private closed = false;

  constructor(
    private readonly deps: { content: ContentStore; records: LfsRecords; upstream: Upstream; partsDir: string; log: Logger },
    opts: FillOptions = {},
  ) {
    this.opts = { inactivityMs: 60_000, maxStalls: 8, ...opts };
  }

  /** The running fill of an object, if any. */
  active(oid: string): Fill | undefined {
    const f = this.fills.get(oid);
    return f?.state === 'running' ? f : undefined;
  }

  /** Starts the download of an object, or joins the one running. */
  fill(oid: string, size: number, source: FillSource): Fill {
    if (this.closed) throw new UpstreamError('the server is shutting down', null, true);
    const running = this.fills.get(oid);
    if (running) return running;
    const partPath = path.join(this.deps.partsDir, `${oid}.part`);
    const fill = new Fill(oid, size, partPath, this.deps.content, (f, signal) => this.download(f, source, signal));
    this.fills.set(oid, fill);
    void fill.done
      .catch(() => undefined)
      .finally(() => {
        // A failed fill goes at once (the next request starts over). A stored one stays joinable a
        // while: a request that comes before whoever started it has linked the object to its
        // repository joins it and is served from storage, instead of downloading it again.
        if (fill.state !== 'stored') return void this.fills.delete(oid);
        const linger = setTimeout(() => this.fills.get(oid) === fill && this.fills.delete(oid), STORED_FILL_LINGER_MS);
        linger.unref();
      });
    return fill;
  }

  /** Stops every fill (part files stay: the next start resumes them). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.fills.values()];
    for (const f of all) f.abort(new Error('server shutting down'));
    await Promise.all(all.map((f) => f.done.catch(() => undefined)));
  }

  private async download(fill: Fill, source: FillSource, signal: AbortSignal): Promise<void> {
    const { upstream, log } = this.deps;
    const { oid, size } = fill;
    const url = upstream.url(`${repoPath(source.type, source.upstreamId)}/resolve/${source.commit}/${encodePath(source.path)}`);
    const where = `${source.upstreamId}@${source.commit.slice(0, 12)}:${source.path}`;
    await fsp.mkdir(this.deps.partsDir, { recursive: true });
    // Written (and hashed) off the event loop for large objects; readers see bytes once written.
    const part = await openPart(fill.partPath, size, (bytes) => fill.advance(bytes));
    // When each phase ended (ms since the start), for the log: where a download spends its time.
    const t0 = performance.now();
    const phases: Record<string, number> = {};
    const mark = (name: string) => (phases[name] = Math.round(performance.now() - t0));
    let chunks = 0;
    try {
      let done = part.written;
      if (done > 0) log.info({ oid, bytes: done }, 'resuming a download from the part file');
      fill.advance(done);
      const restart = async () => {
        await part.restart();
        fill.advance(0);
        done = 0;
      };
      let startedOver = false;
      for (;;) {
        let stalls = 0;
        while (done < size) {
          if (signal.aborted) throw signal.reason;
          const before = done;
          try {
            const res = await upstream.download(url, {
              headers: done > 0 ? { range: `bytes=${done}-` } : {},
              signal,
              onRetry: (err) => {
                fill.lastError = err;
                fill.advance(done);
              },
            });
            if (res.status === 401 || res.status === 403 || res.status === 404) {
              await res.discard();
              throw new UpstreamError(`upstream ${upstream.label} answered ${res.status} for ${where}`, res.status, false);
            }
            if (res.status === 416) {
              // The part file is longer than the object the upstream now serves: start over.
              await res.discard();
              await restart();
              continue;
            }
            if (res.status === 206) {
              const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
              if (!m || Number(m[1]) !== done || (m[3] !== '*' && Number(m[3]) !== size)) {
                await res.discard();
                log.warn({ oid, contentRange: res.headers.get('content-range'), at: done }, 'upstream answered a resume with another range: starting over');
                await restart();
                continue;
              }
            } else if (res.status === 200) {
              if (done > 0) {
                log.info({ oid, at: done }, 'upstream ignored the resume (200): starting over');
                await restart();
              }
            } else {
              await res.discard();
              throw new UpstreamError(`upstream ${upstream.label} answered ${res.status} for ${where}`, res.status, false);
            }
            let pushed = done;
            let lastByte = Date.now();
            const ms = this.opts.inactivityMs;
            const watchdog = setInterval(() => Date.now() - lastByte >= ms && res.abort(new UpstreamError(`upstream sent nothing for ${ms} ms`, null, true)), Math.max(Math.floor(ms / 4), 10));
            try {
              // Each chunk is copied into the part at once (the transport reuses its buffer); the
              // connection pauses while the part has no room.
              await res.readBody((chunk) => {
                lastByte = Date.now();
                if (pushed + chunk.length > size) throw new WrongBytes(`upstream sent more than the ${size} bytes of ${where}`);
                pushed += chunk.length;
                fill.received += chunk.length;
                chunks++;
                return part.push(chunk);
              });
            } finally {
              clearInterval(watchdog);
              // What arrived before a cut is kept: the resume starts after it.
              done = await part.flush();
            }
            if (done < size) throw new UpstreamError(`upstream body of ${where} ended at ${done} of ${size} bytes`, null, true);
          } catch (err) {
            if (signal.aborted) throw signal.reason;
            if (err instanceof WrongBytes) throw err;
            if (err instanceof UpstreamError && !err.retryable) throw err;
            fill.lastError = err as Error;
            fill.advance(done);
            stalls = done > before ? 0 : stalls + 1;
            if (stalls >= this.opts.maxStalls) throw err;
            log.info({ oid, at: done, err: (err as Error).message }, 'download cut: resuming');
            await new Promise((r) => setTimeout(r, upstream.backoff(stalls)));
          }
        }
        mark('received');
        const digest = await part.digest();
        mark('verified');
        if (digest === oid) break;
        await restart();
        if (startedOver) throw new WrongBytes(`upstream sent wrong bytes for ${where}: SHA-256 ${digest}, expected ${oid} (refused twice)`);
        log.warn({ oid, digest, where }, 'upstream sent wrong bytes: refused, downloading again');
        startedOver = true;
      }
      // The bytes are the object's: clients following the fill get the last byte now.
      fill.verified = true;
      fill.advance(size);
      await part.sync();
      mark('synced');
    } catch (err) {
      await part.close();
      if (err instanceof WrongBytes) await fsp.rm(fill.partPath, { force: true });
      throw err;
    }
    await part.close();
    await this.deps.content.blobs.putFile(lfsKey(oid), fill.partPath, { move: true });
    await this.deps.records.recordObject(oid, size);
    await fsp.rm(fill.partPath, { force: true });
    mark('stored');
    log.info({ oid, size, received: fill.received, chunks, ms: phases }, 'LFS object downloaded and verified');
  }
}

/** The upstream's bytes are not the object (size or SHA-256): never stored, never served. */
export class WrongBytes extends UpstreamError {
  constructor(message: string) {
    super(message, null, false);
  }
}
