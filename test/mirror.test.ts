import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { git, remoteRefs, tmpDir } from './helpers/git.js';
import { jsonApi } from './helpers/api.js';
import { backends, serverLogOnFailure, startHub, type Hub } from './helpers/server.js';

// packhub as a mirror of an upstream hub: the upstream is a second packhub process (filesystem
// backend, so its LFS bytes pass through the fault proxy in front of it); the mirror runs on each
// backend. Registered mirrors, a faulty upstream, pull-through, offline serving, and a SIGKILL during
// a download job.

type User = { name: string; token: string; readToken: string };
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

const api = jsonApi;

/** Waits until a job ends; returns it with its log. */
async function jobDone(hub: Hub, admin: User, id: string, timeoutMs = 120_000): Promise<{ job: any; log: string[] }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(hub, admin, 'GET', `/api/admin/jobs/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    if (['completed', 'failed', 'cancelled'].includes(r.json.job.state)) return { job: r.json.job, log: r.json.log.map((l: any) => l.line) };
    if (Date.now() > until) throw new Error(`job ${id} still ${r.json.job.state} after ${timeoutMs} ms: ${JSON.stringify(r.json)}`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

/** Every download job queued for a repository, newest first. */
async function jobsOf(hub: Hub, admin: User, kind: string, repo: string): Promise<any[]> {
  const r = await api(hub, admin, 'GET', `/api/admin/jobs?kind=${kind}&q=${encodeURIComponent(repo)}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.jobs;
}

/** A repository pushed with real git and git-lfs: files by path (`*.bin` in LFS). */
async function pushRepo(
  hub: Hub,
  user: User,
  id: string,
  commits: Record<string, Buffer>[],
  extra: (dir: string) => Promise<void> = async () => undefined,
  opts: { private?: boolean } = {},
): Promise<string> {
  await hub.repo(id, opts);
  const dir = path.join(tmpDir('mirror-src'), 'w');
  await git(['init', '--quiet', '-b', 'main', dir]);
  await git(['lfs', 'install', '--local'], { cwd: dir });
  await git(['lfs', 'track', '*.bin'], { cwd: dir });
  for (const [i, files] of commits.entries()) {
    for (const [p, data] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), data);
    }
    await git(['add', '-A'], { cwd: dir });
    await git(['commit', '--quiet', '-m', `commit ${i + 1}`], { cwd: dir });
  }
  await extra(dir);
  await git(['push', '--quiet', '--follow-tags', `${hub.authUrl(user)}/${id}.git`, '--all'], { cwd: dir });
  await git(['push', '--quiet', `${hub.authUrl(user)}/${id}.git`, '--tags'], { cwd: dir });
  return dir;
}

/** Every file of a working tree (outside .git): path -> sha256. */
function treeHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, prefix: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), p);
      else out.set(p, sha256(fs.readFileSync(path.join(d, e.name))));
    }
  };
  walk(dir, '');
  return out;
}

