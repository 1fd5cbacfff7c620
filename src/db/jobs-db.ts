import crypto from 'node:crypto';
import { Brackets, type DataSource } from 'typeorm';
import { JobEntity, JobLogEntity } from './entities/index.js';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const isFinished = (s: JobState) => s === 'completed' || s === 'failed' || s === 'cancelled';

/** A background job as stored (see src/jobs/types.ts for what the fields mean to handlers). */
export interface JobRecord {
  id: string;
  kind: string;
  repoId: string | null;
  repoLabel: string | null;
  revision: string | null;
  paths: string[];
  params: Record<string, unknown>;
  state: JobState;
  bytesDone: number;
  bytesTotal: number | null;
  filesDone: number;
  filesTotal: number | null;
  attempts: number;
  error: string | null;
  /** What the job reported when it completed (a handler's `result()`), else null. */
  result: Record<string, unknown> | null;
  /** Someone asked to cancel it while it ran; the replica running it aborts it and ends it cancelled. */
  cancelRequested: boolean;
  /** The job this one retries, if it was made by a retry. */
  retryOf: string | null;
  /** The replica that ran (or runs) its latest attempt. */
  runBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  /** Queued: not claimed before this time (a retry's backoff). */
  runAfter: Date | null;
}

export type JobProgress = Partial<Pick<JobRecord, 'bytesDone' | 'bytesTotal' | 'filesDone' | 'filesTotal'>>;

export interface JobInput {
  kind: string;
  repoId?: string | null;
  repoLabel?: string | null;
  revision?: string | null;
  paths?: string[];
  params?: Record<string, unknown>;
  retryOf?: string | null;
}

export interface JobFilter {
  kind?: string;
  state?: JobState;
  /** A repository id or label ('model:ns/name'). */
  repoId?: string;
  /** Words in the label, kind or id (case-insensitive). */
  q?: string;
  /** Page size (default 50, at most 500). */
  limit?: number;
  /** The last job of the previous page: the page holds the jobs created before it. */
  before?: string;
}

export interface JobLogLine {
  seq: number;
  at: Date;
  line: string;
}

/**
 * The jobs table. Every write a replica makes to a job it runs is conditional on holding its lease
 * (lease_owner = the replica and state = running), so a replica that lost its lease changes nothing.
 */
