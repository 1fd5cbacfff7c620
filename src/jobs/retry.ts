import { AppError } from '../core/errors.js';
import type { JobInput, JobRecord } from './types.js';

/**
 * A retry is a new queued job with the old one's kind, repository, revision, paths and params
 * (retryOf names the old one, which keeps its error and log). Only failed or cancelled jobs.
 */
export function retryInput(old: JobRecord): JobInput {
  if (old.state !== 'failed' && old.state !== 'cancelled') throw new AppError('conflict', 'JobNotRetryable', `job ${old.id} is ${old.state}; only failed or cancelled jobs can be retried`);
  return { kind: old.kind, repoId: old.repoId, repoLabel: old.repoLabel, revision: old.revision, paths: old.paths, params: old.params, retryOf: old.id };
}
