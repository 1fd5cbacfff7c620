import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { openDb, type OpenedDb } from '../src/db/typeorm-db.js';
import { tmpDir } from './helpers/git.js';
import { freshSchema, type Schema } from './helpers/pg.js';

// The jobs table on a real SQLite file and a real PostgreSQL schema: claims by compare-and-swap from
// several connections at once (each job exactly once), lease expiry and takeover, writes of an owner
// that lost its lease, cancellation in every state, the bounded log, filters and paging.

const log = createLogger('silent');

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`jobs db (${kind})`, () => {
    let database: Config['database'];
    let schema: Schema | undefined;
    let dir: string | undefined;
    const opened: OpenedDb[] = [];
    const open = async () => {
      const db = await openDb(database, log);
      opened.push(db);
      return db;
    };

    before(async () => {
      if (kind === 'sqlite') {
        dir = tmpDir('jobs-db');
        database = { kind: 'sqlite', file: path.join(dir, 'db.sqlite') };
      } else {
        schema = await freshSchema('packhub_jobs');
        database = { kind: 'postgres', url: schema.url };
      }
    });
    after(async () => {
      for (const db of opened) await db.close();
      await schema?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('claims from four connections at once: every job is claimed exactly once, oldest first', async () => {
      const dbs = [await open(), await open(), await open(), await open()];
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await dbs[0]!.jobs.create({ kind: 'race', params: { i } })).id);
      const claimed: { id: string; owner: string; attempts: number }[] = [];
      await Promise.all(
        dbs.map(async (db, n) => {
          for (;;) {
            const job = await db.jobs.claim({ kinds: ['race'], owner: `owner-${n}`, leaseMs: 60_000 });
            if (!job) return;
            claimed.push({ id: job.id, owner: job.leaseOwner!, attempts: job.attempts });
            assert.equal(job.leaseOwner, `owner-${n}`);
            assert.equal(job.state, 'running');
          }
        }),
      );
      assert.equal(claimed.length, 40);
      assert.equal(new Set(claimed.map((c) => c.id)).size, 40);
      assert.ok(claimed.every((c) => c.attempts === 1));
      if (kind === 'postgres') assert.ok(new Set(claimed.map((c) => c.owner)).size > 1, 'several connections won claims');
      // One claimer alone takes the oldest first.
      const order: string[] = [];
      for (let i = 0; i < 3; i++) {
        order.push((await dbs[0]!.jobs.create({ kind: 'order' })).id);
        await new Promise((r) => setTimeout(r, 3));
      }
      for (const id of order) assert.equal((await dbs[2]!.jobs.claim({ kinds: ['order'], owner: 'o', leaseMs: 60_000 }))!.id, id);
      // Kinds nobody asked for stay queued.
      const other = await dbs[0]!.jobs.create({ kind: 'other' });
      assert.equal(await dbs[1]!.jobs.claim({ kinds: ['race'], owner: 'x', leaseMs: 1000 }), null);
      assert.equal((await dbs[1]!.jobs.get(other.id))!.state, 'queued');
    });

    it('an expired lease is taken over (attempts + 1); the old owner can no longer renew, finish or release it', async () => {
      const db = opened[0] ?? (await open());
      const job = await db.jobs.create({ kind: 'lease', repoLabel: 'model:a/b', paths: ['x.bin'], revision: 'main' });
      const first = (await db.jobs.claim({ kinds: ['lease'], owner: 'old', leaseMs: 300 }))!;
      assert.equal(first.id, job.id);
      assert.deepEqual(await db.jobs.heartbeat(job.id, 'old', 300, { bytesDone: 10, bytesTotal: 100 }), { held: true, cancelRequested: false });
      assert.equal(await db.jobs.claim({ kinds: ['lease'], owner: 'new', leaseMs: 60_000 }), null, 'a live lease is not taken');
      await new Promise((r) => setTimeout(r, 400));
      const second = (await db.jobs.claim({ kinds: ['lease'], owner: 'new', leaseMs: 60_000 }))!;
      assert.equal(second.id, job.id);
      assert.equal(second.attempts, 2);
      assert.equal(second.bytesDone, 10, 'progress stays for the next attempt to resume from');
      assert.equal(second.startedAt!.getTime(), first.startedAt!.getTime(), 'started at the first attempt');
      assert.deepEqual(await db.jobs.heartbeat(job.id, 'old', 300, { bytesDone: 99 }), { held: false, cancelRequested: false });
      assert.equal(await db.jobs.finish(job.id, 'old', 'failed', 'stale'), null);
      assert.equal(await db.jobs.release(job.id, 'old'), false);
      const now = (await db.jobs.get(job.id))!;
      assert.equal(now.state, 'running');
      assert.equal(now.leaseOwner, 'new');
      assert.equal(now.bytesDone, 10);
      const ended = (await db.jobs.finish(job.id, 'new', 'completed', null, { bytesDone: 100 }))!;
      assert.equal(ended.state, 'completed');
      assert.equal(ended.leaseOwner, null);
      assert.equal(ended.runBy, 'new');
      assert.ok(ended.finishedAt);
      assert.deepEqual(ended.paths, ['x.bin']);
    });

    it('release puts a running job back in the queue for anyone at once', async () => {
      const db = opened[0]!;
      const job = await db.jobs.create({ kind: 'release' });
      await db.jobs.claim({ kinds: ['release'], owner: 'a', leaseMs: 60_000 });
      assert.equal(await db.jobs.release(job.id, 'a', { bytesDone: 5 }), true);
      const again = (await db.jobs.claim({ kinds: ['release'], owner: 'b', leaseMs: 60_000 }))!;
      assert.equal(again.id, job.id);
      assert.equal(again.bytesDone, 5);
      assert.equal(again.attempts, 2);
    });

    it('cancel: queued at once; running by request (the owner learns it at its heartbeat); a dead owner\'s job at once; finished ones stay', async () => {
      const db = opened[0]!;
      const queued = await db.jobs.create({ kind: 'cancel-q' });
      const c1 = (await db.jobs.requestCancel(queued.id))!;
      assert.equal(c1.state, 'cancelled');
      assert.ok(c1.finishedAt);
      assert.equal(await db.jobs.claim({ kinds: ['cancel-q'], owner: 'a', leaseMs: 1000 }), null);

      const running = await db.jobs.create({ kind: 'cancel-r' });
      await db.jobs.claim({ kinds: ['cancel-r'], owner: 'a', leaseMs: 60_000 });
      const c2 = (await db.jobs.requestCancel(running.id))!;
      assert.equal(c2.state, 'running');
      assert.equal(c2.cancelRequested, true);
      assert.deepEqual(await db.jobs.heartbeat(running.id, 'a', 60_000), { held: true, cancelRequested: true });
      assert.equal((await db.jobs.finish(running.id, 'a', 'cancelled', null))!.state, 'cancelled');

      const dead = await db.jobs.create({ kind: 'cancel-d' });
      await db.jobs.claim({ kinds: ['cancel-d'], owner: 'gone', leaseMs: 300 });
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await db.jobs.requestCancel(dead.id))!.state, 'cancelled');

      // A request that reached a job whose owner then died: it is reaped, never run again.
      const late = await db.jobs.create({ kind: 'cancel-l' });
      await db.jobs.claim({ kinds: ['cancel-l'], owner: 'gone', leaseMs: 300 });
      assert.equal((await db.jobs.requestCancel(late.id))!.cancelRequested, true);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await db.jobs.claim({ kinds: ['cancel-l'], owner: 'b', leaseMs: 1000 }), null);
      assert.equal((await db.jobs.get(late.id))!.state, 'cancelled');

      assert.equal((await db.jobs.requestCancel(queued.id))!.state, 'cancelled');
      assert.equal(await db.jobs.requestCancel('00000000-0000-4000-8000-000000000000'), null);
    });

    it('the log keeps the last lines in order', async () => {
      const db = opened[0]!;
      const job = await db.jobs.create({ kind: 'logs' });
      const at = new Date();
      for (let start = 1; start <= 30; start += 10) {
        await db.jobs.appendLog(job.id, Array.from({ length: 10 }, (_, i) => ({ seq: start + i, at, line: `line ${start + i}` })), 25);
      }
      const lines = await db.jobs.log(job.id);
      assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: 25 }, (_, i) => i + 6));
      assert.equal(lines[0]!.line, 'line 6');
      assert.equal(await db.jobs.lastLogSeq(job.id), 30);
      assert.deepEqual((await db.jobs.log(job.id, { after: 28 })).map((l) => l.line), ['line 29', 'line 30']);
      assert.equal(await db.jobs.lastLogSeq('00000000-0000-4000-8000-000000000000'), 0);
    });

    it('prune deletes finished jobs older than the cut with their logs, never queued or running ones', async () => {
      const db = opened[0]!;
      const make = async (state: 'completed' | 'failed' | 'cancelled' | 'running' | 'queued') => {
        const job = await db.jobs.create({ kind: `prune-${state}` });
        await db.jobs.appendLog(job.id, [{ seq: 1, at: new Date(), line: 'hello' }], 10);
        if (state === 'queued') return job.id;
        if (state === 'cancelled') return (await db.jobs.requestCancel(job.id))!.id;
        await db.jobs.claim({ kinds: [`prune-${state}`], owner: 'pruner', leaseMs: 60_000 });
        if (state !== 'running') await db.jobs.finish(job.id, 'pruner', state, state === 'failed' ? 'boom' : null);
        return job.id;
      };
      const ids = { completed: await make('completed'), failed: await make('failed'), cancelled: await make('cancelled'), running: await make('running'), queued: await make('queued') };
      assert.equal(await db.jobs.prune(new Date(Date.now() - 60_000), 100), 0, 'nothing finished before a minute ago');
      // Earlier tests left finished jobs of their own: they go too.
      assert.equal(await db.jobs.prune(new Date(Date.now() + 1000), 2), 2, 'at most the limit at a time');
      assert.ok((await db.jobs.prune(new Date(Date.now() + 1000), 1000)) >= 1);
      assert.equal(await db.jobs.prune(new Date(Date.now() + 1000), 1000), 0, 'all gone');
      for (const id of [ids.completed, ids.failed, ids.cancelled]) {
        assert.equal(await db.jobs.get(id), null);
        assert.deepEqual(await db.jobs.log(id), []);
      }
      for (const id of [ids.running, ids.queued]) {
        assert.ok(await db.jobs.get(id));
        assert.equal((await db.jobs.log(id)).length, 1);
      }
    });

    it('list: filters, search with LIKE wildcards taken literally, newest first, paged; changedSince', async () => {
      const db = opened[0]!;
      const since = new Date();
      const a = await db.jobs.create({ kind: 'listing', repoId: 'r-1', repoLabel: 'model:acme/100%_real' });
      await new Promise((r) => setTimeout(r, 5));
      const b = await db.jobs.create({ kind: 'listing', repoLabel: 'model:acme/100xxreal' });
      await new Promise((r) => setTimeout(r, 5));
      const c = await db.jobs.create({ kind: 'listing-2', repoLabel: 'dataset:other/x' });
      const ids = async (f: Parameters<typeof db.jobs.list>[0]) => (await db.jobs.list(f)).map((j) => j.id);
      assert.deepEqual(await ids({ kind: 'listing' }), [b.id, a.id]);
      assert.deepEqual(await ids({ q: '100%_' }), [a.id], '% and _ are literal');
      assert.deepEqual(await ids({ q: 'ACME' }), [b.id, a.id]);
      assert.deepEqual(await ids({ repoId: 'r-1' }), [a.id]);
      assert.deepEqual(await ids({ repoId: 'dataset:other/x' }), [c.id]);
      assert.deepEqual(await ids({ kind: 'listing', state: 'running' }), []);
      assert.deepEqual(await ids({ q: 'acme', limit: 1 }), [b.id]);
      assert.deepEqual(await ids({ q: 'acme', limit: 1, before: b.id }), [a.id]);
      assert.deepEqual(await ids({ q: 'acme', before: a.id }), []);
      const changed = (await db.jobs.changedSince(since, 100)).map((j) => j.id);
      for (const j of [a, b, c]) assert.ok(changed.includes(j.id));
    });
  });
}
