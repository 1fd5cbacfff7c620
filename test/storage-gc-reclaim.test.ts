import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { openDb } from '../src/db/typeorm-db.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createBlobStore } from '../src/storage/index.js';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Garbage collection gives storage back: after a branch deletion and a super-squash (a force push of
// a single new root commit), and after repositories are deleted, what is stored (the data dir's
// objects / the bucket) comes back to within 5% of what the refs still reach; quotas follow; an LFS
// object two repositories share goes only when neither links it. The admin overview counts each
// repository's live packs only, not the superseded ones waiting for their grace period.

const KiB = 1024;
const blobOf = (b: Buffer) => new Blob([b]);

async function storedBytes(blobs: BlobStore): Promise<number> {
  let n = 0;
  for (const prefix of ['repos/', 'lfs/', 'lfs-staging/']) for await (const { size } of blobs.list(prefix)) n += size;
  return n;
}

async function lfsKeys(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of blobs.list('lfs/')) out.push(key);
  return out;
}

/** Bytes of a pack of every object the remote's refs reach (as git packs them), plus the LFS objects they point at. */
async function reachableBytes(url: string, lfsSizes: number[]): Promise<number> {
  const dir = path.join(tmpDir('gc-reach'), 'r');
  await git(['clone', '--quiet', '--mirror', url, dir]);
  await git(['fsck', '--no-dangling', '--strict'], { cwd: dir });
  await git(['repack', '-a', '-d', '-q'], { cwd: dir });
  const packDir = path.join(dir, 'objects', 'pack');
  const packs = fs.readdirSync(packDir).filter((f) => f.endsWith('.pack') || f.endsWith('.idx'));
  return packs.reduce((n, f) => n + fs.statSync(path.join(packDir, f)).size, 0) + lfsSizes.reduce((a, b) => a + b, 0);
}

function usedPublic(out: string): number {
  const m = /public (\d+) bytes used/.exec(out);
  assert.ok(m, out);
  return Number(m[1]);
}

const within5 = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= expected * 0.05, `${what}: ${actual} bytes stored, ${expected} reachable (more than 5% apart)`);