export interface JobsDb {
  create(input: JobInput): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  /** Newest first. */
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** Jobs changed at or after `since`, oldest change first (replicas watch each other's changes this way). */
  changedSince(since: Date, limit: number): Promise<JobRecord[]>;
  /**
   * Claims one runnable job of these kinds (queued, or running with an expired lease) by
   * compare-and-swap, oldest first; null when there is none. A running job with an expired lease
   * whose cancellation was asked for ends cancelled instead of running again.
   */
  claim(input: { kinds: string[]; owner: string; leaseMs: number }): Promise<JobRecord | null>;
  /** Renews the lease and stores progress; `held: false` when the lease is no longer this owner's. */
  heartbeat(id: string, owner: string, leaseMs: number, progress?: JobProgress): Promise<{ held: boolean; cancelRequested: boolean }>;
  /** Ends a job this owner runs; null when the lease was lost (nothing changed). */
  finish(id: string, owner: string, state: 'completed' | 'failed' | 'cancelled', error: string | null, progress?: JobProgress, result?: Record<string, unknown> | null): Promise<JobRecord | null>;
  /**
   * A failed attempt of a job that is tried again: back to the queue with its error, claimable from
   * `runAfter` on; false when the lease was lost (nothing changed).
   */
  retryLater(id: string, owner: string, runAfter: Date, error: string, progress?: JobProgress): Promise<boolean>;
  /** Gives a running job back to the queue (shutdown): another replica takes it at once. */
  release(id: string, owner: string, progress?: JobProgress): Promise<boolean>;
  /**
   * Queued: cancelled at once. Running: cancel_requested is set (the replica running it aborts it);
   * running with an expired lease: cancelled at once. Finished: unchanged. Null when there is no such job.
   */
  requestCancel(id: string): Promise<JobRecord | null>;
  /**
   * Deletes up to `limit` jobs that finished before `before`, with their logs; answers how many went.
   * Queued and running jobs are never touched.
   */
  prune(before: Date, limit: number): Promise<number>;
  /** Appends lines and keeps only the last `keep` lines of the job. */
  appendLog(jobId: string, lines: JobLogLine[], keep: number): Promise<void>;
  lastLogSeq(jobId: string): Promise<number>;
  log(jobId: string, opts?: { after?: number; limit?: number }): Promise<JobLogLine[]>;
}

const toJob = (e: JobEntity): JobRecord => ({
  id: e.id,
  kind: e.kind,
  repoId: e.repoId,
  repoLabel: e.repoLabel,
  revision: e.revision,
  paths: e.paths ?? [],
  params: e.params ?? {},
  state: e.state,
  bytesDone: e.bytesDone ?? 0,
  bytesTotal: e.bytesTotal,
  filesDone: e.filesDone ?? 0,
  filesTotal: e.filesTotal,
  attempts: e.attempts,
  error: e.error,
  result: parseResult(e.result),
  cancelRequested: !!e.cancelRequested,
  retryOf: e.retryOf,
  runBy: e.runBy,
  createdAt: e.createdAt,
  startedAt: e.startedAt,
  finishedAt: e.finishedAt,
  updatedAt: e.updatedAt,
  leaseOwner: e.leaseOwner,
  leaseExpiresAt: e.leaseExpiresAt,
  runAfter: e.runAfter ?? null,
});

const progressSet = (p: JobProgress | undefined): Partial<JobEntity> => {
  const out: Partial<JobEntity> = {};
  if (!p) return out;
  if (p.bytesDone !== undefined) out.bytesDone = p.bytesDone;
  if (p.bytesTotal !== undefined) out.bytesTotal = p.bytesTotal;
  if (p.filesDone !== undefined) out.filesDone = p.filesDone;
  if (p.filesTotal !== undefined) out.filesTotal = p.filesTotal;
  return out;
};

function parseResult(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const HELD = "id = :id AND lease_owner = :owner AND state = 'running'";

/**
 * The jobs facade over TypeORM. `write` serializes writes on SQLite (one connection) and is a plain
 * call on PostgreSQL; claims are a conditional UPDATE whose affected-row count decides the winner,
 * which is correct with any number of processes on one PostgreSQL.
 */
export function createJobsDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): JobsDb {
  const jobs = () => ds.getRepository(JobEntity);
  const get = async (id: string) => {
    const e = await jobs().findOneBy({ id });
    return e ? toJob(e) : null;
  };
  const update = (set: Partial<Record<keyof JobEntity, unknown>>, where: string, params: Record<string, unknown>) =>
    write(() => ds.createQueryBuilder().update(JobEntity).set(set as never).where(where, params).execute());

  return {
    async create(input) {
      const now = new Date();
      const e = jobs().create({
        id: crypto.randomUUID(),
        kind: input.kind,
        repoId: input.repoId ?? null,
        repoLabel: input.repoLabel ?? null,
        revision: input.revision ?? null,
        paths: input.paths ?? [],
        params: input.params ?? {},
        state: 'queued',
        cancelRequested: false,
        bytesDone: 0,
        bytesTotal: null,
        filesDone: 0,
        filesTotal: null,
        attempts: 0,
        error: null,
        retryOf: input.retryOf ?? null,
        runBy: null,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        updatedAt: now,
        leaseOwner: null,
        leaseExpiresAt: null,
        runAfter: null,
      });
      await write(() => jobs().insert(e as never));
      return (await get(e.id))!;
    },

    get,

    async list(filter) {
      const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50) || 50, 1), 500);
      const qb = jobs().createQueryBuilder('j');
      if (filter.kind) qb.andWhere('j.kind = :kind', { kind: filter.kind });
      if (filter.state) qb.andWhere('j.state = :state', { state: filter.state });
      if (filter.repoId) qb.andWhere('(j.repo_id = :repo OR j.repo_label = :repo)', { repo: filter.repoId });
      if (filter.q) {
        const like = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        qb.andWhere(
          new Brackets((b) =>
            b
              .where("LOWER(j.repo_label) LIKE :like ESCAPE '\\'", { like })
              .orWhere("LOWER(j.kind) LIKE :like ESCAPE '\\'", { like })
              .orWhere("LOWER(j.id) LIKE :like ESCAPE '\\'", { like }),
          ),
        );
      }
      if (filter.before) {
        const last = await jobs().findOne({ where: { id: filter.before }, select: { id: true, createdAt: true } });
        if (!last) return [];
        const c = last.createdAt.getTime();
        qb.andWhere('(j.created_at < :c OR (j.created_at = :c AND j.id < :bid))', { c, bid: last.id });
      }
      const rows = await qb.orderBy('j.created_at', 'DESC').addOrderBy('j.id', 'DESC').take(limit).getMany();
      return rows.map(toJob);
    },

    async changedSince(since, limit) {
      const rows = await jobs().createQueryBuilder('j').where('j.updated_at >= :t', { t: since.getTime() }).orderBy('j.updated_at', 'ASC').take(limit).getMany();
      return rows.map(toJob);
    },

    async claim({ kinds, owner, leaseMs }) {
      if (kinds.length === 0) return null;
      const t = Date.now();
      // A dead replica's job that someone asked to cancel: it ends here, it does not run again.
      await update(
        { state: 'cancelled', finishedAt: new Date(t), updatedAt: new Date(t), leaseOwner: null, leaseExpiresAt: null },
        "state = 'running' AND cancel_requested AND lease_expires_at < :t",
        { t },
      );
      const candidates = await jobs()
        .createQueryBuilder('j')
        .select('j.id', 'id')
        .where('j.kind IN (:...kinds)', { kinds })
        .andWhere("((j.state = 'queued' AND (j.run_after IS NULL OR j.run_after <= :t)) OR (j.state = 'running' AND j.lease_expires_at < :t))", { t })
        .andWhere('NOT j.cancel_requested')
        .orderBy('j.created_at', 'ASC')
        .limit(16)
        .getRawMany<{ id: string }>();
      for (const { id } of candidates) {
        const r = await update(
          {
            state: 'running',
            leaseOwner: owner,
            leaseExpiresAt: new Date(t + leaseMs),
            runBy: owner,
            attempts: () => 'attempts + 1',
            startedAt: () => `COALESCE(started_at, ${Math.trunc(t)})`,
            updatedAt: new Date(t),
            error: null,
          },
          "id = :id AND NOT cancel_requested AND ((state = 'queued' AND (run_after IS NULL OR run_after <= :t)) OR (state = 'running' AND lease_expires_at < :t))",
          { id, t },
        );
        if (r.affected) return get(id);
      }
      return null;
    },

    async heartbeat(id, owner, leaseMs, progress) {
      const t = Date.now();
      const r = await update({ leaseExpiresAt: new Date(t + leaseMs), updatedAt: new Date(t), ...progressSet(progress) }, HELD, { id, owner });
      if (!r.affected) return { held: false, cancelRequested: false };
      const row = await jobs().findOne({ where: { id }, select: { id: true, cancelRequested: true, leaseOwner: true } });
      return { held: row?.leaseOwner === owner, cancelRequested: !!row?.cancelRequested };
    },

    async finish(id, owner, state, error, progress, result) {
      const t = new Date();
      const r = await update({ state, error, result: result ? JSON.stringify(result) : null, finishedAt: t, updatedAt: t, leaseOwner: null, leaseExpiresAt: null, ...progressSet(progress) }, HELD, { id, owner });
      return r.affected ? get(id) : null;
    },

    async retryLater(id, owner, runAfter, error, progress) {
      const r = await update({ state: 'queued', error, runAfter, updatedAt: new Date(), leaseOwner: null, leaseExpiresAt: null, ...progressSet(progress) }, HELD, { id, owner });
      return !!r.affected;
    },

    async release(id, owner, progress) {
      const r = await update({ state: 'queued', updatedAt: new Date(), leaseOwner: null, leaseExpiresAt: null, ...progressSet(progress) }, HELD, { id, owner });
      return !!r.affected;
    },

    async requestCancel(id) {
      const t = Date.now();
      const now = new Date(t);
      const queued = await update({ state: 'cancelled', finishedAt: now, updatedAt: now }, "id = :id AND state = 'queued'", { id });
      if (!queued.affected) {
        const dead = await update({ state: 'cancelled', cancelRequested: true, finishedAt: now, updatedAt: now, leaseOwner: null, leaseExpiresAt: null }, "id = :id AND state = 'running' AND lease_expires_at < :t", { id, t });
        if (!dead.affected) await update({ cancelRequested: true, updatedAt: now }, "id = :id AND state = 'running'", { id });
      }
      return get(id);
    },

    async prune(before, limit) {
      return write(async () => {
        const rows = await jobs()
          .createQueryBuilder('j')
          .select('j.id', 'id')
          .where("j.state IN ('completed', 'failed', 'cancelled') AND j.finished_at < :before", { before: before.getTime() })
          .orderBy('j.finished_at', 'ASC')
          .limit(Math.max(1, Math.min(limit, 10_000)))
          .getRawMany<{ id: string }>();
        const ids = rows.map((r) => r.id);
        for (let i = 0; i < ids.length; i += 500) {
          const part = ids.slice(i, i + 500);
          await ds.createQueryBuilder().delete().from(JobLogEntity).where('job_id IN (:...part)', { part }).execute();
          await ds.createQueryBuilder().delete().from(JobEntity).where("id IN (:...part) AND state IN ('completed', 'failed', 'cancelled')", { part }).execute();
        }
        return ids.length;
      });
    },

    async appendLog(jobId, lines, keep) {
      if (lines.length === 0) return;
      await write(async () => {
        for (let i = 0; i < lines.length; i += 200) {
          await ds
            .createQueryBuilder()
            .insert()
            .into(JobLogEntity)
            .values(lines.slice(i, i + 200).map((l) => ({ jobId, seq: l.seq, at: l.at, line: l.line })))
            .orIgnore()
            .execute();
        }
        const last = lines[lines.length - 1]!.seq;
        if (last > keep) await ds.createQueryBuilder().delete().from(JobLogEntity).where('job_id = :jobId AND seq <= :cut', { jobId, cut: last - keep }).execute();
      });
    },

    async lastLogSeq(jobId) {
      const r = await ds.getRepository(JobLogEntity).createQueryBuilder('l').select('MAX(l.seq)', 'max').where('l.job_id = :jobId', { jobId }).getRawOne<{ max: unknown }>();
      return Number(r?.max ?? 0) || 0;
    },

    async log(jobId, opts = {}) {
      const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 1000) || 1000, 1), 1000);
      const rows = await ds
        .getRepository(JobLogEntity)
        .createQueryBuilder('l')
        .where('l.job_id = :jobId AND l.seq > :after', { jobId, after: opts.after ?? 0 })
        .orderBy('l.seq', 'ASC')
        .take(limit)
        .getMany();
      return rows.map((r) => ({ seq: r.seq, at: r.at, line: r.line }));
    },
  };
}
