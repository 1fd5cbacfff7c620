import type { JobProgress, JobRecord, JobState } from '../db/jobs-db.js';

export type { JobFilter, JobInput, JobLogLine, JobProgress, JobRecord, JobState } from '../db/jobs-db.js';
export { JOB_STATES, isFinished } from '../db/jobs-db.js';

/** What a handler gets for one attempt of one job. */
export interface JobContext {
  /** The job as claimed; its progress fields follow `progress()` (a handler resumes from them). */
  job: JobRecord;
  /**
   * Aborted on cancel, on lease loss (another replica took the job over) and on shutdown (the job
   * goes back to the queue). Once it is aborted, the attempt's outcome is decided by why, not by
   * whether the handler then returns or throws.
   */
  signal: AbortSignal;
  /** Appends a line to the job's log (the last 1000 lines are kept; a line is cut at 4096 characters). */
  log(line: string): void;
  /** Stored at most once a second (and with each lease renewal) and pushed live to subscribers. */
  progress(p: JobProgress): void;
  /** What the job reports if it completes (a JSON object of at most 16 KiB), shown with the job. */
  result(r: Record<string, unknown>): void;
}

/** Runs one attempt. Returning completes the job; throwing fails it with the error's message. */
export type JobHandler = (ctx: JobContext) => Promise<void>;

export interface JobKindOptions {
  /**
   * Jobs of this kind may be enqueued through the admin API (POST /api/admin/jobs): checks and
   * normalizes the params an administrator sent (throw AppError('invalid', ...) to refuse).
   */
  acceptParams?(params: unknown): Record<string, unknown>;
  /**
   * A failed attempt is tried again (up to `attempts` attempts in all) after `backoffMs(attempt)`
   * milliseconds, the job queued meanwhile; errors `retryable` refuses fail the job at once.
   */
  retry?: { attempts: number; backoffMs(attempt: number): number; retryable?(err: unknown): boolean };
}

/** The states a job ends in. */
export type FinalState = Extract<JobState, 'completed' | 'failed' | 'cancelled'>;