for (const backend of backends()) {
  describe(`mirror of an upstream hub (${backend})`, () => {
    let upstream: Hub;
    let proxy: FaultProxy;
    let mirror: Hub;
    let upAdmin: User;
    let admin: User;
    let reader: User;
    const big = crypto.randomBytes(50 << 20);
    const bad = crypto.randomBytes(3 << 20);

    before(async () => {
      upstream = await startHub({ backend: 'fs' });
      upAdmin = await upstream.user('upadmin', { admin: true });
      proxy = await startFaultProxy(upstream.url);
      mirror = await startHub({
        backend,
        env: {
          PACKHUB_UPSTREAM_URL: proxy.url,
          PACKHUB_UPSTREAM_TOKEN: upAdmin.token,
          PACKHUB_UPSTREAM_PROXY: 'on',
          PACKHUB_UPSTREAM_DENY: 'denied/*',
          PACKHUB_UPSTREAM_TTL: '1s',
          PACKHUB_JOB_POLL_MS: '200',
          PACKHUB_JOB_LEASE_MS: '3000',
        },
      });
      admin = await mirror.user('root', { admin: true });
      reader = await mirror.user('reader');
    });
    afterEach((t) => serverLogOnFailure(t, mirror, upstream));
    after(async () => {
      await mirror?.stop();
      await proxy?.close();
      await upstream?.stop();
    });

    it('a registered mirror has the upstream’s commits, refs and files: git clone + lfs and @huggingface/hub give the same bytes', async () => {
      await pushRepo(
        upstream,
        upAdmin,
        'acme/model',
        [{ 'config.json': Buffer.from('{"model_type":"bert"}\n'), 'weights/a.bin': crypto.randomBytes(2 << 20) }, { 'README.md': Buffer.from('# model\n'), 'weights/b.bin': crypto.randomBytes(1 << 20) }],
        async (dir) => {
          await git(['tag', 'v1'], { cwd: dir });
          await git(['tag', '-a', 'v1-annotated', '-m', 'release'], { cwd: dir });
          await git(['checkout', '--quiet', '-b', 'dev'], { cwd: dir });
          fs.writeFileSync(path.join(dir, 'dev.txt'), 'on dev\n');
          await git(['add', '-A'], { cwd: dir });
          await git(['commit', '--quiet', '-m', 'dev work'], { cwd: dir });
        },
      );
      // A second repository made through the HF API (the JS client's commit, LFS for the big file).
      const upCreds = { hubUrl: upstream.url, accessToken: upAdmin.token as `hf_${string}` };
      await hf.createRepo({ repo: { type: 'dataset', name: 'acme/data' }, ...upCreds });
      await hf.uploadFiles({
        repo: { type: 'dataset', name: 'acme/data' },
        files: [
          { path: 'data/train.csv', content: new Blob([Buffer.from('a,b\n1,2\n')]) },
          { path: 'big.parquet', content: new Blob([crypto.randomBytes(3 << 20)]) },
        ],
        ...upCreds,
      });

      for (const [type, id, prefix] of [
        ['model', 'acme/model', ''],
        ['dataset', 'acme/data', 'datasets/'],
      ] as const) {
        if (type === 'dataset') {
          // The operator's way: the CLI registers, and --wait follows the sync and then the download.
          const out = await mirror.cli(['mirror', 'add', id, '--type', 'dataset', '--download', '--wait']);
          assert.match(out, /registered dataset acme\/data/);
          assert.match(out, /mirror\.download completed/);
          assert.match(await mirror.cli(['mirror', 'list']), /dataset\tacme\/data\tsynced\tregistered/);
        } else {
          const reg = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: id, type, download: true });
          assert.equal(reg.status, 201, JSON.stringify(reg.json));
          const sync = await jobDone(mirror, admin, reg.json.jobs[0]);
          assert.equal(sync.job.state, 'completed', sync.log.join('\n'));
          const [download] = await jobsOf(mirror, admin, 'mirror.download', id);
          assert.ok(download, 'the sync queued a download');
          const dl = await jobDone(mirror, admin, download.id);
          assert.equal(dl.job.state, 'completed', `${dl.job.error}\n${dl.log.join('\n')}`);
        }

        // Same refs (heads and tags, peeled tags included) as the upstream's.
        const upRefs = await remoteRefs(`${upstream.authUrl(upAdmin)}/${prefix}${id}.git`);
        const myRefs = await remoteRefs(`${mirror.url}/${prefix}${id}.git`);
        assert.deepEqual(myRefs, upRefs);

        // A clone with LFS from the mirror is the clone from the upstream, file for file.
        const a = path.join(tmpDir('mirror-clone'), 'up');
        const b = path.join(tmpDir('mirror-clone'), 'me');
        await git(['clone', '--quiet', `${upstream.authUrl(upAdmin)}/${prefix}${id}.git`, a]);
        await git(['clone', '--quiet', `${mirror.url}/${prefix}${id}.git`, b]);
        assert.equal(await git(['rev-parse', 'HEAD'], { cwd: b }), await git(['rev-parse', 'HEAD'], { cwd: a }));
        assert.deepEqual(treeHashes(b), treeHashes(a));

        // The JS client, pointed at the mirror, downloads every file byte-identical to the upstream's.
        const repo = { type, name: id } as const;
        for await (const f of hf.listFiles({ repo, recursive: true, hubUrl: mirror.url })) {
          if (f.type !== 'file') continue;
          const mine = await hf.downloadFile({ repo, path: f.path, hubUrl: mirror.url });
          const theirs = await hf.downloadFile({ repo, path: f.path, hubUrl: upstream.url, accessToken: upAdmin.token as `hf_${string}` });
          assert.ok(mine && theirs, f.path);
          assert.equal(sha256(Buffer.from(await mine.arrayBuffer())), sha256(Buffer.from(await theirs.arrayBuffer())), f.path);
        }
        // The upstream's commit id is the mirror's: a revision pinned by sha resolves.
        const sha = (await git(['rev-parse', 'HEAD'], { cwd: a })).trim();
        const info = await fetch(`${mirror.url}/api/${type}s/${id}/revision/${sha}`);
        assert.equal(info.status, 200);
        assert.equal(((await info.json()) as { sha: string }).sha, sha);
      }

      // Mirrors are read-only: a push and an API commit are refused with the reason.
      const pushDir = path.join(tmpDir('mirror-push'), 'p');
      await git(['clone', '--quiet', `${mirror.authUrl(admin)}/acme/model.git`, pushDir], { env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      fs.writeFileSync(path.join(pushDir, 'new.txt'), 'x\n');
      await git(['add', 'new.txt'], { cwd: pushDir });
      await git(['commit', '--quiet', '-m', 'local change'], { cwd: pushDir });
      await assert.rejects(git(['push', 'origin', 'main'], { cwd: pushDir }), /is a mirror of .* read-only/);
      await assert.rejects(
        hf.uploadFile({ repo: { type: 'model', name: 'acme/model' }, file: { path: 'x.txt', content: new Blob(['x']) }, hubUrl: mirror.url, accessToken: admin.token as `hf_${string}` }),
        /is a mirror of .* read-only/,
      );
      // Detached, it is an ordinary repository that keeps its history.
      assert.equal((await api(mirror, reader, 'POST', '/api/admin/mirrors/models/acme/model/detach')).status, 404, 'non-admins find nothing');
      assert.equal((await api(mirror, admin, 'POST', '/api/admin/mirrors/models/acme/model/detach')).status, 200);
      await git(['push', '--quiet', 'origin', 'main'], { cwd: pushDir });
    });

    it('a faulty upstream: a cut download resumes with Range, a 429 is waited out, wrong bytes are refused and never served', async () => {
      await pushRepo(upstream, upAdmin, 'acme/faulty', [{ 'big.bin': big, 'bad.bin': bad, 'ok.txt': Buffer.from('fine\n') }]);
      const bigPath = /\/acme\/faulty\/resolve\/[0-9a-f]{40}\/big\.bin/;
      const badPath = /\/acme\/faulty\/resolve\/[0-9a-f]{40}\/bad\.bin/;
      proxy.faults.push({ match: bigPath, kind: 'cut', afterBytes: 25 << 20, times: 1 });
      proxy.faults.push({ match: bigPath, kind: 'status', status: 429, headers: { 'retry-after': '2' }, times: 1, skip: 1 });
      proxy.faults.push({ match: badPath, kind: 'flip', times: Infinity });
      const reg = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: 'acme/faulty', download: true });
      assert.equal(reg.status, 201, JSON.stringify(reg.json));
      assert.equal((await jobDone(mirror, admin, reg.json.jobs[0])).job.state, 'completed');
      const [download] = await jobsOf(mirror, admin, 'mirror.download', 'acme/faulty');
      const dl = await jobDone(mirror, admin, download.id);
      assert.equal(dl.job.state, 'failed', dl.log.join('\n'));
      assert.match(dl.job.error, /1 of 2 files failed: bad\.bin: upstream sent wrong bytes .*SHA-256/);

      const bigRequests = proxy.seen.filter((s) => bigPath.test(s.path));
      assert.equal(bigRequests[0]!.range, null);
      const retry = bigRequests.findIndex((s) => s.status === 429);
      assert.ok(retry > 0, 'the upstream answered 429 once');
      const resumed = bigRequests[retry + 1]!;
      assert.match(resumed.range ?? '', /^bytes=\d+-$/, 'the download resumed with a Range request');
      assert.ok(Number(/=(\d+)-/.exec(resumed.range!)![1]) >= (24 << 20), `resumed from the cut, not from 0: ${resumed.range}`);
      assert.ok(resumed.at - bigRequests[retry]!.at >= 1900, `waited as Retry-After told (${resumed.at - bigRequests[retry]!.at} ms)`);
      assert.ok(proxy.bytesFor(bigPath) < big.length + (2 << 20), 'the bytes before the cut were not fetched again');

      // The good file is local and correct; the corrupted one is listed as failed and never served whole.
      const files = await api(mirror, admin, 'GET', '/api/admin/mirrors/models/acme/faulty');
      const states = Object.fromEntries(files.json.files.map((f: any) => [f.path, f.state]));
      assert.deepEqual(states, { '.gitattributes': 'local', 'big.bin': 'local', 'bad.bin': 'failed', 'ok.txt': 'local' });
      const got = await fetch(`${mirror.url}/acme/faulty/resolve/main/big.bin`);
      assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(big));
      let served: { status: number; body: Buffer } | null = null;
      try {
        const r = await fetch(`${mirror.url}/acme/faulty/resolve/main/bad.bin`);
        served = { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
      } catch {
        served = null; // the connection was cut before the last byte: a client never holds the wrong file whole
      }
      assert.ok(served === null || served.status !== 200 || served.body.length < bad.length, 'wrong bytes are never served whole');
    });

    it('pull-through: a repo never seen is fetched on first use, one upstream download for 5 clients, then served with the upstream gone', async () => {
      const weights = crypto.randomBytes(8 << 20);
      // Private upstream: only packhub's upstream token reads it; here it is private too (admins read it).
      const dir = await pushRepo(upstream, upAdmin, 'lazy/model', [{ 'model.bin': weights, 'other.bin': crypto.randomBytes(1 << 20), 'config.json': Buffer.from('{}\n') }], undefined, { private: true });
      const sha = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
      const modelPath = /\/lazy\/model\/resolve\/[0-9a-f]{40}\/model\.bin/;
      proxy.faults.push({ match: modelPath, kind: 'throttle', bytesPerSecond: 16 << 20, times: Infinity });
      const repo = { type: 'model', name: 'lazy/model' } as const;
      const creds = { hubUrl: mirror.url, accessToken: admin.token as `hf_${string}` };
      const downloads = await Promise.all(Array.from({ length: 5 }, () => hf.downloadFile({ repo, path: 'model.bin', ...creds })));
      for (const d of downloads) assert.equal(sha256(Buffer.from(await d!.arrayBuffer())), sha256(weights));
      assert.equal(proxy.seen.filter((s) => modelPath.test(s.path) && s.method === 'GET').length, 1, 'one upstream download for five clients');
      // Private here as upstream: a reader of this hub finds nothing; and no user's token ever went upstream.
      assert.equal((await fetch(`${mirror.url}/api/models/lazy/model`, { headers: { authorization: `Bearer ${reader.token}` } })).status, 404);
      for (const s of proxy.seen) assert.ok(!s.authorization?.includes(admin.token) && !s.authorization?.includes(reader.token), `a user's token went upstream: ${s.path}`);
      assert.ok(proxy.seen.some((s) => s.authorization === `Bearer ${upAdmin.token}`), 'the upstream token was used');
      // Denied by the rules: not fetched, simply not found.
      assert.equal((await fetch(`${mirror.url}/api/models/denied/model`)).status, 401);

      // The upstream goes away: what is here is served by branch and by commit; the rest is a clear 503.
      await upstream.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1100)); // past the branch TTL: the mirror asks upstream, fails, serves what it has
      for (const revision of ['main', sha]) {
        const d = await hf.downloadFile({ repo, path: 'model.bin', revision, ...creds });
        assert.equal(sha256(Buffer.from(await d!.arrayBuffer())), sha256(weights), revision);
        const info = await fetch(`${mirror.url}/api/models/lazy/model/revision/${revision}`, { headers: { authorization: `Bearer ${admin.token}` } });
        assert.equal(info.status, 200);
        assert.equal(((await info.json()) as { sha: string }).sha, sha);
      }
      const missing = await fetch(`${mirror.url}/lazy/model/resolve/main/other.bin`, { headers: { authorization: `Bearer ${admin.token}` } });
      assert.equal(missing.status, 503);
      assert.match(missing.headers.get('x-error-message') ?? '', /other\.bin is not stored here yet and the upstream failed: upstream .* unreachable/);
      const unknown = await fetch(`${mirror.url}/api/models/never/seen`);
      assert.equal(unknown.status, 503);
      assert.match(unknown.headers.get('x-error-message') ?? '', /not mirrored here and the upstream could not be asked/);
      await upstream.restart();
    });
  });
}

