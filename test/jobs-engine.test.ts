import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createLogger } from '../src/core/logger.js';
import { errorHandler } from '../src/http/error-handler.js';
import { openDb, type OpenedDb } from '../src/db/typeorm-db.js';
import { createJobsAdminApi } from '../src/jobs/admin-api.js';
import { createJobEngine, type JobEngine, type JobRecord } from '../src/jobs/index.js';
import { tmpDir } from './helpers/git.js';

// The engine in one process over a real SQLite file, with handlers of its own: outcomes decided by
// why an attempt was aborted, waitFor and subscribe, close() giving running jobs back, and the event
// stream's heartbeat comments and end on close (the HTTP layer on a real socket).

const log = createLogger('silent');

describe('job engine (in process)', () => {
  let dir: string;
  let db: OpenedDb;
  let engine: JobEngine;
  let server: http.Server;
  let url: string;
  let release: () => void = () => undefined;
  let startedAt = new Map<string, number[]>();

  before(async () => {
    dir = tmpDir('jobs-engine');
    db = await openDb({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, log);
    engine = createJobEngine({ db, log, pollMs: 50, leaseMs: 3000, concurrency: 3 });
    engine.register('test.fail', async (ctx) => {
      ctx.log('about to fail');
      throw new Error('it broke\nsecond line');
    });
    engine.register('test.stubborn', async (ctx) => {
      // Ignores its signal for a while, then returns as if it had finished.
      await new Promise<void>((resolve) => {
        release = resolve;
        ctx.signal.addEventListener('abort', () => setTimeout(resolve, 200));
      });
    });
    // Fails its first two attempts, then succeeds; retried 200 ms after the first failure, 400 after the second.
    const started = new Map<string, number[]>();
    startedAt = started;
    engine.register(
      'test.flaky',
      async (ctx) => {
        started.set(ctx.job.id, [...(started.get(ctx.job.id) ?? []), Date.now()]);
        if ((ctx.job.params as { permanent?: boolean }).permanent) throw Object.assign(new Error('gone for good'), { permanent: true });
        if (ctx.job.attempts < 3) throw new Error(`attempt ${ctx.job.attempts} broke`);
      },
      { retry: { attempts: 4, backoffMs: (n) => 200 * 2 ** (n - 1), retryable: (err) => !(err as { permanent?: boolean }).permanent } },
    );
    engine.register('test.forever', (ctx) => new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))));
    engine.start();
    const app = express();
    app.use((_req, res, next) => {
      res.locals.principal = { user: { isAdmin: true }, scope: 'write' };
      next();
    });
    app.use(createJobsAdminApi({ jobs: engine, heartbeatMs: 100 }));
    app.use(errorHandler(log));
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await engine.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a throwing handler fails the job with its message; waitFor and subscribe see the end', async () => {
    const seen: JobRecord[] = [];
    const unsubscribe = engine.subscribe((j) => seen.push(j));
    const job = await engine.enqueue({ kind: 'test.fail', repoLabel: 'model:x/y' });
    const ended = await engine.waitFor(job.id);
    unsubscribe();
    assert.equal(ended.state, 'failed');
    assert.equal(ended.error, 'it broke\nsecond line');
    assert.deepEqual(seen.filter((j) => j.id === job.id).map((j) => j.state).filter((s, i, a) => s !== a[i - 1]), ['queued', 'running', 'failed']);
    const lines = (await engine.logOf(job.id)).map((l) => l.line);
    assert.deepEqual(lines.slice(1), ['about to fail', 'failed: it broke', 'second line']);
  });

  it('a kind with retries: a failed attempt goes back to the queue with its error and runs again after the backoff; a refused error fails at once', async () => {
    const job = await engine.enqueue({ kind: 'test.flaky' });
    await waitFor(async () => (startedAt.get(job.id) ?? []).length === 1);
    await waitFor(async () => {
      const j = (await engine.get(job.id))!;
      return j.state === 'queued' && j.error === 'attempt 1 broke';
    });
    const between = (await engine.get(job.id))!;
    assert.ok(between.runAfter && between.runAfter.getTime() > Date.now() - 1000, 'queued with a time to run after');
    const ended = await engine.waitFor(job.id);
    assert.equal(ended.state, 'completed');
    assert.equal(ended.attempts, 3);
    const t = startedAt.get(job.id)!;
    assert.equal(t.length, 3);
    assert.ok(t[1]! - t[0]! >= 190, `second attempt ${t[1]! - t[0]!} ms after the first (backoff 200)`);
    assert.ok(t[2]! - t[1]! >= 390, `third attempt ${t[2]! - t[1]!} ms after the second (backoff 400)`);
    const lines = (await engine.logOf(job.id)).map((l) => l.line);
    assert.ok(lines.includes('attempt 1 failed: attempt 1 broke; next attempt in 200 ms'), lines.join('\n'));

    const permanent = await engine.enqueue({ kind: 'test.flaky', params: { permanent: true } });
    const failed = await engine.waitFor(permanent.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 1);
    assert.equal(failed.error, 'gone for good');
  });

  it('a cancelled handler that ignores its signal and then returns still ends cancelled, not completed', async () => {
    const job = await engine.enqueue({ kind: 'test.stubborn' });
    await waitFor(async () => (await engine.get(job.id))!.state === 'running');
    await engine.cancel(job.id);
    const ended = await engine.waitFor(job.id);
    assert.equal(ended.state, 'cancelled');
    release();
  });

  it('waitFor rejects for an unknown job and when its signal aborts', async () => {
    await assert.rejects(engine.waitFor('00000000-0000-4000-8000-000000000000'), /no job/);
    const job = await engine.enqueue({ kind: 'test.forever' });
    const ctl = new AbortController();
    const waiting = engine.waitFor(job.id, ctl.signal);
    ctl.abort(new Error('gave up'));
    await assert.rejects(waiting, /gave up/);
    await engine.cancel(job.id);
    assert.equal((await engine.waitFor(job.id)).state, 'cancelled');
  });

  it('the event stream sends heartbeat comments, the job JSON with ISO dates, and ends when the engine closes; close gives a running job back', async () => {
    const res = await fetch(`${url}/api/admin/jobs/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    let text = '';
    const reading = (async () => {
      for await (const chunk of res.body!) text += Buffer.from(chunk as Uint8Array).toString();
    })();
    const job = await engine.enqueue({ kind: 'test.forever' });
    await waitFor(async () => (await engine.get(job.id))!.state === 'running');
    await new Promise((r) => setTimeout(r, 350));
    assert.ok((text.match(/^: heartbeat$/gm) ?? []).length >= 2, text);
    const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
    const running = data.find((d) => d.id === job.id && d.state === 'running');
    assert.ok(running, text);
    assert.match(String(running.createdAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await engine.close();
    await reading; // the stream ended
    const back = (await db.jobs.get(job.id))!;
    assert.equal(back.state, 'queued', 'given back to the queue');
    assert.equal(back.leaseOwner, null);
    assert.equal(back.attempts, 1);
    assert.match((await db.jobs.log(job.id)).map((l) => l.line).join('\n'), /interrupted by shutdown of replica/);
  });
});

async function waitFor(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
