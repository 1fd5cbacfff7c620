import { setTimeout as sleep } from 'node:timers/promises';
import { invalid } from '../core/errors.js';
import type { JobHandler, JobKindOptions } from './types.js';

/** At most a day. */
const MAX_MS = 86_400_000;

export interface NoopParams {
  /** How long to sleep, in milliseconds. */
  ms: number;
  /** Fail at the end (with this message, or a standard one). */
  fail?: boolean | string;
}

/** `noop`: sleeps `ms` with progress (bytes = milliseconds), honours its signal, resumes where a previous attempt got to. */
export const noopHandler: JobHandler = async (ctx) => {
  const { ms, fail } = noopOptions.acceptParams!(ctx.job.params) as unknown as NoopParams;
  let done = Math.min(ctx.job.bytesDone, ms);
  if (done > 0) ctx.log(`resuming at ${done} of ${ms} ms`);
  ctx.progress({ bytesTotal: ms, bytesDone: done, filesTotal: 1, filesDone: 0 });
  let logged = done;
  while (done < ms) {
    const step = Math.min(100, ms - done);
    await sleep(step, undefined, { signal: ctx.signal });
    done += step;
    ctx.progress({ bytesDone: done });
    if (done - logged >= 1000) {
      logged = done;
      ctx.log(`slept ${done} of ${ms} ms`);
    }
  }
  if (fail) throw new Error(typeof fail === 'string' ? fail : 'noop failed as asked');
  ctx.progress({ filesDone: 1 });
  ctx.log(`slept ${ms} ms`);
};

export const noopOptions: JobKindOptions = {
  acceptParams(params) {
    const p = (params ?? {}) as Record<string, unknown>;
    if (typeof p !== 'object' || Array.isArray(p)) throw invalid('BadJobParams', 'params must be an object');
    const ms = p.ms ?? 0;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_MS) throw invalid('BadJobParams', `params.ms must be a whole number of milliseconds from 0 to ${MAX_MS}`);
    const fail = p.fail;
    if (fail !== undefined && typeof fail !== 'boolean' && !(typeof fail === 'string' && fail.length <= 500)) throw invalid('BadJobParams', 'params.fail must be true, false or a message of at most 500 characters');
    return fail === undefined || fail === false ? { ms } : { ms, fail };
  },
};
