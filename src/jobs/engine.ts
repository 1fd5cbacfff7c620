import crypto from 'node:crypto';
import os from 'node:os';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AppError, invalid } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import { retryInput } from './retry.js';
import { isFinished, type FinalState, type JobContext, type JobFilter, type JobHandler, type JobKindOptions, type JobLogLine, type JobProgress, type JobRecord } from './types.js';

export interface JobEngineDeps {
  db: Db;
  log: Logger;
  /** This process's name in leases and logs (default: host, pid and a random part). */
  replicaId?: string;
  /** Jobs run at once by this process (default 2). */
  concurrency?: number;
  /** Lease length; renewed every third of it while a job runs (default 30 s). */
  leaseMs?: number;
  /** How often the queue and other replicas' changes are polled (default 1 s). */
  pollMs?: number;
  /** The app's metrics registry. */
  registry?: Registry;
  /** Finished jobs older than this are deleted with their logs, checked about once an hour (0 or absent: kept for ever). */
  retentionMs?: number;
}

/** Why a running attempt was aborted. */
type AbortReason = 'cancel' | 'lease' | 'shutdown';

interface Run {
  job: JobRecord;
  ctl: AbortController;
  reason: AbortReason | null;
  logBuf: JobLogLine[];
  seq: number;
  dirty: boolean;
  lastFlush: number;
  flushTimer: NodeJS.Timeout | null;
  flushing: Promise<void>;
  done: Promise<void>;
  /** What the handler reported, stored when the job completes. */
  result: Record<string, unknown> | null;
}

const LOG_KEEP = 1000;
const LINE_MAX = 4096;
/** Progress events of one job reach subscribers at most this often (state changes at once). */
const EVENT_INTERVAL_MS = 250;
/** Progress is stored at most this often. */
const PERSIST_INTERVAL_MS = 1000;
/** How far back a change poll looks beyond the previous one (clock differences between replicas). */
const WATCH_SLACK_MS = 5000;
const MAX_PARAMS_BYTES = 64 * 1024;
const MAX_PATHS = 10_000;
const MAX_RESULT_BYTES = 16 * 1024;
/** How often old finished jobs are looked for, and how many go at a time. */
const PRUNE_INTERVAL_MS = 3_600_000;
const PRUNE_BATCH = 1000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
const signature = (j: JobRecord) => `${j.state}|${j.bytesDone}|${j.bytesTotal}|${j.filesDone}|${j.filesTotal}|${j.attempts}|${j.cancelRequested}|${j.error ?? ''}`;

/**
 * The background job engine. Jobs are rows in the database; each process runs a bounded pool that
 * claims queued jobs by lease (a compare-and-swap in the db), renews the lease while a job runs and
 * takes over jobs whose lease expired (their replica died). Handlers are registered by kind; a
 * process claims only kinds it has a handler for.
 */
export class JobEngine {
  readonly replicaId: string;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly kinds = new Map<string, { handler: JobHandler; options: JobKindOptions }>();
  private readonly running = new Map<string, Run>();
  private readonly listeners = new Set<(job: JobRecord) => void>();
  /** Per job: the last event sent to subscribers, and a later one held back by the rate limit. */
  private readonly events = new Map<string, { sentAt: number; sig: string; pending: JobRecord | null; timer: NodeJS.Timeout | null }>();
  private readonly closeCtl = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private started = false;
  private lastWatch = 0;
  private readonly retentionMs: number;
  /** When old jobs were last pruned (the first prune comes a minute after start). */
  private lastPrune = 0;
  private readonly metrics: { transitions: Counter<'kind' | 'state'>; running: Gauge<'kind'>; duration: Histogram<'kind' | 'state'> } | null;

