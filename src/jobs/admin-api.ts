import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AppError, invalid } from '../core/errors.js';
import type { Principal } from '../auth/principal.js';
import type { JobEngine } from './engine.js';
import { JOB_STATES, isFinished, type JobRecord, type JobState } from './types.js';

/** Heartbeat comments keep idle streams open through proxies. */
const HEARTBEAT_MS = 15_000;
/** A stream whose client reads slower than events come is ended rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Jobs under the admin API: list (filters kind, state, repo, q; paged), show (with the log), cancel,
 * retry, enqueue (kinds that accept it, e.g. noop), and live Server-Sent Events for all jobs or one.
 * For anyone but an administrator every route is absent: the request goes on to the rest of the app
 * and gets the same 404 as any missing route.
 */
export function createJobsAdminApi(deps: { jobs: JobEngine; /** default 15 s */ heartbeatMs?: number }): Router {
  const { jobs } = deps;
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  const router = express.Router();
  const json = express.json({ limit: '128kb' });

  router.use('/api/admin/jobs', (_req: Request, res: Response, next: NextFunction) => {
    const p = res.locals.principal as Principal | null | undefined;
    if (!p?.user.isAdmin) return next('router');
    next();
  });
  const requireWrite = (res: Response) => {
    const p = res.locals.principal as Principal;
    if (p.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this needs a token with write scope');
  };
  const jobId = (req: Request) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) throw new AppError('not_found', 'JobNotFound', `no job ${id.slice(0, 100)}`);
    return id.toLowerCase();
  };
  const found = async (id: string) => {
    const job = await jobs.get(id);
    if (!job) throw new AppError('not_found', 'JobNotFound', `no job ${id}`);
    return job;
  };

  router.get('/api/admin/jobs', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const str = (name: string, max: number) => {
      const v = q[name];
      if (v === undefined || v === '') return undefined;
      if (typeof v !== 'string' || v.length > max) throw invalid('BadRequest', `${name} must be a single value of at most ${max} characters`);
      return v;
    };
    const state = str('state', 16);
    if (state !== undefined && !JOB_STATES.includes(state as JobState)) throw invalid('BadRequest', `state must be one of ${JOB_STATES.join(', ')}`);
    const limitText = str('limit', 6);
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalid('BadRequest', 'limit must be a whole number from 1 to 500');
    const before = str('before', 36);
    if (before !== undefined && !UUID.test(before)) throw invalid('BadRequest', 'before must be a job id');
    const page = await jobs.list({ kind: str('kind', 64), state: state as JobState | undefined, repoId: str('repo', 300), q: str('q', 200), limit, before: before?.toLowerCase() });
    res.json({ jobs: page, next: page.length === limit ? page[page.length - 1]!.id : null });
  });

  router.post('/api/admin/jobs', json, async (req, res) => {
    requireWrite(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw invalid('BadRequest', 'the body must be a JSON object');
    const kind = body.kind;
    if (typeof kind !== 'string') throw invalid('BadRequest', 'kind is required');
    const accept = jobs.kindOptions(kind)?.acceptParams;
    if (!accept) throw invalid('UnknownJobKind', `jobs of kind '${kind.slice(0, 64)}' cannot be enqueued here`);
    const optional = (name: string) => {
      const v = body[name];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') throw invalid('BadRequest', `${name} must be a string`);
      return v;
    };
    const paths = body.paths ?? [];
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) throw invalid('BadRequest', 'paths must be an array of strings');
    const job = await jobs.enqueue({ kind, params: accept(body.params), repoId: optional('repoId'), repoLabel: optional('repoLabel'), revision: optional('revision'), paths: paths as string[] });
    res.status(201).json(job);
  });

  router.get('/api/admin/jobs/events', (req, res) => {
    stream(req, res, jobs, null, heartbeatMs);
  });

  router.get('/api/admin/jobs/:id', async (req, res) => {
    const job = await found(jobId(req));
    const afterText = req.query.after;
    const after = typeof afterText === 'string' && /^\d{1,9}$/.test(afterText) ? Number(afterText) : 0;
    res.json({ job, log: await jobs.logOf(job.id, { after }) });
  });

  router.get('/api/admin/jobs/:id/events', async (req, res) => {
    const id = jobId(req);
    await found(id);
    stream(req, res, jobs, id, heartbeatMs);
  });

  router.post('/api/admin/jobs/:id/cancel', async (req, res) => {
    requireWrite(res);
    const id = jobId(req);
    res.json(await jobs.cancel(id));
  });

  router.post('/api/admin/jobs/:id/retry', async (req, res) => {
    requireWrite(res);
    const id = jobId(req);
    res.status(201).json(await jobs.retry(id));
  });

  return router;
}

/**
 * A Server-Sent Events stream of job changes (data: the job as JSON), all jobs or one. One job's
 * stream starts with its current state and ends after its final one. Every stream ends when the
 * server closes.
 */
function stream(req: Request, res: Response, jobs: JobEngine, id: string | null, heartbeatMs: number): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    jobs.closing.removeEventListener('abort', end);
    if (!res.writableEnded) res.end();
  };
  const write = (text: string) => {
    if (ended) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) return end();
    res.write(text);
  };
  // One job's stream holds events back until its current state is out, so they stay in order.
  let held: JobRecord[] | null = id === null ? null : [];
  const send = (job: JobRecord) => {
    if (id !== null && job.id !== id) return;
    if (held) {
      held.push(job);
      return;
    }
    write(`data: ${JSON.stringify(job)}\n\n`);
    if (id !== null && isFinished(job.state)) end();
  };
  const unsubscribe = jobs.subscribe(send);
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
  heartbeat.unref();
  req.on('close', end);
  res.on('close', end);
  jobs.closing.addEventListener('abort', end, { once: true });
  if (jobs.closing.aborted) return end();
  if (id !== null) {
    // The current state first (subscribed before reading it, so nothing falls in between).
    jobs.get(id).then(
      (job) => {
        if (!job) return end();
        const later = held!;
        held = null;
        // Events that came meanwhile are newer unless the row already shows a later change.
        send(job);
        for (const j of later) if (j.updatedAt >= job.updatedAt) send(j);
      },
      () => end(),
    );
  }
}
