import { parseArgs } from 'node:util';
import { AppError } from '../core/errors.js';
import type { Db } from '../db/db.js';
import { retryInput } from './retry.js';
import { JOB_STATES, isFinished, type JobRecord, type JobState } from './types.js';

export const JOBS_USAGE = `  packhub jobs list [--state S] [--kind K] [--repo R] [--limit N] [--json]
                                                       newest first; S: ${JOB_STATES.join(', ')}
  packhub jobs show ID [--json]                        a job with its log
  packhub jobs cancel ID                               a queued job ends at once; a running one is stopped by
                                                       the server running it
  packhub jobs retry ID [--wait]                       a failed or cancelled job runs again as a new job;
                                                       --wait follows it and exits non-zero unless it completes
`;

export interface JobsCliDeps {
  /** Opens the server's database (refusing another one) for the duration of fn. */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  usageError(message: string): Error;
  out?: NodeJS.WriteStream;
  err?: NodeJS.WriteStream;
}

/** `packhub jobs ...`; returns the exit code. */
export async function jobsCommand(sub: string | undefined, args: string[], deps: JobsCliDeps): Promise<number> {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { state: { type: 'string' }, kind: { type: 'string' }, repo: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, wait: { type: 'boolean' } },
  });
  const one = (usage: string) => {
    const id = positionals[0];
    if (!id || positionals.length > 1) throw deps.usageError(`usage: packhub jobs ${usage}`);
    return id.toLowerCase();
  };
  const found = async (db: Db, id: string) => {
    const job = await db.jobs.get(id);
    if (!job) throw new AppError('not_found', 'JobNotFound', `no job ${id}`);
    return job;
  };

  if (sub === 'list') {
    if (positionals.length > 0) throw deps.usageError('usage: packhub jobs list [--state S] [--kind K] [--repo R] [--limit N] [--json]');
    if (values.state !== undefined && !JOB_STATES.includes(values.state as JobState)) throw deps.usageError(`--state must be one of ${JOB_STATES.join(', ')}`);
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw deps.usageError('--limit must be a whole number from 1 to 500');
    const jobs = await deps.withDb((db) => db.jobs.list({ state: values.state as JobState | undefined, kind: values.kind, repoId: values.repo, limit }));
    if (values.json) out.write(`${JSON.stringify(jobs, null, 2)}\n`);
    else for (const j of jobs) out.write(`${summaryLine(j)}\n`);
    return 0;
  }

  if (sub === 'show') {
    const id = one('show ID [--json]');
    const { job, log } = await deps.withDb(async (db) => {
      const job = await found(db, id);
      return { job, log: await db.jobs.log(job.id) };
    });
    if (values.json) {
      out.write(`${JSON.stringify({ job, log }, null, 2)}\n`);
      return 0;
    }
    const rows: [string, string | null][] = [
      ['id', job.id],
      ['kind', job.kind],
      ['state', `${job.state}${job.cancelRequested && job.state === 'running' ? ' (cancel requested)' : ''}`],
      ['repo', job.repoLabel ?? job.repoId],
      ['revision', job.revision],
      ['paths', job.paths.length ? job.paths.join(' ') : null],
      ['params', JSON.stringify(job.params)],
      ['progress', progressText(job)],
      ['attempts', String(job.attempts)],
      ['run by', job.runBy],
      ['error', job.error],
      ['retry of', job.retryOf],
      ['created', job.createdAt.toISOString()],
      ['started', job.startedAt?.toISOString() ?? null],
      ['finished', job.finishedAt?.toISOString() ?? null],
    ];
    for (const [k, v] of rows) if (v !== null && v !== '') out.write(`${`${k}:`.padEnd(10)}${v}\n`);
    out.write(log.length ? 'log:\n' : 'log: (empty)\n');
    for (const l of log) out.write(`  ${l.at.toISOString()}  ${l.line}\n`);
    return 0;
  }

  if (sub === 'cancel') {
    const id = one('cancel ID');
    const job = await deps.withDb(async (db) => {
      await found(db, id);
      return (await db.jobs.requestCancel(id))!;
    });
    if (job.state === 'cancelled') out.write(`job ${job.id} is cancelled\n`);
    else if (job.state === 'running') out.write(`job ${job.id}: cancel requested; the server running it stops it\n`);
    else out.write(`job ${job.id} had already ended (${job.state}); nothing to cancel\n`);
    return 0;
  }

  if (sub === 'retry') {
    const id = one('retry ID [--wait]');
    return deps.withDb(async (db) => {
      const job = await db.jobs.create(retryInput(await found(db, id)));
      out.write(`job ${job.id} queued (a retry of ${id})\n`);
      if (!values.wait) return 0;
      const ended = await waitForJob(db, job.id, { tty: !!err.isTTY, out: err });
      return ended.state === 'completed' ? 0 : 1;
    });
  }

  throw deps.usageError(`usage:\n${JOBS_USAGE}`);
}