describe('mirror download job survives a SIGKILL of the server', () => {
  let upstream: Hub;
  let proxy: FaultProxy;
  let mirror: Hub;

  afterEach((t) => serverLogOnFailure(t, mirror, upstream));
  after(async () => {
    await mirror?.stop();
    await proxy?.close();
    await upstream?.stop();
  });

  it('the job resumes after a restart from the bytes already stored and completes', async () => {
    upstream = await startHub({ backend: 'fs' });
    const upAdmin = await upstream.user('upadmin', { admin: true });
    proxy = await startFaultProxy(upstream.url);
    const huge = crypto.randomBytes(200 << 20);
    await pushRepo(upstream, upAdmin, 'acme/huge', [{ 'huge.bin': huge }]);
    const hugePath = /\/acme\/huge\/resolve\/[0-9a-f]{40}\/huge\.bin/;
    proxy.faults.push({ match: hugePath, kind: 'throttle', bytesPerSecond: 25 << 20, times: 1 });
    mirror = await startHub({
      backend: 'fs',
      env: { PACKHUB_UPSTREAM_URL: proxy.url, PACKHUB_UPSTREAM_TOKEN: upAdmin.token, PACKHUB_JOB_POLL_MS: '200', PACKHUB_JOB_LEASE_MS: '2000' },
    });
    const admin = await mirror.user('root', { admin: true });
    const reg = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: 'acme/huge', download: true });
    assert.equal((await jobDone(mirror, admin, reg.json.jobs[0])).job.state, 'completed');
    const [download] = await jobsOf(mirror, admin, 'mirror.download', 'acme/huge');
    // Kill the server once about 80 MiB have come through.
    while (proxy.bytesFor(hugePath) < 80 << 20) await new Promise((r) => setTimeout(r, 50));
    await mirror.kill('SIGKILL');
    const before = proxy.bytesFor(hugePath);
    await mirror.restart();
    const done = await jobDone(mirror, admin, download.id, 180_000);
    assert.equal(done.job.state, 'completed', `${done.job.error}\n${done.log.join('\n')}`);
    assert.equal(done.job.attempts, 2);
    const requests = proxy.seen.filter((s) => hugePath.test(s.path) && s.method === 'GET');
    assert.equal(requests.length, 2, JSON.stringify(requests));
    assert.match(requests[1]!.range ?? '', /^bytes=\d+-$/);
    const total = proxy.bytesFor(hugePath);
    assert.ok(total - huge.length < (8 << 20), `bytes before the kill were not fetched again (${total} for ${huge.length}, ${before} before the kill)`);
    const got = await fetch(`${mirror.url}/acme/huge/resolve/main/huge.bin`);
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(huge));
  });
});