  constructor(deps: JobEngineDeps) {
    this.db = deps.db;
    this.log = deps.log;
    this.replicaId = (deps.replicaId ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`).slice(0, 128);
    this.concurrency = Math.max(1, deps.concurrency ?? 2);
    this.leaseMs = Math.max(300, deps.leaseMs ?? 30_000);
    this.pollMs = Math.max(20, deps.pollMs ?? 1000);
    this.metrics = deps.registry ? createJobMetrics(deps.registry) : null;
    this.retentionMs = Math.max(0, deps.retentionMs ?? 0);
    this.lastPrune = Date.now() - PRUNE_INTERVAL_MS + 60_000;
  }

  /**
   * Deletes finished jobs older than the retention (webhook deliveries alone make one job each), in
   * batches; answers how many went. Every replica may do it: deleting is idempotent.
   */
  async prune(now = Date.now()): Promise<number> {
    if (this.retentionMs <= 0) return 0;
    const before = new Date(now - this.retentionMs);
    let total = 0;
    for (;;) {
      const n = await this.db.jobs.prune(before, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH || this.closeCtl.signal.aborted) break;
    }
    if (total > 0) this.log.info({ pruned: total, before: before.toISOString() }, 'old finished jobs deleted');
    return total;
  }

  /** Aborted when the engine closes (live event streams end on it). */
  get closing(): AbortSignal {
    return this.closeCtl.signal;
  }

  register(kind: string, handler: JobHandler, options: JobKindOptions = {}): void {
    if (!/^[a-z][a-z0-9._-]{0,63}$/.test(kind)) throw new Error(`invalid job kind '${kind}'`);
    if (this.kinds.has(kind)) throw new Error(`job kind '${kind}' is already registered`);
    this.kinds.set(kind, { handler, options });
    this.kick();
  }

  /** The kinds this process runs, and which of them the admin API may enqueue. */
  kindOptions(kind: string): JobKindOptions | null {
    return this.kinds.get(kind)?.options ?? null;
  }

  async enqueue(input: { kind: string; repoId?: string | null; repoLabel?: string | null; revision?: string | null; paths?: string[]; params?: Record<string, unknown>; retryOf?: string | null }): Promise<JobRecord> {
    if (!/^[a-z][a-z0-9._-]{0,63}$/.test(input.kind)) throw invalid('BadJob', `invalid job kind '${input.kind}'`);
    if ((input.repoLabel ?? '').length > 300) throw invalid('BadJob', 'repoLabel is longer than 300 characters');
    if ((input.revision ?? '').length > 255) throw invalid('BadJob', 'revision is longer than 255 characters');
    const paths = input.paths ?? [];
    if (paths.length > MAX_PATHS || paths.some((p) => typeof p !== 'string' || p.length > 4096)) throw invalid('BadJob', `paths: at most ${MAX_PATHS} strings of at most 4096 characters`);
    if (Buffer.byteLength(JSON.stringify(input.params ?? {})) > MAX_PARAMS_BYTES) throw invalid('BadJob', `params are larger than ${MAX_PARAMS_BYTES} bytes`);
    const job = await this.db.jobs.create({ ...input, paths });
    this.metrics?.transitions.inc({ kind: job.kind, state: 'queued' });
    this.notify(job);
    this.kick();
    return job;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.db.jobs.get(id);
  }

  list(filter: JobFilter): Promise<JobRecord[]> {
    return this.db.jobs.list(filter);
  }

  logOf(id: string, opts: { after?: number } = {}): Promise<JobLogLine[]> {
    return this.db.jobs.log(id, opts);
  }

  /** Queued: cancelled at once. Running (here or on another replica): its signal aborts and it ends cancelled. */
  async cancel(id: string): Promise<JobRecord> {
    const job = await this.db.jobs.requestCancel(id);
    if (!job) throw new AppError('not_found', 'JobNotFound', `no job ${id}`);
    const run = this.running.get(id);
    if (run && job.state === 'running') this.abort(run, 'cancel');
    if (job.state === 'cancelled') this.metrics?.transitions.inc({ kind: job.kind, state: 'cancelled' });
    this.notify(job);
    return job;
  }

  /** A failed or cancelled job runs again as a new queued job (same kind, repo, revision, paths, params; retryOf = the old id). */
  async retry(id: string): Promise<JobRecord> {
    const old = await this.db.jobs.get(id);
    if (!old) throw new AppError('not_found', 'JobNotFound', `no job ${id}`);
    return this.enqueue(retryInput(old));
  }

  /** Every state or progress change this replica sees (its own, and others' through the db poll), rate-limited per job. */
  subscribe(listener: (job: JobRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the job once it has ended. */
  waitFor(id: string, signal?: AbortSignal): Promise<JobRecord> {
    return new Promise<JobRecord>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | null = null;
      const finish = (err: unknown, job?: JobRecord) => {
        if (settled) return;
        settled = true;
        unsubscribe();
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(job!);
      };
      const onAbort = () => finish(signal!.reason ?? new Error('aborted'));
      const unsubscribe = this.subscribe((j) => {
        if (j.id === id && isFinished(j.state)) finish(null, j);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return onAbort();
      // The db is the truth: also look now and then (a change can happen before the subscription).
      const look = () => {
        this.db.jobs.get(id).then(
          (j) => {
            if (!j) return finish(new AppError('not_found', 'JobNotFound', `no job ${id}`));
            if (isFinished(j.state)) return finish(null, j);
            if (!settled) timer = setTimeout(look, Math.max(this.pollMs, 200)).unref();
          },
          (err) => finish(err),
        );
      };
      look();
    });
  }

  start(): void {
    if (this.started || this.closeCtl.signal.aborted) return;
    this.started = true;
    this.log.info({ replica: this.replicaId, concurrency: this.concurrency, leaseMs: this.leaseMs, kinds: [...this.kinds.keys()] }, 'job engine started');
    this.kick();
  }

  /** Stops claiming, aborts running handlers and gives their jobs back to the queue at once. */
  async close(): Promise<void> {
    if (this.closeCtl.signal.aborted) return;
    this.closeCtl.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
    const runs = [...this.running.values()];
    for (const run of runs) this.abort(run, 'shutdown');
    // Handlers that honour their signal end quickly; the others lose their lease here anyway.
    await Promise.race([Promise.all(runs.map((r) => r.done)), sleep(10_000)]);
    for (const run of this.running.values()) await this.db.jobs.release(run.job.id, this.replicaId, this.progressOf(run.job)).catch(() => undefined);
    for (const e of this.events.values()) if (e.timer) clearTimeout(e.timer);
    this.events.clear();
    this.listeners.clear();
  }

  // ---- the loop -------------------------------------------------------------------------------

  /** Polls now (an enqueue, a finished job, a new kind), or right after the poll under way. */
  private kick(): void {
    if (!this.started || this.closeCtl.signal.aborted) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ticking = this.tick().finally(() => {
      this.ticking = null;
      if (this.closeCtl.signal.aborted) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        this.timer = setTimeout(() => this.kick(), this.pollMs);
        this.timer.unref();
      }
    });
  }

  private async tick(): Promise<void> {
    try {
      await this.watch();
      if (this.retentionMs > 0 && Date.now() - this.lastPrune >= PRUNE_INTERVAL_MS) {
        this.lastPrune = Date.now();
        await this.prune().catch((err: unknown) => this.log.warn({ err }, 'deleting old finished jobs failed'));
      }
      while (this.running.size < this.concurrency && !this.closeCtl.signal.aborted) {
        const job = await this.db.jobs.claim({ kinds: [...this.kinds.keys()], owner: this.replicaId, leaseMs: this.leaseMs });
        if (!job) break;
        if (this.closeCtl.signal.aborted) {
          await this.db.jobs.release(job.id, this.replicaId);
          break;
        }
        this.begin(job);
      }
    } catch (err) {
      this.log.warn({ err }, 'job poll failed');
    }
  }

  /** Changes made elsewhere (other replicas, the CLI): to subscribers, and cancel requests to the jobs running here. */
  private async watch(): Promise<void> {
    if (this.listeners.size === 0 && this.running.size === 0) {
      this.lastWatch = 0;
      return;
    }
    const now = Date.now();
    const since = new Date((this.lastWatch || now) - WATCH_SLACK_MS - this.pollMs);
    this.lastWatch = now;
    const changed = await this.db.jobs.changedSince(since, 500);
    for (const job of changed) {
      const run = this.running.get(job.id);
      if (run) {
        if (job.cancelRequested && job.state === 'running' && !run.reason) {
          run.job.cancelRequested = true;
          this.abort(run, 'cancel');
        }
        continue; // this replica knows its own jobs' progress better than the db
      }
      this.notify(job);
    }
    // Forget rate-limit state of jobs nobody changed for a while.
    for (const [id, e] of this.events) if (!e.pending && now - e.sentAt > 10 * 60_000) this.events.delete(id);
  }

  // ---- one attempt ----------------------------------------------------------------------------

  private begin(job: JobRecord): void {
    const entry = this.kinds.get(job.kind)!;
    const run: Run = { job, ctl: new AbortController(), reason: null, logBuf: [], seq: 0, dirty: false, lastFlush: Date.now(), flushTimer: null, flushing: Promise.resolve(), done: Promise.resolve(), result: null };
    this.running.set(job.id, run);
    this.metrics?.transitions.inc({ kind: job.kind, state: 'running' });
    this.metrics?.running.inc({ kind: job.kind });
    run.done = this.execute(run, entry.handler, entry.options).catch((err: unknown) => this.log.error({ err, job: job.id }, 'job bookkeeping failed'));
  }

  private async execute(run: Run, handler: JobHandler, options: JobKindOptions = {}): Promise<void> {
    const { job } = run;
    const started = process.hrtime.bigint();
    const log = this.log.child({ job: job.id, kind: job.kind });
    run.seq = await this.db.jobs.lastLogSeq(job.id).catch(() => 0);
    this.logLine(run, `attempt ${job.attempts} on replica ${this.replicaId}`);
    log.info({ attempt: job.attempts, repo: job.repoLabel ?? job.repoId ?? undefined }, 'job started');
    this.notify({ ...job });
    const heartbeat = setInterval(() => this.flush(run), Math.max(100, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    const ctx: JobContext = {
      job,
      signal: run.ctl.signal,
      log: (line) => this.logLine(run, line),
      progress: (p) => this.progress(run, p),
      result: (r) => {
        if (Buffer.byteLength(JSON.stringify(r)) > MAX_RESULT_BYTES) throw new Error(`a job's result is larger than ${MAX_RESULT_BYTES} bytes`);
        run.result = r;
      },
    };
    let error: unknown = null;
    let ok = false;
    try {
      await handler(ctx);
      ok = true;
    } catch (err) {
      error = err;
    }
    clearInterval(heartbeat);
    if (run.flushTimer) clearTimeout(run.flushTimer);
    run.flushTimer = null;
    await run.flushing;