/**
 * Follows a job until it ends (the mirror's `--wait` uses it too): its new log lines as they come
 * and, on a terminal, a progress bar; otherwise a plain progress line when the state changes and
 * every few seconds. Returns the ended job: callers exit non-zero unless it is completed.
 */
export async function waitForJob(db: Db, id: string, opts: { tty: boolean; out?: NodeJS.WritableStream; intervalMs?: number; signal?: AbortSignal }): Promise<JobRecord> {
  const out = opts.out ?? process.stderr;
  const interval = opts.intervalMs ?? 500;
  let lastSeq = 0;
  let lastState = '';
  let lastPlain = 0;
  let bar = false;
  const clearBar = () => {
    if (bar) out.write('\r\x1b[2K');
    bar = false;
  };
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const job = await db.jobs.get(id);
    if (!job) throw new AppError('not_found', 'JobNotFound', `no job ${id}`);
    const lines = await db.jobs.log(id, { after: lastSeq });
    if (lines.length) {
      clearBar();
      for (const l of lines) out.write(`  ${l.line}\n`);
      lastSeq = lines[lines.length - 1]!.seq;
    }
    if (isFinished(job.state)) {
      clearBar();
      out.write(`job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}${progressText(job) ? ` (${progressText(job)})` : ''}\n`);
      return job;
    }
    if (opts.tty) {
      out.write(`\r\x1b[2K${progressBar(job)}`);
      bar = true;
    } else if (job.state !== lastState || Date.now() - lastPlain >= 5000) {
      out.write(`job ${job.id} ${job.state}${progressText(job) ? `: ${progressText(job)}` : ''}\n`);
      lastPlain = Date.now();
    }
    lastState = job.state;
    await new Promise((r) => setTimeout(r, interval));
  }
}

function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** "12.0 MiB of 50.0 MiB, 2 of 5 files", or '' when the job reported nothing. */
export function progressText(j: JobRecord): string {
  const parts: string[] = [];
  if (j.bytesTotal !== null || j.bytesDone > 0) parts.push(j.bytesTotal !== null ? `${size(j.bytesDone)} of ${size(j.bytesTotal)}` : size(j.bytesDone));
  if (j.filesTotal !== null || j.filesDone > 0) parts.push(j.filesTotal !== null ? `${j.filesDone} of ${j.filesTotal} files` : `${j.filesDone} files`);
  return parts.join(', ');
}

function progressBar(j: JobRecord, width = 30): string {
  const fraction = j.bytesTotal ? j.bytesDone / j.bytesTotal : j.filesTotal ? j.filesDone / j.filesTotal : 0;
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${progressText(j)}  ${j.state}`;
}

function summaryLine(j: JobRecord): string {
  return [j.id, j.state.padEnd(9), j.kind, j.repoLabel ?? '-', progressText(j) || '-', j.createdAt.toISOString(), j.error ? `error: ${j.error.split('\n')[0]!.slice(0, 200)}` : '']
    .filter((x, i) => i < 6 || x)
    .join('\t');
}
