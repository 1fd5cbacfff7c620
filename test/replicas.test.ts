import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { startGate } from './helpers/gate.js';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { run } from './helpers/run.js';
import { ROOT, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Two packhub processes on one PostgreSQL schema and one S3 bucket (s3rver), behind nginx
// round-robin (the deployment's docker/nginx.conf with two upstream servers): writes through both
// at once are all visible through both; compaction on one never removes a pack the other serves;
// caches and sessions follow changes made by the other; a replica SIGKILLed mid-push and
// mid-download leaves the other serving and nothing half-applied, and restarts.

const MiB = 1 << 20;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function nginxConf(dir: string, listen: number, upstreams: number[]): string {
  let conf = fs.readFileSync(path.join(ROOT, 'docker/nginx.conf'), 'utf8');
  conf = conf.replace('server packhub:8080;', upstreams.map((p) => `server 127.0.0.1:${p};`).join('\n    ')).replace('listen 80;', `listen 127.0.0.1:${listen};`);
  conf = conf.replace(/\/tmp\/nginx([-\w.]*)/g, (_m, rest: string) => path.join(dir, `nginx${rest}`));
  conf = conf.replace('access_log /dev/stdout;', `access_log ${path.join(dir, 'access.log')};`);
  if (process.getuid?.() === 0) conf = `user root;\n${conf}`;
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return file;
}

async function commitFile(dir: string, name: string, content: string | Buffer, message: string): Promise<string> {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', message], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

describe('two replicas on one PostgreSQL and one bucket behind nginx', () => {
  let a: Hub | undefined;
  let b: Hub | undefined;
  let nginx: ChildProcess | undefined;
  let front: string;
  let alice: { name: string; token: string };
  const creds = (hubUrl: string) => ({ hubUrl, accessToken: alice.token as `hf_${string}` });
  const gitUrl = (base: string, repo: string) => `${base.replace('http://', `http://alice:${alice.token}@`)}/alice/${repo}.git`;

  before(() =>
    withServerLog(
      () => a,
      async () => {
        const common = {
          PACKHUB_GC_INTERVAL_MS: '0',
          PACKHUB_REGISTRATION: 'open',
          PACKHUB_LFS_THRESHOLD: String(256 * 1024),
          // Compaction soon after a burst, replaced packs gone 3 s later (the other replica serves on).
          PACKHUB_COMPACT_MIN_PACKS: '3',
          PACKHUB_COMPACT_DELAY_MS: '1000',
          PACKHUB_COMPACT_GRACE_MS: '3000',
        };
        a = await startHub({ backend: 's3', env: common });
        const shared = Object.fromEntries(Object.entries(a.env).filter(([k]) => /^PACKHUB_(DATABASE_URL|S3_)/.test(k)));
        b = await startHub({ backend: 's3', env: { ...common, ...shared } });
        alice = await a.user('alice');
        const dir = tmpDir('replicas-nginx');
        const port = await freePort();
        const conf = nginxConf(dir, port, [a.port, b.port]);
        const check = await run('nginx', ['-t', '-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')]);
        assert.equal(check.code, 0, check.stderr);
        nginx = spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
        front = `http://127.0.0.1:${port}`;
        for (let i = 0; i < 100; i++) {
          if (await fetch(`${front}/healthz`).then((r) => r.ok, () => false)) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    ),
  );
  afterEach((t) => {
    serverLogOnFailure(t, a);
    serverLogOnFailure(t, b);
  });
  after(async () => {
    nginx?.kill('SIGQUIT');
    await b?.stop();
    await a?.stop();
  });

  it('pushes, API commits, LFS uploads and downloads through both at once: every accepted write is visible through both', async () => {
    await hf.createRepo({ ...creds(front), repo: 'alice/shared' });
    const url = gitUrl(front, 'shared');
    const base = path.join(tmpDir('replicas-base'), 'w');
    await git(['clone', '--quiet', url, base]);
    const lfsData = crypto.randomBytes(2 * MiB);
    const expected = new Map<string, string>(); // branch -> commit
    const writes: Promise<void>[] = [];
    // Four git pushers, each to its own branch, three pushes each (with an LFS file in the first).
    for (let p = 0; p < 4; p++) {
      writes.push(
        (async () => {
          const work = path.join(tmpDir('replicas-push'), 'w');
          await git(['clone', '--quiet', url, work]);
          await git(['checkout', '--quiet', '-b', `push-${p}`], { cwd: work });
          let head = await commitFile(work, `weights-${p}.bin`, Buffer.concat([lfsData, Buffer.from([p])]), `lfs ${p}`);
          await git(['push', '--quiet', url, `push-${p}`], { cwd: work });
          for (let i = 0; i < 2; i++) {
            head = await commitFile(work, `p${p}/f${i}.txt`, `${p} ${i} ${crypto.randomUUID()}\n`, `push ${p}.${i}`);
            await git(['push', '--quiet', url, `push-${p}`], { cwd: work });
          }
          expected.set(`refs/heads/push-${p}`, head);
        })(),
      );
    }
    // Two API writers committing to main in turn (each commit on the head it finds).
    const apiFiles = new Map<string, Buffer>();
    for (let w = 0; w < 2; w++) {
      writes.push(
        (async () => {
          for (let i = 0; i < 3; i++) {
            const small = Buffer.from(`api ${w} ${i} ${crypto.randomUUID()}\n`);
            const big = crypto.randomBytes(300 * 1024 + w * 10 + i);
            await hf.uploadFiles({ ...creds(front), repo: 'alice/shared', files: [{ path: `api/${w}-${i}.txt`, content: new Blob([small]) }, { path: `api/${w}-${i}.dat`, content: new Blob([big]) }] });
            apiFiles.set(`api/${w}-${i}.txt`, small);
            apiFiles.set(`api/${w}-${i}.dat`, big);
          }
        })(),
      );
    }
    await Promise.all(writes);
    for (const hub of [a!, b!]) {
      const log = fs.readFileSync(hub.logFile, 'utf8');
      assert.match(log, /"msg":"push"/, `replica ${hub.port} received pushes`);
      assert.match(log, /"url":"\/api\/models\/alice\/shared\/commit\/main"/, `replica ${hub.port} received API commits`);
    }

    for (const hub of [a!, b!]) {
      const refs = await remoteRefs(gitUrl(hub.url, 'shared'));
      for (const [ref, oid] of expected) assert.equal(refs.get(ref), oid, `${ref} through ${hub.port}`);
      const clone = path.join(tmpDir('replicas-clone'), 'c');
      await git(['clone', '--quiet', '--branch', 'push-2', gitUrl(hub.url, 'shared'), clone]);
      await git(['fsck', '--strict'], { cwd: clone });
      assert.ok(fs.readFileSync(path.join(clone, 'weights-2.bin')).equals(Buffer.concat([lfsData, Buffer.from([2])])), 'LFS content through git lfs');
      for (const [p, content] of apiFiles) {
        const got = await hf.downloadFile({ ...creds(hub.url), repo: 'alice/shared', path: p });
        assert.ok(got && Buffer.from(await got.arrayBuffer()).equals(content), `${p} through ${hub.port}`);
      }
    }
  });

  it('compaction on one never removes a pack the other serves; caches follow the other replica; sessions are shared', async () => {
    await a!.repo('alice/compacted');
    const work = path.join(tmpDir('replicas-compact'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    let head = '';
    for (let i = 0; i < 4; i++) {
      head = await commitFile(work, `f${i}.txt`, `${i} ${crypto.randomUUID()}\n`, `c${i}`);
      await git(['push', '--quiet', gitUrl(a!.url, 'compacted'), 'main'], { cwd: work }); // A compacts after this burst
    }
    // B clones (full and filtered: its pack proofs and response cache) in a loop while A compacts and,
    // 3 s later, deletes the packs it replaced.
    const end = Date.now() + 9000;
    let clones = 0;
    while (Date.now() < end) {
      const c = path.join(tmpDir('replicas-b'), 'c');
      const args = clones % 2 ? ['clone', '--quiet', '--filter=blob:none', gitUrl(b!.url, 'compacted'), c] : ['clone', '--quiet', gitUrl(b!.url, 'compacted'), c];
      const r = await gitResult(args, {});
      assert.equal(r.code, 0, `clone ${clones} through B failed:\n${r.stderr}`);
      assert.equal((await git(['rev-parse', 'HEAD'], { cwd: c })).trim(), head);
      await git(['fsck', '--strict'], { cwd: c });
      clones++;
    }
    assert.match(fs.readFileSync(a!.logFile, 'utf8'), /"msg":"compacted"/, 'A compacted meanwhile');

    // A changes the repository; B's next clones (full and filtered) have it.
    head = await commitFile(work, 'after.txt', 'after compaction\n', 'after');
    await git(['push', '--quiet', gitUrl(a!.url, 'compacted'), 'main'], { cwd: work });
    for (const filter of [[], ['--filter=blob:none']]) {
      const c = path.join(tmpDir('replicas-b2'), 'c');
      await git(['clone', '--quiet', ...filter, gitUrl(b!.url, 'compacted'), c]);
      assert.equal((await git(['rev-parse', 'HEAD'], { cwd: c })).trim(), head);
      assert.equal(fs.readFileSync(path.join(c, 'after.txt'), 'utf8'), 'after compaction\n');
    }

    // A session made on A is good on B; ended on B, it is gone on A.
    const reg = await fetch(`${a!.url}/ui-api/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'carol', password: 'long enough password' }) });
    assert.equal(reg.status, 201);
    const cookie = (reg.headers.get('set-cookie') ?? '').split(';')[0]!;
    const me = (hub: Hub) => fetch(`${hub.url}/ui-api/me`, { headers: { Cookie: cookie } }).then(async (r) => ({ status: r.status, body: await r.text() }));
    assert.match((await me(b!)).body, /carol/);
    assert.equal((await fetch(`${b!.url}/ui-api/logout`, { method: 'POST', headers: { Cookie: cookie } })).status, 200);
    assert.doesNotMatch((await me(a!)).body, /carol/);
  });

  it('resolve on one follows pushes and compactions made through the other at once (its kept refs and packs are per state version)', async () => {
    await a!.repo('alice/followed');
    const work = path.join(tmpDir('replicas-follow'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    const compactions = () => fs.readFileSync(a!.logFile, 'utf8').split('"msg":"compacted"').length - 1;
    const before = compactions();
    const resolve = async (hub: Hub, file: string) => {
      const r = await fetch(`${hub.url}/alice/followed/resolve/main/${file}`, { headers: { Authorization: `Bearer ${alice.token}` } });
      return { status: r.status, commit: r.headers.get('x-repo-commit'), body: await r.text() };
    };
    for (let i = 0; i < 5; i++) {
      const head = await commitFile(work, 'x.txt', `version ${i}\n`, `v${i}`);
      await git(['push', '--quiet', gitUrl(a!.url, 'followed'), 'main'], { cwd: work });
      // B read the repository before this push (and kept what it read): the next request sees the push.
      for (let k = 0; k < 2; k++) assert.deepEqual(await resolve(b!, 'x.txt'), { status: 200, commit: head, body: `version ${i}\n` }, `push ${i} seen on B`);
    }
    // A compacts after the burst (3 packs or more); B's next reads use the compacted pack, and its old packs go 3 s later.
    const deadline = Date.now() + 15_000;
    while (compactions() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(compactions() > before, 'A compacted the repository');
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal((await resolve(b!, 'x.txt')).body, 'version 4\n');
    const head = await commitFile(work, 'y.txt', 'new file\n', 'y');
    await git(['push', '--quiet', gitUrl(a!.url, 'followed'), 'main'], { cwd: work });
    assert.deepEqual(await resolve(b!, 'y.txt'), { status: 200, commit: head, body: 'new file\n' });
  });

  it('a replica SIGKILLed mid-push and mid-download: the other serves on, nothing is half-applied, a restart recovers', async () => {
    await a!.repo('alice/killed');
    const work = path.join(tmpDir('replicas-kill'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    const huge = crypto.randomBytes(6 * MiB).toString('base64');
    await commitFile(work, 'huge.txt', huge, 'huge');
    await git(['push', '--quiet', gitUrl(a!.url, 'killed'), 'main'], { cwd: work });
    const before = await remoteRefs(gitUrl(a!.url, 'killed'));

    // Mid-download: a large file from B, read slowly (one chunk now, the rest after the kill).
    const res = await fetch(`${b!.url}/alice/killed/resolve/main/huge.txt`, { headers: { Authorization: `Bearer ${alice.token}` } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let got = (await reader.read()).value!.length;
    // Mid-push: a push to B whose body is held half-way (by a proxy), killed then.
    await commitFile(work, 'huge2.txt', crypto.randomBytes(6 * MiB).toString('base64'), 'huge2');
    const gate = await startGate(b!.port);
    const pushing = gitResult(['push', `http://alice:${alice.token}@127.0.0.1:${gate.port}/alice/killed.git`, 'main'], { cwd: work });
    await gate.engaged;
    await new Promise((r) => setTimeout(r, 500));
    await b!.kill('SIGKILL');
    gate.release();
    const push = await pushing;
    await gate.close();
    assert.notEqual(push.code, 0, `the push to the killed replica fails:\n${push.stderr}`);
    const cut = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return false;
          got += value.length;
        }
      } catch {
        return true;
      }
    })();
    assert.ok(cut || got < huge.length, `the download from the killed replica was cut (${got} of ${huge.length} bytes)`);

    // A serves on, with nothing of the killed push applied; nginx sends requests to A.
    assert.deepEqual(await remoteRefs(gitUrl(a!.url, 'killed')), before);
    for (const base of [a!.url, front]) {
      const whole = await fetch(`${base}/alice/killed/resolve/main/huge.txt`, { headers: { Authorization: `Bearer ${alice.token}` } });
      assert.equal(whole.status, 200);
      assert.equal(await whole.text(), huge);
    }

    // B restarts and serves; the push, done again, goes through it.
    await b!.restart();
    await git(['push', '--quiet', gitUrl(b!.url, 'killed'), 'main'], { cwd: work });
    const clone = path.join(tmpDir('replicas-after'), 'c');
    await git(['clone', '--quiet', gitUrl(a!.url, 'killed'), clone]);
    await git(['fsck', '--strict'], { cwd: clone });
    assert.equal((await git(['rev-parse', 'HEAD'], { cwd: clone })).trim(), (await git(['rev-parse', 'HEAD'], { cwd: work })).trim());
  });
});