    const reason = run.reason;
    let final: FinalState | null = null;
    let message: string | null = null;
    if (reason === 'lease') {
      log.warn({ replica: this.replicaId }, 'lost the lease of a running job: another replica has taken it over');
    } else if (reason === 'shutdown') {
      this.logLine(run, `interrupted by shutdown of replica ${this.replicaId}; back in the queue`);
      await this.writeLog(run);
      const released = await this.db.jobs.release(job.id, this.replicaId, this.progressOf(job)).catch(() => false);
      if (released) this.notify({ ...job, state: 'queued', leaseOwner: null, leaseExpiresAt: null });
    } else if (!reason && !ok && options.retry && job.attempts < options.retry.attempts && (options.retry.retryable?.(error) ?? true)) {
      // Tried again later: back to the queue with its error, claimable after the backoff.
      const wait = Math.max(0, Math.round(options.retry.backoffMs(job.attempts)));
      const runAfter = new Date(Date.now() + wait);
      message = errorMessage(error);
      log.info({ err: message, attempt: job.attempts, retryInMs: wait }, 'job attempt failed; retrying later');
      this.logLine(run, `attempt ${job.attempts} failed: ${message}; next attempt in ${wait} ms`);
      await this.writeLog(run);
      const queued = await this.db.jobs.retryLater(job.id, this.replicaId, runAfter, message, this.progressOf(job)).catch((err: unknown) => {
        log.error({ err }, 'could not queue the next attempt of a job');
        return false;
      });
      if (queued) this.notify({ ...job, state: 'queued', error: message, runAfter, leaseOwner: null, leaseExpiresAt: null });
      setTimeout(() => this.kick(), wait + 10).unref();
    } else {
      final = reason === 'cancel' ? 'cancelled' : ok ? 'completed' : 'failed';
      message = final === 'failed' ? errorMessage(error) : null;
      if (final === 'failed') log.warn({ err: error }, 'job failed');
      this.logLine(run, final === 'failed' ? `failed: ${message}` : final);
      await this.writeLog(run);
      const ended = await this.db.jobs.finish(job.id, this.replicaId, final, message, this.progressOf(job), final === 'completed' ? run.result : null).catch((err: unknown) => {
        log.error({ err }, 'could not record the end of a job');
        return null;
      });
      if (ended) this.notify(ended);
      else final = null;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    log.info({ outcome: final ?? (reason === 'shutdown' ? 'released' : reason === 'lease' ? 'lease lost' : 'retry queued'), seconds: Math.round(seconds * 1000) / 1000 }, 'job ended');
    this.metrics?.running.dec({ kind: job.kind });
    if (final) {
      this.metrics?.transitions.inc({ kind: job.kind, state: final });
      this.metrics?.duration.observe({ kind: job.kind, state: final }, seconds);
    }
    this.running.delete(job.id);
    this.kick();
  }

