import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { run } from './helpers/run.js';
import { CLI_ARGS, ROOT, backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// The job engine: jobs enqueued through the admin API run in the server (the built-in `noop` kind),
// with progress, log and live Server-Sent Events; cancel and retry; a job whose server was killed is
// taken over after a restart; two servers on one PostgreSQL run each job exactly once; the routes are
// absent for everyone but administrators; the CLI lists, shows, cancels and retries on the server's db.

interface Job {
  id: string;
  kind: string;
  state: string;
  repoLabel: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  filesDone: number;
  filesTotal: number | null;
  attempts: number;
  error: string | null;
  cancelRequested: boolean;
  retryOf: string | null;
  runBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  leaseOwner: string | null;
}
interface LogLine {
  seq: number;
  at: string;
  line: string;
}

const FINISHED = ['completed', 'failed', 'cancelled'];

async function api<T = unknown>(hub: Hub, token: string | null, method: string, route: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${hub.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const getJob = async (hub: Hub, token: string, id: string) => {
  const r = await api<{ job: Job; log: LogLine[] }>(hub, token, 'GET', `/api/admin/jobs/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const waitState = (hub: Hub, token: string, id: string, test: (j: Job) => boolean, what: string, timeoutMs = 30_000) =>
  waitUntil(what, async () => {
    const { job } = await getJob(hub, token, id);
    return test(job) ? job : null;
  }, timeoutMs);
const enqueue = async (hub: Hub, token: string, body: Record<string, unknown>) => {
  const r = await api<Job>(hub, token, 'POST', '/api/admin/jobs', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
};

/** A Server-Sent Events stream read in the background: its events (the job JSON) and whether it ended. */
function sse(hub: Hub, token: string, route: string) {
  const ctl = new AbortController();
  const events: Job[] = [];
  const comments: string[] = [];
  let contentType = '';
  let status = 0;
  const done = (async () => {
    const res = await fetch(`${hub.url}${route}`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
    status = res.status;
    contentType = res.headers.get('content-type') ?? '';
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let sep: number;
        while ((sep = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, sep);
          buf = buf.slice(sep + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) events.push(JSON.parse(data) as Job);
          for (const l of block.split('\n')) if (l.startsWith(':')) comments.push(l);
        }
      }
    } catch (err) {
      if (!ctl.signal.aborted) throw err;
    }
  })();
  return {
    events,
    comments,
    done,
    get status() {
      return status;
    },
    get contentType() {
      return contentType;
    },
    close: () => ctl.abort(),
  };
}

const hasLine = (log: LogLine[], re: RegExp) => log.some((l) => re.test(l.line));

for (const backend of backends()) {
  describe(`jobs (${backend})`, () => {
    let hub: Hub | undefined;
    let admin: { name: string; token: string; readToken: string };
    let alice: { name: string; token: string; readToken: string };

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend, env: { PACKHUB_JOB_LEASE_MS: '2000', PACKHUB_JOB_POLL_MS: '200' } });
          admin = await hub.user('root', { admin: true });
          alice = await hub.user('alice');
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('a noop enqueued through the admin API completes; its progress and log are visible; the SSE streams show progress advancing', async () => {
      const all = sse(hub!, admin.token, '/api/admin/jobs/events');
      await waitUntil('the all-jobs stream to open', async () => all.status === 200);
      assert.match(all.contentType, /^text\/event-stream/);
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 2000 }, repoLabel: 'model:acme/stream-test' });
      assert.equal(job.kind, 'noop');
      assert.equal(job.repoLabel, 'model:acme/stream-test');
      assert.match(job.id, /^[0-9a-f-]{36}$/);
      assert.doesNotThrow(() => new Date(job.createdAt).toISOString());

      const one = sse(hub!, admin.token, `/api/admin/jobs/${job.id}/events`);
      await one.done; // one job's stream ends after the job ends
      assert.equal(one.status, 200);
      const last = one.events[one.events.length - 1]!;
      assert.equal(last.state, 'completed');
      assert.ok(one.events.every((e) => e.id === job.id));
      const done = [...new Set(one.events.filter((e) => e.state === 'running').map((e) => e.bytesDone))];
      assert.ok(done.length >= 3, `progress advanced in several events: ${JSON.stringify(done)}`);
      for (let i = 1; i < done.length; i++) assert.ok(done[i]! > done[i - 1]!, `progress only grows: ${JSON.stringify(done)}`);
      // Rate-limited: a few events a second, not one per progress call (the noop reports every 100 ms).
      assert.ok(one.events.length <= 2000 / 250 + 6, `at most a few events a second, got ${one.events.length}`);
      assert.match(last.finishedAt!, /^\d{4}-\d\d-\d\dT.*Z$/, 'dates are ISO strings');

      const { job: stored, log } = await getJob(hub!, admin.token, job.id);
      assert.equal(stored.state, 'completed');
      assert.equal(stored.bytesDone, 2000);
      assert.equal(stored.bytesTotal, 2000);
      assert.equal(stored.filesDone, 1);
      assert.equal(stored.attempts, 1);
      assert.equal(stored.error, null);
      assert.equal(stored.leaseOwner, null);
      assert.ok(stored.startedAt && stored.finishedAt);
      assert.ok(hasLine(log, /^attempt 1 on replica /), JSON.stringify(log));
      assert.ok(hasLine(log, /^slept 1000 of 2000 ms$/));
      assert.ok(hasLine(log, /^completed$/));
      assert.deepEqual(log.map((l) => l.seq), log.map((_, i) => i + 1));

      await waitUntil('the all-jobs stream to see the job complete', async () => all.events.some((e) => e.id === job.id && e.state === 'completed'), 5000);
      assert.ok(all.events.some((e) => e.id === job.id && e.state === 'running' && e.bytesDone > 0), 'the all-jobs stream saw progress');
      all.close();

      // A failing job carries its error.
      const bad = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 100, fail: 'the disk is on fire' } });
      const failed = await waitState(hub!, admin.token, bad.id, (j) => FINISHED.includes(j.state), 'the failing job to end');
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error, 'the disk is on fire');
      assert.ok(hasLine((await getJob(hub!, admin.token, bad.id)).log, /^failed: the disk is on fire$/));

      // Filters and paging.
      const list = async (query: string) => {
        const r = await api<{ jobs: Job[]; next: string | null }>(hub!, admin.token, 'GET', `/api/admin/jobs${query}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body;
      };
      const ids = async (query: string) => (await list(query)).jobs.map((j) => j.id);
      assert.deepEqual((await ids('?kind=noop')).slice(0, 2), [bad.id, job.id], 'newest first');
      assert.deepEqual(await ids('?state=completed&repo=model:acme/stream-test'), [job.id]);
      assert.deepEqual(await ids('?q=STREAM-TEST'), [job.id]);
      assert.deepEqual(await ids('?state=failed'), [bad.id]);
      assert.deepEqual(await ids('?kind=mirror.sync'), []);
      const page1 = await list('?limit=1');
      assert.deepEqual(page1.jobs.map((j) => j.id), [bad.id]);
      assert.equal(page1.next, bad.id);
      assert.deepEqual((await list(`?limit=1&before=${page1.next}`)).jobs.map((j) => j.id), [job.id]);
      assert.equal((await api(hub!, admin.token, 'GET', '/api/admin/jobs?state=bogus')).status, 400);
      assert.equal((await api(hub!, admin.token, 'GET', '/api/admin/jobs?limit=100000')).status, 400);

      // Bad input gets a clear error.
      const badParams = await api<{ error: string }>(hub!, admin.token, 'POST', '/api/admin/jobs', { kind: 'noop', params: { ms: -5 } });
      assert.equal(badParams.status, 400);
      assert.match(badParams.body.error, /params\.ms must be a whole number/);
      assert.equal(badParams.headers.get('x-error-code'), 'BadJobParams');
      const unknown = await api<{ error: string }>(hub!, admin.token, 'POST', '/api/admin/jobs', { kind: 'rm-rf', params: {} });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.headers.get('x-error-code'), 'UnknownJobKind');
      const missing = await api<{ error: string }>(hub!, admin.token, 'GET', '/api/admin/jobs/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-error-code'), 'JobNotFound');

      // Metrics on the app's registry.
      const metrics = await (await fetch(`${hub!.url}/metrics`)).text();
      assert.match(metrics, /packhub_jobs_total\{kind="noop",state="completed"\} [1-9]/);
      assert.match(metrics, /packhub_jobs_total\{kind="noop",state="failed"\} [1-9]/);
      assert.match(metrics, /packhub_jobs_running\{kind="noop"\} 0/);
      assert.match(metrics, /packhub_job_duration_seconds_count\{kind="noop",state="completed"\} [1-9]/);
    });

    it('cancel a running noop: it ends cancelled; retry: a new job that completes; cancel of a queued job is immediate', async () => {
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 3000 } });
      await waitState(hub!, admin.token, job.id, (j) => j.state === 'running' && j.bytesDone > 0, 'the job to run');
      const asked = Date.now();
      const c = await api<Job>(hub!, admin.token, 'POST', `/api/admin/jobs/${job.id}/cancel`);
      assert.equal(c.status, 200, JSON.stringify(c.body));
      const cancelled = await waitState(hub!, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end');
      assert.equal(cancelled.state, 'cancelled');
      assert.ok(Date.now() - asked < 2500, 'the handler stopped at once, not at the end of its sleep');
      assert.ok(cancelled.bytesDone < 3000);
      assert.ok(hasLine((await getJob(hub!, admin.token, job.id)).log, /^cancelled$/));

      const r = await api<Job>(hub!, admin.token, 'POST', `/api/admin/jobs/${job.id}/retry`);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.notEqual(r.body.id, job.id);
      assert.equal(r.body.retryOf, job.id);
      assert.equal(r.body.state, 'queued');
      const retried = await waitState(hub!, admin.token, r.body.id, (j) => FINISHED.includes(j.state), 'the retry to end');
      assert.equal(retried.state, 'completed');
      assert.equal(retried.bytesDone, 3000);
      assert.equal((await getJob(hub!, admin.token, job.id)).job.state, 'cancelled', 'the cancelled job keeps its state');

      // A completed job cannot be retried; an unknown one is 404.
      const again = await api(hub!, admin.token, 'POST', `/api/admin/jobs/${retried.id}/retry`);
      assert.equal(again.status, 409);
      assert.equal(again.headers.get('x-error-code'), 'JobNotRetryable');
      assert.equal((await api(hub!, admin.token, 'POST', '/api/admin/jobs/00000000-0000-4000-8000-000000000000/cancel')).status, 404);

      // Two long jobs fill the pool (PACKHUB_JOB_CONCURRENCY defaults to 2); a third waits queued and cancels at once.
      const long = [await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 60_000 } }), await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 60_000 } })];
      for (const l of long) await waitState(hub!, admin.token, l.id, (j) => j.state === 'running', 'the long jobs to run');
      const queued = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 10 } });
      await new Promise((r2) => setTimeout(r2, 500));
      assert.equal((await getJob(hub!, admin.token, queued.id)).job.state, 'queued', 'no free worker');
      const qc = await api<Job>(hub!, admin.token, 'POST', `/api/admin/jobs/${queued.id}/cancel`);
      assert.equal(qc.body.state, 'cancelled');
      assert.ok(qc.body.finishedAt);
      for (const l of long) assert.equal((await api<Job>(hub!, admin.token, 'POST', `/api/admin/jobs/${l.id}/cancel`)).status, 200);
      for (const l of long) assert.equal((await waitState(hub!, admin.token, l.id, (j) => FINISHED.includes(j.state), 'the long jobs to end')).state, 'cancelled');
      assert.equal((await getJob(hub!, admin.token, queued.id)).job.attempts, 0, 'the cancelled queued job never ran');
    });

    it('non-admins get the same 404 as a missing route on every jobs route; an admin read token may look but not act', async () => {
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 10 } });
      await waitState(hub!, admin.token, job.id, (j) => j.state === 'completed', 'the job to complete');
      const routes: [string, string, unknown?][] = [
        ['GET', '/api/admin/jobs'],
        ['GET', '/api/admin/jobs?state=completed'],
        ['POST', '/api/admin/jobs', { kind: 'noop', params: { ms: 1 } }],
        ['GET', '/api/admin/jobs/events'],
        ['GET', `/api/admin/jobs/${job.id}`],
        ['GET', `/api/admin/jobs/${job.id}/events`],
        ['POST', `/api/admin/jobs/${job.id}/cancel`],
        ['POST', `/api/admin/jobs/${job.id}/retry`],
      ];
      const missing = await api<{ error: string }>(hub!, null, 'GET', '/api/admin/no-such-thing');
      assert.equal(missing.status, 404);
      const before = (await api<{ jobs: Job[] }>(hub!, admin.token, 'GET', '/api/admin/jobs?limit=500')).body.jobs.length;
      for (const token of [null, alice.token, alice.readToken]) {
        for (const [method, route, body] of routes) {
          const r = await api<{ error: string }>(hub!, token, method, route, body);
          assert.equal(r.status, 404, `${method} ${route} as ${token ? 'alice' : 'anonymous'}`);
          assert.equal(r.headers.get('x-error-code'), missing.headers.get('x-error-code'));
          assert.deepEqual(Object.keys(r.body), Object.keys(missing.body));
          assert.equal(r.body.error, missing.body.error.replace('/api/admin/no-such-thing', route.split('?')[0]!), `${method} ${route}: the missing route's message`);
          assert.doesNotMatch(JSON.stringify(r.body), /noop|completed|running/);
        }
      }
      const after = (await api<{ jobs: Job[] }>(hub!, admin.token, 'GET', '/api/admin/jobs?limit=500')).body.jobs;
      assert.equal(after.length, before, 'nothing was enqueued or retried');
      assert.equal(after.find((j) => j.id === job.id)!.state, 'completed');
      // An administrator's read token reads but does not act.
      assert.equal((await api(hub!, admin.readToken, 'GET', '/api/admin/jobs')).status, 200);
      assert.equal((await api(hub!, admin.readToken, 'POST', '/api/admin/jobs', { kind: 'noop', params: { ms: 1 } })).status, 403);
      assert.equal((await api(hub!, admin.readToken, 'POST', `/api/admin/jobs/${job.id}/retry`)).status, 403);
    });

    it('CLI: jobs list, show, cancel and retry --wait on the running server\'s database', async () => {
      const cli = (...args: string[]) => run(process.execPath, [...CLI_ARGS, ...args], { env: hub!.env, cwd: ROOT, timeoutMs: 120_000 });
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 120_000 }, repoLabel: 'dataset:acme/cli-test' });
      await waitState(hub!, admin.token, job.id, (j) => j.state === 'running' && j.bytesDone > 0, 'the job to run');

      const list = await cli('jobs', 'list', '--state', 'running');
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${job.id}\\trunning\\s*\\tnoop\\tdataset:acme/cli-test\\t`, 'm'));
      const json = await cli('jobs', 'list', '--kind', 'noop', '--repo', 'dataset:acme/cli-test', '--json');
      assert.equal(json.code, 0, json.stderr);
      const listed = JSON.parse(json.stdout) as Job[];
      assert.deepEqual(listed.map((j) => j.id), [job.id]);
      assert.equal(listed[0]!.state, 'running');

      const show = await cli('jobs', 'show', job.id);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^state: +running$/m);
      assert.match(show.stdout, /^kind: +noop$/m);
      assert.match(show.stdout, /^params: +\{"ms":120000\}$/m);
      assert.match(show.stdout, /^log:\n {2}\S+ {2}attempt 1 on replica /m);

      const cancel = await cli('jobs', 'cancel', job.id);
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.match(cancel.stdout, /cancel requested/);
      // The server running it sees the request through its poll and stops it.
      const cancelled = await waitState(hub!, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end', 10_000);
      assert.equal(cancelled.state, 'cancelled');

      // retry --wait follows the new job to its end (a shorter one than this, cancelled while queued or running).
      const short = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 4000 } });
      assert.equal((await api(hub!, admin.token, 'POST', `/api/admin/jobs/${short.id}/cancel`)).status, 200);
      await waitState(hub!, admin.token, short.id, (j) => j.state === 'cancelled', 'the short job to be cancelled');
      const retry = await cli('jobs', 'retry', short.id, '--wait');
      assert.equal(retry.code, 0, retry.stderr + retry.stdout);
      const newId = /^job (\S+) queued \(a retry of /m.exec(retry.stdout)?.[1];
      assert.ok(newId, retry.stdout);
      assert.match(retry.stderr, new RegExp(`^job ${newId} completed \\(3\\.9 KiB of 3\\.9 KiB, 1 of 1 files\\)$`, 'm'));
      assert.match(retry.stderr, /^ {2}slept 1000 of 4000 ms$/m, 'the job\'s log lines follow along');
      assert.doesNotMatch(retry.stderr, /\x1b\[/, 'no terminal control codes when not on a terminal');
      assert.equal((await getJob(hub!, admin.token, newId!)).job.state, 'completed');

      // On a terminal (a pseudo-terminal from util-linux's script), --wait draws a progress bar in place.
      const tty = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 2500 } });
      await api(hub!, admin.token, 'POST', `/api/admin/jobs/${tty.id}/cancel`);
      await waitState(hub!, admin.token, tty.id, (j) => j.state === 'cancelled', 'the job to be cancelled');
      const command = [process.execPath, ...CLI_ARGS, 'jobs', 'retry', tty.id, '--wait'].map((a) => `'${a}'`).join(' ');
      const onTty = await run('script', ['-qec', command, '/dev/null'], { env: hub!.env, cwd: ROOT, timeoutMs: 120_000 });
      assert.equal(onTty.code, 0, onTty.stdout + onTty.stderr);
      assert.match(onTty.stdout, /\r\x1b\[2K\[#*-*\] +\d+%  [\d.]+ (B|KiB) of 2\.4 KiB, 0 of 1 files  running/, 'a progress bar redrawn in place');
      assert.match(onTty.stdout, /(^|\x1b\[2K)job \S+ completed \(2\.4 KiB of 2\.4 KiB, 1 of 1 files\)\r?$/m);

      // --wait exits non-zero when the job fails.
      const bad = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 50, fail: 'no good' } });
      await waitState(hub!, admin.token, bad.id, (j) => j.state === 'failed', 'the job to fail');
      const failing = await cli('jobs', 'retry', bad.id, '--wait');
      assert.equal(failing.code, 1, failing.stderr + failing.stdout);
      assert.match(failing.stderr, /^job \S+ failed: no good \(50 B of 50 B, 0 of 1 files\)$/m);

      // Bad input: a clear error, exit 1.
      const unknown = await cli('jobs', 'show', '00000000-0000-4000-8000-000000000000');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^error: no job 00000000-0000-4000-8000-000000000000$/m);
      const badState = await cli('jobs', 'list', '--state', 'sleeping');
      assert.equal(badState.code, 1);
      assert.match(badState.stderr, /--state must be one of queued, running, completed, failed, cancelled/);
      const notRetryable = await cli('jobs', 'retry', newId!);
      assert.equal(notRetryable.code, 1);
      assert.match(notRetryable.stderr, /only failed or cancelled jobs can be retried/);
    });

    it('SIGKILL during a long noop: after a restart the job is taken over (attempts = 2), resumes and completes', async () => {
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 6000 } });
      const running = await waitState(hub!, admin.token, job.id, (j) => j.state === 'running' && j.bytesDone >= 1500, 'the job to have progressed');
      const firstReplica = running.runBy!;
      assert.ok(firstReplica.includes(`:${hub!.pid}:`), `run by the server process: ${firstReplica}`);
      await hub!.kill('SIGKILL');
      await hub!.restart();
      const done = await waitState(hub!, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end after the restart', 30_000);
      assert.equal(done.state, 'completed', JSON.stringify(done));
      assert.equal(done.attempts, 2);
      assert.notEqual(done.runBy, firstReplica);
      assert.ok(done.runBy!.includes(`:${hub!.pid}:`));
      assert.equal(done.bytesDone, 6000);
      const { log } = await getJob(hub!, admin.token, job.id);
      assert.ok(hasLine(log, /^attempt 1 on replica /));
      assert.ok(hasLine(log, /^attempt 2 on replica /));
      const resumed = log.find((l) => /^resuming at \d+ of 6000 ms$/.test(l.line));
      assert.ok(resumed, `the second attempt resumed where the first got to: ${JSON.stringify(log.map((l) => l.line))}`);
      assert.ok(Number(/at (\d+)/.exec(resumed.line)![1]) >= 1500);
    });

    it('a graceful stop gives a running job back to the queue; the next start takes it at once', async () => {
      const job = await enqueue(hub!, admin.token, { kind: 'noop', params: { ms: 5000 } });
      await waitState(hub!, admin.token, job.id, (j) => j.state === 'running' && j.bytesDone > 0, 'the job to run');
      const events = sse(hub!, admin.token, '/api/admin/jobs/events');
      await waitUntil('the stream to open', async () => events.status === 200);
      await hub!.restart(); // SIGTERM, then a new process
      await events.done; // the stream ended when the server closed
      const back = await getJob(hub!, admin.token, job.id);
      assert.ok(hasLine(back.log, /^interrupted by shutdown of replica /), JSON.stringify(back.log));
      const done = await waitState(hub!, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end', 20_000);
      assert.equal(done.state, 'completed');
      assert.equal(done.attempts, 2);
    });
  });
}

// Several replicas on one PostgreSQL schema and one bucket: every job runs exactly once.
if (backends().includes('s3')) {
  describe('jobs on two replicas (PostgreSQL)', () => {
    let a: Hub | undefined;
    let b: Hub | undefined;
    let admin: { name: string; token: string };

    before(() =>
      withServerLog(
        () => a,
        async () => {
          const jobEnv = { PACKHUB_JOB_POLL_MS: '100', PACKHUB_JOB_LEASE_MS: '3000' };
          a = await startHub({ backend: 's3', env: jobEnv });
          // The second process shares the first one's database and bucket (its own data dir and cache).
          const shared = Object.fromEntries(Object.entries(a.env).filter(([k]) => /^PACKHUB_(DATABASE_URL|S3_)/.test(k)));
          b = await startHub({ backend: 'fs', env: { ...shared, ...jobEnv } });
          admin = await a.user('root', { admin: true });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, a, b));
    after(async () => {
      await b?.stop();
      await a?.stop();
    });

    it('10 queued noop jobs each run exactly once, spread over both replicas; the other replica\'s stream sees them', async () => {
      const streamB = sse(b!, admin.token, '/api/admin/jobs/events');
      await waitUntil('the stream to open', async () => streamB.status === 200);
      const jobs: Job[] = [];
      for (let i = 0; i < 10; i++) jobs.push(await enqueue(a!, admin.token, { kind: 'noop', params: { ms: 1000 }, repoLabel: `model:acme/replica-${i}` }));
      const ended = await Promise.all(jobs.map((j) => waitState(a!, admin.token, j.id, (x) => FINISHED.includes(x.state), 'every job to end', 60_000)));
      const runners = new Map<string, number>();
      for (const j of ended) {
        assert.equal(j.state, 'completed', JSON.stringify(j));
        assert.equal(j.attempts, 1, `ran once: ${JSON.stringify(j)}`);
        const replica = j.runBy!.includes(`:${a!.pid}:`) ? 'a' : j.runBy!.includes(`:${b!.pid}:`) ? 'b' : j.runBy!;
        runners.set(replica, (runners.get(replica) ?? 0) + 1);
        const { log } = await getJob(b!, admin.token, j.id);
        assert.equal(log.filter((l) => /^attempt \d+ on replica /.test(l.line)).length, 1, JSON.stringify(log));
        assert.equal(log.filter((l) => /^slept 1000 ms$/.test(l.line)).length, 1, JSON.stringify(log));
      }
      assert.deepEqual([...runners.keys()].sort(), ['a', 'b'], `both replicas ran jobs: ${JSON.stringify([...runners])}`);
      // Jobs replica A ran reached replica B's stream through its db poll, up to their end.
      await waitUntil('B\'s stream to see every job complete', async () => jobs.every((j) => streamB.events.some((e) => e.id === j.id && e.state === 'completed')), 10_000);
      streamB.close();
    });

    it('a replica that stalls past its lease loses the job to the other one, and its handler stops without writing', async () => {
      const job = await enqueue(a!, admin.token, { kind: 'noop', params: { ms: 8000 } });
      const running = await waitState(a!, admin.token, job.id, (j) => j.state === 'running' && j.bytesDone > 0, 'the job to run');
      const [stalled, other] = running.runBy!.includes(`:${a!.pid}:`) ? [a!, b!] : [b!, a!];
      process.kill(stalled.pid, 'SIGSTOP');
      try {
        await waitState(other, admin.token, job.id, (j) => j.attempts === 2 && j.state === 'running', 'the other replica to take the job over', 20_000);
      } finally {
        process.kill(stalled.pid, 'SIGCONT');
      }
      const done = await waitState(other, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end', 30_000);
      assert.equal(done.state, 'completed');
      assert.equal(done.attempts, 2);
      assert.ok(done.runBy!.includes(`:${other.pid}:`));
      await waitUntil('the stalled replica to notice', async () => /lost the lease of a running job/.test(stalled.logTail(400)), 10_000);
      const { log } = await getJob(other, admin.token, job.id);
      assert.equal(log.filter((l) => l.line === 'completed').length, 1, JSON.stringify(log));
      assert.equal(log.filter((l) => l.line === 'slept 8000 ms').length, 1);
      assert.equal((await getJob(stalled, admin.token, job.id)).job.state, 'completed', 'the stalled replica changed nothing after it lost the lease');
    });

    it('a job running on one replica is cancelled through the other', async () => {
      const job = await enqueue(a!, admin.token, { kind: 'noop', params: { ms: 60_000 } });
      const running = await waitState(a!, admin.token, job.id, (j) => j.state === 'running', 'the job to run');
      const other = running.runBy!.includes(`:${a!.pid}:`) ? b! : a!;
      const c = await api<Job>(other, admin.token, 'POST', `/api/admin/jobs/${job.id}/cancel`);
      assert.equal(c.status, 200);
      assert.equal(c.body.cancelRequested, true);
      const done = await waitState(other, admin.token, job.id, (j) => FINISHED.includes(j.state), 'the job to end', 10_000);
      assert.equal(done.state, 'cancelled');
    });
  });
}