for (const backend of backends()) {
  describe(`storage is reclaimed (${backend})`, () => {
    let hub: Hub | undefined;
    let blobs: BlobStore;
    let alice: { name: string; token: string; readToken: string };
    const creds = () => ({ hubUrl: hub!.url, accessToken: alice.token as `hf_${string}` });

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          // No compaction or gc on their own: the test runs `packhub gc`; replaced packs go at once.
          hub = await startHub({
            backend,
            env: { PACKHUB_GC_INTERVAL_MS: '0', PACKHUB_COMPACT_MIN_PACKS: '0', PACKHUB_COMPACT_GRACE_MS: '0', PACKHUB_LFS_THRESHOLD: String(64 * KiB) },
          });
          alice = await hub.user('alice');
          blobs = await createBlobStore(loadConfig(hub.env).storage);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('after a deleted branch and a super-squash, storage and quota usage come back to what the refs reach', async () => {
      await hf.createRepo({ ...creds(), repo: 'alice/big' });
      // An LFS file through the API, then history through git: four commits of 256 KiB each and a branch.
      await hf.uploadFile({ ...creds(), repo: 'alice/big', file: { path: 'weights.bin', content: blobOf(crypto.randomBytes(300 * KiB)) } });
      const url = `${hub!.authUrl(alice)}/alice/big.git`;
      const work = path.join(tmpDir('gc-big'), 'w');
      await git(['clone', '--quiet', url, work]);
      for (let i = 0; i < 4; i++) {
        fs.writeFileSync(path.join(work, `part-${i}.dat`), crypto.randomBytes(256 * KiB));
        await git(['add', '.'], { cwd: work });
        await git(['commit', '--quiet', '-m', `part ${i}`], { cwd: work });
        await git(['push', '--quiet', url, 'main'], { cwd: work });
      }
      await git(['checkout', '--quiet', '-b', 'feature'], { cwd: work });
      fs.writeFileSync(path.join(work, 'feature.dat'), crypto.randomBytes(256 * KiB));
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'feature'], { cwd: work });
      await git(['push', '--quiet', url, 'feature'], { cwd: work });
      await git(['push', '--quiet', url, ':feature'], { cwd: work });
      // The super-squash: one new root commit with new content, forced onto main.
      await git(['checkout', '--quiet', '--orphan', 'squashed'], { cwd: work });
      await git(['rm', '-r', '--quiet', '--cached', '.'], { cwd: work });
      for (const f of fs.readdirSync(work)) if (f !== '.git') fs.rmSync(path.join(work, f), { recursive: true });
      fs.writeFileSync(path.join(work, 'now.dat'), crypto.randomBytes(200 * KiB));
      fs.writeFileSync(path.join(work, 'README.md'), 'squashed\n');
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'squashed'], { cwd: work });
      await git(['push', '--quiet', '--force', url, 'squashed:main'], { cwd: work });

      const before = await storedBytes(blobs);
      const usageBefore = usedPublic(await hub!.cli(['quota', 'show', 'alice']));
      assert.ok(before > 1500 * KiB, `history is stored: ${before}`);

      const dry = await hub!.cli(['gc', '--dry-run', '--grace-ms', '0']);
      assert.match(dry, /git: 1 repositories; [1-9]\d* unreachable objects past the grace period to drop/);
      assert.match(dry, /lfs: 1 links no reachable pointer names to remove/);
      assert.equal(await storedBytes(blobs), before, 'a dry run deletes nothing');

      const out = await hub!.cli(['gc', '--grace-ms', '0']);
      assert.match(out, /unreachable objects past the grace period dropped/);
      assert.match(out, /lfs: 1 links no reachable pointer names removed; 1 objects no repository links deleted \(307200 bytes\)/);
      const reachable = await reachableBytes(url, []);
      const afterGc = await storedBytes(blobs);
      within5(afterGc, reachable, 'after the super-squash');
      assert.ok(afterGc < before / 4, `${afterGc} of ${before} bytes left`);
      const usageAfter = usedPublic(await hub!.cli(['quota', 'show', 'alice']));
      assert.ok(usageAfter < usageBefore / 4, `quota usage drops: ${usageBefore} -> ${usageAfter}`);
      within5(usageAfter, reachable, 'quota usage');

      // What the refs reach still serves, to git and to the API.
      const clone = path.join(tmpDir('gc-after'), 'c');
      await git(['clone', '--quiet', url, clone]);
      assert.equal(fs.readFileSync(path.join(clone, 'README.md'), 'utf8'), 'squashed\n');
      assert.equal((await gitResult(['fsck', '--strict'], { cwd: clone })).code, 0);
      const readme = await hf.downloadFile({ ...creds(), repo: 'alice/big', path: 'README.md' });
      assert.equal(await readme!.text(), 'squashed\n');
    });

    it('after repositories are deleted their storage goes; an LFS object two of them share stays while one links it', async () => {
      const shared = crypto.randomBytes(200 * KiB);
      const sharedOid = crypto.createHash('sha256').update(shared).digest('hex');
      for (const name of ['alice/one', 'alice/two']) {
        await hf.createRepo({ ...creds(), repo: name });
        await hf.uploadFiles({
          ...creds(),
          repo: name,
          files: [
            { path: 'shared.bin', content: blobOf(shared) },
            { path: 'own.bin', content: blobOf(crypto.randomBytes(100 * KiB)) },
            { path: 'small.dat', content: blobOf(crypto.randomBytes(40 * KiB)) },
          ],
        });
      }
      const bigUrl = `${hub!.authUrl(alice)}/alice/big.git`;
      const baseline = await reachableBytes(bigUrl, []);
      assert.ok((await storedBytes(blobs)) > baseline + 400 * KiB, 'the two repositories are stored');

      await hf.deleteRepo({ ...creds(), repo: 'alice/one' });
      await hub!.cli(['gc', '--grace-ms', '0']);
      assert.ok((await lfsKeys(blobs)).some((k) => k.endsWith(sharedOid)), 'alice/two still links the shared object');
      const two = await hf.downloadFile({ ...creds(), repo: 'alice/two', path: 'shared.bin' });
      assert.ok(Buffer.from(await two!.arrayBuffer()).equals(shared));

      await hf.deleteRepo({ ...creds(), repo: 'alice/two' });
      const out = await hub!.cli(['gc', '--grace-ms', '0']);
      assert.match(out, /2 objects no repository links deleted \(307200 bytes\)/);
      assert.deepEqual(await lfsKeys(blobs), []);
      within5(await storedBytes(blobs), baseline, 'after deleting the repositories');
    });

    it('runs as a job an admin queues; its report is the job\'s result and the dashboard shows it', async () => {
      const root = await hub!.user('root', { admin: true });
      const api = async (method: string, p: string, body?: unknown, who = root) => {
        const res = await fetch(`${hub!.url}${p}`, {
          method,
          headers: { Authorization: `Bearer ${who.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      assert.equal((await api('GET', '/api/admin/overview')).body.gc.last, null);
      assert.equal((await api('POST', '/api/admin/jobs', { kind: 'storage.gc', params: { dryRun: 'yes' } })).status, 400);
      assert.equal((await api('POST', '/api/admin/jobs', { kind: 'storage.gc', params: { everything: true } })).status, 400);
      assert.equal((await api('POST', '/api/admin/jobs', { kind: 'storage.gc' }, alice)).status, 404, 'not an admin: no such route');

      // An LFS object only a deleted repository linked: the server's grace period (an hour) keeps it for now.
      const orphan = crypto.randomBytes(150 * KiB);
      await hf.createRepo({ ...creds(), repo: 'alice/gone' });
      await hf.uploadFile({ ...creds(), repo: 'alice/gone', file: { path: 'orphan.bin', content: blobOf(orphan) } });
      await hf.deleteRepo({ ...creds(), repo: 'alice/gone' });
      const queued = await api('POST', '/api/admin/jobs', { kind: 'storage.gc' });
      assert.equal(queued.status, 201, JSON.stringify(queued.body));
      let job: Record<string, any> = queued.body;
      const end = Date.now() + 60_000;
      while (job.state !== 'completed') {
        assert.ok(!['failed', 'cancelled'].includes(job.state) && Date.now() < end, `the gc job did not complete: ${JSON.stringify(job)}`);
        await new Promise((r) => setTimeout(r, 200));
        job = (await api('GET', `/api/admin/jobs/${queued.body.id}`)).body.job;
      }
      assert.equal(job.result.dryRun, false);
      assert.equal(job.result.reclaimedBytes, 0, 'nothing is past the grace period yet');
      assert.ok(job.result.reclaimableBytes >= orphan.length, `the orphan waits: ${JSON.stringify(job.result)}`);
      const log = (await api('GET', `/api/admin/jobs/${job.id}`)).body.log.map((l: { line: string }) => l.line).join('\n');
      assert.match(log, /lfs: .* bytes in their grace period/);
      const gc = (await api('GET', '/api/admin/overview')).body.gc;
      assert.equal(gc.last.id, job.id);
      assert.equal(gc.last.reclaimableBytes, job.result.reclaimableBytes);
      assert.equal(gc.active, null);
    });
  });
}

for (const backend of backends()) {
  describe(`the admin overview counts live packs per repository (${backend})`, () => {
    let hub: Hub | undefined;
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('two repositories with several packs each, some superseded: bytes, usage and last change per repository and namespace', async () => {
      // No compaction on its own; `packhub gc` compacts, and superseded packs wait out the default grace period.
      hub = await withServerLog(() => hub, () => startHub({ backend, env: { PACKHUB_GC_INTERVAL_MS: '0', PACKHUB_COMPACT_MIN_PACKS: '0' } }));
      const root = await hub.user('root', { admin: true });
      const users = { alice: await hub.user('alice'), bob: await hub.user('bob') };
      await hub.repo('alice/first');
      await hub.repo('bob/second', { private: true });
      const work = new Map<string, string>();
      /** One commit of new content, pushed: one pack more. */
      const push = async (ns: 'alice' | 'bob', id: string) => {
        const url = `${hub!.authUrl(users[ns])}/${id}.git`;
        if (!work.has(id)) {
          work.set(id, path.join(tmpDir('overview'), 'w'));
          await git(['init', '--quiet', '-b', 'main', work.get(id)!]);
        }
        const dir = work.get(id)!;
        fs.writeFileSync(path.join(dir, `${crypto.randomUUID()}.dat`), crypto.randomBytes(8 * KiB));
        await git(['add', '.'], { cwd: dir });
        await git(['commit', '--quiet', '-m', 'more'], { cwd: dir });
        await git(['push', '--quiet', url, 'main'], { cwd: dir });
      };
      for (let i = 0; i < 3; i++) await push('alice', 'alice/first');
      for (let i = 0; i < 2; i++) await push('bob', 'bob/second');
      await hub.cli(['gc', '--grace-ms', '0']);
      // SQLite keeps pack times to the second: the packs after the compaction are newer than it.
      await new Promise((r) => setTimeout(r, 1100));
      for (let i = 0; i < 2; i++) await push('alice', 'alice/first');
      await push('bob', 'bob/second');

      const db = await openDb(loadConfig(hub.env).database, createLogger('silent'));
      const expected = new Map<string, { packBytes: number; changedAt: string; usage: { privateBytes: number; publicBytes: number } }>();
      try {
        for (const id of ['alice/first', 'bob/second']) {
          const [ns, name] = id.split('/');
          const repo = (await db.repos.find('model', ns!, name!))!;
          const live = await db.packs.listLive(repo.id);
          const superseded = await db.packs.listSuperseded(repo.id);
          assert.ok(live.length >= 2 && superseded.length >= 2, `${id}: ${live.length} live and ${superseded.length} superseded packs`);
          const newest = live.reduce((t, p) => (p.createdAt > t ? p.createdAt : t), repo.updatedAt);
          assert.ok(live.some((p) => p.createdAt < newest), `${id}: its live packs are of different times`);
          expected.set(id, { packBytes: live.reduce((n, p) => n + p.sizeBytes, 0), changedAt: newest.toISOString(), usage: await db.quotas.usage(ns!) });
        }
      } finally {
        await db.close();
      }
      const res = await fetch(`${hub.url}/api/admin/overview`, { headers: { Authorization: `Bearer ${root.token}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, any>;
      for (const [id, e] of expected) {
        const ns = body.storage.namespaces.find((n: { namespace: string }) => n.namespace === id.split('/')[0]);
        assert.equal(ns.repos, 1);
        assert.equal(ns.packBytes, e.packBytes, `${id}: live packs only`);
        assert.deepEqual({ privateBytes: ns.privateBytes, publicBytes: ns.publicBytes }, e.usage, `${id}: quota usage`);
        assert.equal(body.recent.repos.find((r: { id: string }) => r.id === id).updatedAt, e.changedAt, `${id}: changed when its newest live pack was made`);
      }
      assert.equal(body.storage.packBytes, [...expected.values()].reduce((n, e) => n + e.packBytes, 0));
    });
  });
}
