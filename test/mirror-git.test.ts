import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { openDb, type OpenedDb } from '../src/db/typeorm-db.js';
import { GitStore } from '../src/git/store/git-store.js';
import { syncGitFromUpstream, type GitSyncOptions } from '../src/mirror/git-sync.js';
import { createBlobStore } from '../src/storage/index.js';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { startGitHttpBackend, type GitHttpBackend } from './helpers/git-http-backend.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// packhub as a git client of an upstream hub: a second packhub process (v2) or C git's own
// http-backend (v0), fetched into the repositories of a local packhub through its db and storage.

type ProxyMode = 'pass' | 'flip' | 'truncate' | 'fatal';

/**
 * A small proxy in front of the upstream: records what is asked (method, path, body, whether it
 * carried credentials), and on demand damages the pack of a fetch answer (flips one byte in the
 * middle of the first band-1 packet, or cuts the answer in half) or answers a fetch with a fatal
 * error on band 3. GETs under /moved/ are redirected (relative Location) to the path without it;
 * POSTs there are refused, so a client must rebase its URL as git does.
 */
interface Proxy {
  url: string;
  mode: ProxyMode;
  seen: { method: string; path: string; body: string; auth: boolean }[];
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const up = new URL(target);
  const proxy: Proxy = { url: '', mode: 'pass', seen: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      proxy.seen.push({ method: req.method!, path: req.url!, body: body.toString('latin1'), auth: !!req.headers.authorization });
      if (req.url!.startsWith('/moved/')) {
        if (req.method === 'GET') res.writeHead(302, { Location: req.url!.slice('/moved'.length) }).end();
        else res.writeHead(404).end('not rebased');
        return;
      }
      const isFetch = req.method === 'POST' && /(^|\n|[0-9a-f]{4})(command=fetch|want )/.test(body.toString('latin1'));
      const headers = { ...req.headers, host: up.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      if (isFetch && proxy.mode === 'fatal') {
        const pkt = (b: Buffer) => Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
        res.writeHead(200, { 'Content-Type': 'application/x-git-upload-pack-result' });
        res.end(Buffer.concat([pkt(Buffer.from('packfile\n')), pkt(Buffer.from('\x02Enumerating objects\n')), pkt(Buffer.from('\x03simulated: out of memory\n'))]));
        return;
      }
      const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (r) => {
        if (!isFetch || proxy.mode === 'pass') {
          res.writeHead(r.statusCode!, r.headers);
          r.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => {
          let data = Buffer.concat(parts);
          if (proxy.mode === 'truncate') data = data.subarray(0, Math.floor(data.length / 2));
          else {
            data = Buffer.from(data);
            for (let pos = 0; pos + 4 <= data.length; ) {
              const len = parseInt(data.toString('latin1', pos, pos + 4), 16);
              if (len > 4 + 1 + 64 && data[pos + 4] === 1) {
                data[pos + 5 + Math.floor((len - 5) / 2)]! ^= 0x40;
                break;
              }
              pos += len < 4 ? 4 : len;
            }
          }
          const h = { ...r.headers };
          delete h['transfer-encoding'];
          h['content-length'] = String(data.length);
          res.writeHead(r.statusCode!, h);
          res.end(data);
        });
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

async function commitFile(dir: string, name: string, content: string, msg = `edit ${name}`): Promise<string> {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', msg], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

const noSmudge = { GIT_LFS_SKIP_SMUDGE: '1' };

for (const backend of backends()) {
  describe(`mirror: git fetch from an upstream (${backend})`, () => {
    let upstream: Hub | undefined;
    let local: Hub | undefined;
    let proxy: Proxy;
    let db: OpenedDb;
    let store: GitStore;
    let alice: { name: string; token: string };
    let work: string;
    let tmp: string;
    const log = createLogger('silent');

    before(() =>
      withServerLog(
        () => upstream ?? local,
        async () => {
          upstream = await startHub({ backend });
          local = await startHub({ backend });
          alice = await upstream.user('alice');
          await upstream.repo('alice/src');
          await upstream.repo('alice/secret', { private: true });
          await upstream.repo('alice/empty');
          await local.user('bob');
          for (const r of ['m1', 'v0', 'priv', 'bad', 'cut', 'empty', 'race', 'redirect']) await local.repo(`bob/${r}`);
          proxy = await startProxy(upstream.url);
          const config = loadConfig(local.env);
          db = await openDb(config.database, log);
          store = new GitStore(db, await createBlobStore(config.storage), tmpDir('mirror-cache'), 256 << 20, log);
          tmp = tmpDir('mirror-tmp');

          // The upstream history: commits on two branches, a merge, tags (lightweight and
          // annotated), an LFS pointer, pushed with git and git-lfs.
          work = path.join(tmpDir('mirror-src'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          await git(['lfs', 'install', '--local'], { cwd: work });
          await git(['lfs', 'track', '*.bin'], { cwd: work });
          await git(['add', '.gitattributes'], { cwd: work });
          await commitFile(work, 'README.md', '# src\n', 'initial');
          fs.writeFileSync(path.join(work, 'weights.bin'), Buffer.alloc(4096, 7));
          await git(['add', 'weights.bin'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'weights (LFS)'], { cwd: work });
          await git(['tag', 'v0.1'], { cwd: work });
          await git(['checkout', '--quiet', '-b', 'dev'], { cwd: work });
          await commitFile(work, 'src/a.py', 'print(1)\n');
          await commitFile(work, 'src/b.py', 'print(2)\n');
          await git(['checkout', '--quiet', 'main'], { cwd: work });
          await commitFile(work, 'README.md', '# src\n\nmore\n');
          await git(['merge', '--quiet', '--no-ff', '-m', 'merge dev', 'dev'], { cwd: work });
          await git(['tag', '-a', 'v1.0', '-m', 'release 1.0'], { cwd: work });
          await git(['remote', 'add', 'origin', `${upstream.authUrl(alice)}/alice/src.git`], { cwd: work });
          await git(['push', '--quiet', 'origin', 'main', 'dev', 'v0.1', 'v1.0'], { cwd: work });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, upstream, local));
    after(async () => {
      await proxy?.close();
      await db?.close();
      await upstream?.stop();
      await local?.stop();
    });

    const repoId = async (name: string) => (await db.repos.find('model', 'bob', name))!.id;
    const localRefs = async (name: string) => new Map((await store.refs(await repoId(name))).map((r) => [r.name, r.oid]));
    const sync = async (name: string, url: string, extra: Partial<GitSyncOptions> = {}) =>
      syncGitFromUpstream({ store, db, repoId: await repoId(name), url, log, tmpDir: tmp, ...extra });
    const noTemp = () => assert.deepEqual(fs.readdirSync(tmp).filter((f) => !f.startsWith('.')), [], 'no temp file is left');
    const visible = (refs: Map<string, string>) => new Map([...refs].filter(([n]) => !n.startsWith('refs/mirror-archive/')));

    it('a first sync (v2) gives the upstream refs, commit ids and tags; a clone of the mirror is identical and fsck-clean', async () => {
      const want = await remoteRefs(`${upstream!.url}/alice/src.git`);
      assert.equal(want.size, 4);
      const r = await sync('m1', `${proxy.url}/alice/src.git`);
      assert.equal(r.protocol, 2);
      assert.equal(r.headTarget, 'refs/heads/main');
      assert.deepEqual(new Map(r.refs.map((x) => [x.name, x.oid])), want);
      assert.ok(r.objects >= 15, `objects ${r.objects}`);
      assert.deepEqual(r.archived, []);
      assert.ok(r.updated.every((u) => u.from === null && !u.forced));
      assert.deepEqual(await localRefs('m1'), want);
      const mirror = `${local!.url}/bob/m1.git`;
      assert.deepEqual(await remoteRefs(mirror), want, 'git ls-remote of the mirror');
      // The annotated tag's peeled value is recorded as a push records it.
      const tag = (await store.refs(await repoId('m1'))).find((x) => x.name === 'refs/tags/v1.0')!;
      assert.equal(tag.peeled, (await git(['rev-parse', 'v1.0^{}'], { cwd: work })).trim());
      assert.notEqual(tag.oid, tag.peeled);

      const clone = path.join(tmpDir('mirror-clone'), 'c');
      await git(['clone', '--quiet', mirror, clone], { env: noSmudge });
      for (const rev of ['main', 'origin/dev', 'v0.1', 'v1.0', 'v1.0^{}', 'main^2']) {
        assert.equal((await git(['rev-parse', rev], { cwd: clone })).trim(), (await git(['rev-parse', rev.replace('origin/', '')], { cwd: work })).trim(), rev);
      }
      await git(['fsck', '--full', '--strict'], { cwd: clone });
      assert.match(await git(['cat-file', '-p', 'HEAD:weights.bin'], { cwd: clone }), /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:[0-9a-f]{64}\nsize 4096\n$/);
      noTemp();

      // Nothing changed upstream: no fetch request at all, nothing updated.
      const before = proxy.seen.length;
      const again = await sync('m1', `${proxy.url}/alice/src.git`);
      assert.equal(again.objects, 0);
      assert.deepEqual(again.updated, []);
      const asked = proxy.seen.slice(before);
      assert.deepEqual(asked.map((s) => s.method), ['GET', 'POST'], 'info/refs and ls-refs only');
      assert.match(asked[1]!.body, /command=ls-refs/);
    });

    it('an incremental sync fetches only the new objects, sending the local tips as haves', async () => {
      await commitFile(work, 'notes.txt', 'one\n');
      const tip = await commitFile(work, 'notes.txt', 'two\n');
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
      const before = proxy.seen.length;
      const r = await sync('m1', `${proxy.url}/alice/src.git`);
      // 2 commits, 2 trees, 2 blobs.
      assert.ok(r.objects > 0 && r.objects <= 6, `objects ${r.objects}`);
      assert.ok(r.packBytes < 2000, `pack bytes ${r.packBytes}`);
      assert.deepEqual(r.updated.map((u) => [u.name, u.to, u.forced]), [['refs/heads/main', tip, false]]);
      const fetch = proxy.seen.slice(before).find((s) => s.body.includes('command=fetch'))!;
      assert.match(fetch.body, /have [0-9a-f]{40}/);
      assert.doesNotMatch(fetch.body, /thin-pack|deepen|filter|shallow/);
      assert.deepEqual(await localRefs('m1'), await remoteRefs(`${upstream!.url}/alice/src.git`));
      noTemp();
    });

    it('a forced push and a deleted branch upstream: the mirror follows and keeps the old tips under refs/mirror-archive/, hidden from git', async () => {
      const oldMain = (await git(['rev-parse', 'main'], { cwd: work })).trim();
      const oldDev = (await git(['rev-parse', 'dev'], { cwd: work })).trim();
      await git(['reset', '--quiet', '--hard', 'HEAD~2'], { cwd: work });
      const newMain = await commitFile(work, 'rewritten.txt', 'history rewritten\n');
      await git(['push', '--quiet', '--force', 'origin', 'main'], { cwd: work });
      await git(['push', '--quiet', 'origin', ':dev'], { cwd: work });

      const now = new Date('2026-11-28T12:34:56.789Z');
      const r = await sync('m1', `${proxy.url}/alice/src.git`, { now });
      const byName = new Map(r.updated.map((u) => [u.name, u]));
      assert.deepEqual(byName.get('refs/heads/main'), { name: 'refs/heads/main', from: oldMain, to: newMain, forced: true });
      assert.deepEqual(byName.get('refs/heads/dev'), { name: 'refs/heads/dev', from: oldDev, to: null, forced: true });
      assert.deepEqual(r.archived.sort(), ['refs/mirror-archive/20261128T123456Z/heads/dev', 'refs/mirror-archive/20261128T123456Z/heads/main']);

      const refs = await localRefs('m1');
      assert.equal(refs.get('refs/heads/main'), newMain);
      assert.equal(refs.has('refs/heads/dev'), false);
      assert.equal(refs.get('refs/mirror-archive/20261128T123456Z/heads/main'), oldMain);
      assert.equal(refs.get('refs/mirror-archive/20261128T123456Z/heads/dev'), oldDev);
      const want = await remoteRefs(`${upstream!.url}/alice/src.git`);
      assert.deepEqual(visible(refs), want);

      // Not advertised to git clients, v2 and v0, fetch and push.
      const mirror = `${local!.url}/bob/m1.git`;
      for (const protocol of [2, 0] as const) {
        const out = await git(['ls-remote', mirror], { protocol });
        assert.doesNotMatch(out, /mirror-archive/, `ls-remote v${protocol}`);
      }
      const carol = await local!.user('carol', { admin: true });
      const pushAd = await fetch(`${local!.url}/bob/m1.git/info/refs?service=git-receive-pack`, { headers: { Authorization: `Basic ${Buffer.from(`carol:${carol.token}`).toString('base64')}` } });
      assert.equal(pushAd.status, 200);
      assert.doesNotMatch(Buffer.from(await pushAd.arrayBuffer()).toString('latin1'), /mirror-archive/);
      // Nor can a push write there.
      const clone = path.join(tmpDir('mirror-hidden'), 'c');
      await git(['clone', '--quiet', mirror, clone], { env: noSmudge });
      const pushed = await gitResult(['push', '--no-verify', `${local!.authUrl(carol)}/bob/m1.git`, 'main:refs/mirror-archive/x/heads/main'], { cwd: clone, env: noSmudge });
      assert.notEqual(pushed.code, 0);
      assert.match(pushed.stdout + pushed.stderr, /deny updating a hidden ref/);
      assert.deepEqual(await remoteRefs(mirror), want);

      // The old commits still resolve by id.
      for (const sha of [oldMain, oldDev]) {
        const res = await fetch(`${local!.url}/api/models/bob/m1/revision/${sha}`);
        assert.equal(res.status, 200, sha);
        assert.equal(((await res.json()) as { sha: string }).sha, sha);
      }
      noTemp();
    });

    it('protocol v0 (git http-backend) gives the same result, first and incremental sync', async () => {
      const root = tmpDir('mirror-v0');
      await git(['clone', '--quiet', '--bare', work, path.join(root, 'src.git')]);
      await git(['push', '--quiet', '--tags', path.join(root, 'src.git')], { cwd: work });
      let backendServer: GitHttpBackend | null = null;
      try {
        backendServer = await startGitHttpBackend(root);
        const url = `${backendServer.url}/src.git`;
        const want = await remoteRefs(url);
        assert.ok(want.has('refs/tags/v1.0') && want.has('refs/heads/main'), [...want.keys()].join(' '));
        const r = await sync('v0', url);
        assert.equal(r.protocol, 0);
        assert.equal(r.headTarget, 'refs/heads/main');
        assert.deepEqual(await localRefs('v0'), want);
        const tag = (await store.refs(await repoId('v0'))).find((x) => x.name === 'refs/tags/v1.0')!;
        assert.equal(tag.peeled, (await git(['rev-parse', 'v1.0^{}'], { cwd: work })).trim());
        const clone = path.join(tmpDir('mirror-v0-clone'), 'c');
        await git(['clone', '--quiet', `${local!.url}/bob/v0.git`, clone], { env: noSmudge });
        assert.equal((await git(['rev-parse', 'HEAD'], { cwd: clone })).trim(), want.get('refs/heads/main'));
        await git(['fsck', '--full', '--strict'], { cwd: clone });

        await commitFile(work, 'v0.txt', 'v0\n');
        await git(['push', '--quiet', path.join(root, 'src.git'), 'main'], { cwd: work });
        const inc = await sync('v0', url);
        assert.ok(inc.objects > 0 && inc.objects <= 3, `objects ${inc.objects}`);
        assert.deepEqual(await localRefs('v0'), await remoteRefs(url));
        assert.ok(backendServer.requests.every((q) => !q.includes('service=git-receive-pack')));
        noTemp();
      } finally {
        await backendServer?.close();
      }
    });

    it('a missing upstream repository, and a private one without token: clear errors; with the token it works', async () => {
      await assert.rejects(sync('priv', `${upstream!.url}/alice/nope.git`), (err: Error) => {
        assert.match(err.message, new RegExp(`^upstream ${upstream!.url}/alice/nope\\.git answered (404|401)`));
        return true;
      });
      await assert.rejects(sync('priv', `${upstream!.url}/alice/secret.git`), (err: Error) => {
        assert.match(err.message, /answered 401: authentication required/);
        return true;
      });
      await assert.rejects(sync('priv', `${upstream!.url}/alice/secret.git`, { token: 'not-a-token', username: 'alice' }), /answered 401: the credential was refused/);
      assert.deepEqual(await localRefs('priv'), new Map());
      // A push to the private repository, then a sync with the owner's token.
      const secretUrl = `${upstream!.authUrl(alice)}/alice/secret.git`;
      await git(['push', '--quiet', secretUrl, 'main'], { cwd: work });
      const before = proxy.seen.length;
      let logged = '';
      const capture = new Writable({
        write(chunk: Buffer, _enc, cb) {
          logged += chunk.toString();
          cb();
        },
      });
      const r = await sync('priv', `${proxy.url}/alice/secret.git`, { token: alice.token, username: alice.name, log: createLogger('trace', capture) });
      assert.deepEqual(await localRefs('priv'), await remoteRefs(secretUrl));
      assert.equal(r.refs.length, 1);
      // Logged (the sync, the upstream's progress), the credential never.
      assert.match(logged, /mirror git sync/);
      assert.ok(!logged.includes(alice.token) && !logged.includes(Buffer.from(`${alice.name}:${alice.token}`).toString('base64')), 'the token is not logged');
      // The token travels only in the Authorization header, never in a URL.
      for (const s of proxy.seen.slice(before)) assert.ok(!s.path.includes(alice.token) && !s.body.includes(alice.token));
      noTemp();
    });

    it('a network failure names the upstream', async () => {
      const dead = http.createServer();
      await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((resolve) => dead.close(() => resolve()));
      await assert.rejects(sync('bad', `http://127.0.0.1:${port}/alice/src.git`), (err: Error) => {
        assert.equal(err.message, `upstream http://127.0.0.1:${port}/alice/src.git: network error: ECONNREFUSED`);
        return true;
      });
    });

    it('a corrupt or truncated pack changes no ref and leaves no temp file', async () => {
      for (const [mode, name] of [['flip', 'bad'], ['truncate', 'cut']] as const) {
        proxy.mode = mode;
        try {
          await assert.rejects(sync(name, `${proxy.url}/alice/src.git`), (err: Error) => {
            assert.match(err.message, /upstream http:\/\/127\.0\.0\.1:\d+\/alice\/src\.git/, `${mode}: ${err.message}`);
            assert.match(err.message, mode === 'flip' ? /checksum|zlib|corrupt|invalid|incorrect|bad|mismatch/i : /ended|truncated/i, `${mode}: ${err.message}`);
            return true;
          });
        } finally {
          proxy.mode = 'pass';
        }
        assert.deepEqual(await localRefs(name), new Map(), mode);
        assert.equal((await db.packs.listLive(await repoId(name))).length, 0, mode);
        noTemp();
      }
      // The same repository syncs fine once the upstream behaves.
      await sync('bad', `${proxy.url}/alice/src.git`);
      assert.deepEqual(await localRefs('bad'), await remoteRefs(`${upstream!.url}/alice/src.git`));
    });

    it('a fatal error on band 3 is an error with the upstream message', async () => {
      proxy.mode = 'fatal';
      try {
        await assert.rejects(sync('cut', `${proxy.url}/alice/src.git`), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'UpstreamFailed');
          assert.equal(err.message, `upstream ${proxy.url}/alice/src.git failed: simulated: out of memory`);
          return true;
        });
      } finally {
        proxy.mode = 'pass';
      }
      assert.deepEqual(await localRefs('cut'), new Map());
      noTemp();
    });

    it('redirects: followed on the same origin (the repository base moves, as with git), refused to another origin without sending the token there', async () => {
      const before = proxy.seen.length;
      const r = await sync('redirect', `${proxy.url}/moved/alice/src.git`);
      assert.deepEqual(await localRefs('redirect'), await remoteRefs(`${upstream!.url}/alice/src.git`));
      assert.ok(r.objects > 0);
      const asked = proxy.seen.slice(before);
      assert.equal(asked[0]!.path, '/moved/alice/src.git/info/refs?service=git-upload-pack');
      assert.ok(asked.slice(1).every((q) => q.path.startsWith('/alice/src.git/')), asked.map((q) => q.path).join(' '));

      // Another origin: the redirect is refused (with a token, nothing goes there at all).
      const hops: { auth: boolean }[] = [];
      const other = http.createServer((req, res) => {
        hops.push({ auth: !!req.headers.authorization });
        res.writeHead(302, { Location: `${proxy.url}/alice/src.git/info/refs?service=git-upload-pack` }).end();
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      try {
        const n = proxy.seen.length;
        await assert.rejects(sync('cut', `${otherUrl}/alice/src.git`, { token: alice.token, username: alice.name }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'UpstreamRedirect');
          assert.match(err.message, new RegExp(`^upstream ${otherUrl}/alice/src\\.git: redirected to another origin \\(${proxy.url}\\)`));
          return true;
        });
        assert.equal(proxy.seen.length, n, 'nothing was sent to the other origin');
        assert.deepEqual(hops, [{ auth: true }], 'the token went to the upstream itself only');
      } finally {
        await new Promise<void>((resolve) => other.close(() => resolve()));
      }
      assert.deepEqual(await localRefs('cut'), new Map());
    });

    it('an upstream that stalls is given up after the idle timeout; one with too many refs is refused', async () => {
      const stalled = http.createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const stalledUrl = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/alice/src.git`;
      try {
        await assert.rejects(sync('cut', stalledUrl, { idleTimeoutMs: 300 }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'UpstreamTimeout');
          assert.equal(err.message, `upstream ${stalledUrl}: sent nothing for 300 ms`);
          return true;
        });
      } finally {
        stalled.closeAllConnections();
        await new Promise<void>((resolve) => stalled.close(() => resolve()));
      }
      await assert.rejects(sync('cut', `${proxy.url}/alice/src.git`, { limits: { maxRefs: 1 } }), /advertises more than 1 refs/);
      assert.deepEqual(await localRefs('cut'), new Map());
      noTemp();
    });

    it('a pack larger than the limit is refused', async () => {
      await assert.rejects(sync('cut', `${proxy.url}/alice/src.git`, { limits: { maxPackBytes: 200 } }), /the pack exceeds 200 bytes/);
      assert.deepEqual(await localRefs('cut'), new Map());
      noTemp();
    });

    it('refs changed by someone else during the sync: an error, and nothing of this sync is applied', async () => {
      const id = await repoId('race');
      const main = (await git(['rev-parse', 'main'], { cwd: work })).trim();
      let injected: Promise<unknown> | null = null;
      await assert.rejects(
        sync('race', `${proxy.url}/alice/src.git`, {
          onProgress: (p) => {
            // Another writer creates refs/heads/main after this sync read the local refs.
            if (p.phase === 'fetch' && !injected) injected = db.commitPush(id, null, [{ name: 'refs/heads/main', oldOid: null, newOid: main }], { atomic: true });
          },
        }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'MirrorRefsChanged');
          return true;
        },
      );
      assert.ok(injected);
      // Only the other writer's ref (the sync's pack is gone with it, nothing names it).
      assert.deepEqual(await localRefs('race'), new Map([['refs/heads/main', main]]));
      assert.deepEqual(await db.packs.listLive(id), []);
      noTemp();
    });

    it('an empty upstream repository syncs to an empty repository', async () => {
      const r = await sync('empty', `${proxy.url}/alice/empty.git`);
      assert.deepEqual(r.refs, []);
      assert.deepEqual(r.updated, []);
      assert.equal(r.objects, 0);
      assert.equal(r.headTarget, 'refs/heads/main');
      assert.deepEqual(await localRefs('empty'), new Map());
    });
  });
}