  private abort(run: Run, reason: AbortReason): void {
    if (run.reason) return;
    run.reason = reason;
    run.ctl.abort(new AppError('unavailable', 'JobAborted', reason === 'cancel' ? 'the job was cancelled' : reason === 'lease' ? 'the job was taken over by another replica' : 'the server is shutting down'));
  }

  private logLine(run: Run, text: string): void {
    const at = new Date();
    for (const part of String(text).split(/\r?\n/)) {
      run.logBuf.push({ seq: ++run.seq, at, line: part.length > LINE_MAX ? `${part.slice(0, LINE_MAX)}...` : part });
    }
    if (run.logBuf.length > LOG_KEEP) run.logBuf.splice(0, run.logBuf.length - LOG_KEEP);
    this.scheduleFlush(run);
  }

  private progress(run: Run, p: JobProgress): void {
    const j = run.job;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);
    const set = <K extends keyof JobProgress>(k: K, nullable: boolean) => {
      if (!(k in p)) return;
      const v = p[k];
      if (v === null && nullable) (j as unknown as Record<string, unknown>)[k] = null;
      else if (num(v) !== undefined) (j as unknown as Record<string, unknown>)[k] = num(v);
    };
    set('bytesDone', false);
    set('bytesTotal', true);
    set('filesDone', false);
    set('filesTotal', true);
    j.updatedAt = new Date();
    run.dirty = true;
    this.notify({ ...j });
    this.scheduleFlush(run);
  }

  private progressOf(j: JobRecord): JobProgress {
    return { bytesDone: j.bytesDone, bytesTotal: j.bytesTotal, filesDone: j.filesDone, filesTotal: j.filesTotal };
  }

  private scheduleFlush(run: Run): void {
    if (run.flushTimer || run.reason === 'lease') return;
    const wait = Math.max(0, run.lastFlush + PERSIST_INTERVAL_MS - Date.now());
    run.flushTimer = setTimeout(() => {
      run.flushTimer = null;
      this.flush(run);
    }, wait);
    run.flushTimer.unref();
  }

  /** Renews the lease with the progress and log lines so far (one at a time per job). */
  private flush(run: Run): void {
    run.flushing = run.flushing.then(async () => {
      if (run.reason === 'lease') return;
      run.lastFlush = Date.now();
      try {
        await this.writeLog(run);
        const dirty = run.dirty;
        run.dirty = false;
        const r = await this.db.jobs.heartbeat(run.job.id, this.replicaId, this.leaseMs, dirty ? this.progressOf(run.job) : undefined);
        if (!r.held) this.abort(run, 'lease');
        else if (r.cancelRequested && !run.reason) {
          run.job.cancelRequested = true;
          this.abort(run, 'cancel');
        }
      } catch (err) {
        // A db hiccup: the next heartbeat tries again; the lease lasts three of them.
        run.dirty = true;
        this.log.warn({ err, job: run.job.id }, 'job heartbeat failed');
      }
    });
  }

  private async writeLog(run: Run): Promise<void> {
    if (run.logBuf.length === 0 || run.reason === 'lease') return;
    const lines = run.logBuf.splice(0);
    try {
      await this.db.jobs.appendLog(run.job.id, lines, LOG_KEEP);
    } catch (err) {
      run.logBuf.unshift(...lines.slice(-LOG_KEEP));
      throw err;
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  /** To subscribers: a new state at once, progress at most every EVENT_INTERVAL_MS per job (the latest wins). */
  private notify(job: JobRecord): void {
    const now = Date.now();
    const sig = signature(job);
    let e = this.events.get(job.id);
    if (!e) {
      e = { sentAt: 0, sig: '', pending: null, timer: null };
      this.events.set(job.id, e);
    }
    if (e.sig === sig) {
      // Back to what subscribers last saw: nothing held back is news any more.
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      e.pending = null;
      return;
    }
    const due = e.sentAt + EVENT_INTERVAL_MS - now;
    // State changes go out at once (there are few); progress at most every EVENT_INTERVAL_MS.
    if (due <= 0 || e.sig.split('|', 1)[0] !== job.state) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      e.pending = null;
      this.emit(e, job, sig);
      return;
    }
    e.pending = job;
    if (!e.timer) {
      const entry = e;
      e.timer = setTimeout(() => {
        entry.timer = null;
        const next = entry.pending;
        entry.pending = null;
        if (next) this.emit(entry, next, signature(next));
      }, due);
      e.timer.unref();
    }
  }

  private emit(e: { sentAt: number; sig: string }, job: JobRecord, sig: string): void {
    e.sentAt = Date.now();
    e.sig = sig;
    for (const l of [...this.listeners]) {
      try {
        l(job);
      } catch (err) {
        this.log.warn({ err }, 'job event listener failed');
      }
    }
  }
}

function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : typeof err === 'string' ? err : 'the job failed';
  return (m || 'the job failed').slice(0, 4000);
}

function createJobMetrics(registry: Registry) {
  const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    transitions: reuse(
      'packhub_jobs_total',
      () => new Counter({ name: 'packhub_jobs_total', help: 'Jobs that entered a state on this replica (queued, running, completed, failed, cancelled), by kind', labelNames: ['kind', 'state'] as const, registers: [registry] }),
    ),
    running: reuse('packhub_jobs_running', () => new Gauge({ name: 'packhub_jobs_running', help: 'Jobs running on this replica', labelNames: ['kind'] as const, registers: [registry] })),
    duration: reuse(
      'packhub_job_duration_seconds',
      () =>
        new Histogram({
          name: 'packhub_job_duration_seconds',
          help: 'Duration of job attempts that ended on this replica, by kind and outcome',
          labelNames: ['kind', 'state'] as const,
          buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
          registers: [registry],
        }),
    ),
  };
}
