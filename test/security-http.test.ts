import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

/**
 * Adversarial HTTP: no request may take the server down (memory, CPU, stalled sockets), and every
 * error is a clear JSON error with X-Error-Code, never Express's HTML page.
 */

const MiB = 1 << 20;
const ndjson = (lines: unknown[]) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
const file = (p: string, content: string | Buffer) => ({ key: 'file', value: { path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64' } });
const header = (summary: string) => ({ key: 'header', value: { summary } });

/** VmRSS and VmHWM (peak) of a process, in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** How long /healthz takes to answer, in ms. */
async function healthz(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${url}/healthz`);
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  return performance.now() - t;
}

/** gzip of `prefix` + `count` MiB of 'A' + `suffix`, streamed through zlib (never held whole). */
async function gzipBomb(prefix: string, mib: number, suffix: string): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((resolve) => gz.on('end', resolve));
  const chunk = Buffer.alloc(MiB, 0x41);
  gz.write(prefix);
  for (let i = 0; i < mib; i++) if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
  gz.end(suffix);
  await done;
  return Buffer.concat(out);
}

/** The response to a request, or how the connection ended, over a raw socket. */
function rawRequest(port: number, head: string, bodyStart: string | Buffer, waitMs: number): Promise<{ response: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head);
      s.write(bodyStart);
    });
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ response: Buffer.concat(chunks).toString('latin1'), closed, ms: performance.now() - t });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => finish(true));
    s.on('error', () => undefined);
  });
}

/** Every error answer: JSON (never an HTML page), X-Error-Code, and a header message that is valid Latin-1. */
async function assertJsonError(r: Response, status: number, code: string, what: string): Promise<{ error: string }> {
  const text = await r.text();
  assert.equal(r.status, status, `${what}: status (${text.slice(0, 300)})`);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, `${what}: JSON`);
  assert.doesNotMatch(text, /<html|<pre>|<!DOCTYPE/i, `${what}: no HTML page`);
  assert.equal(r.headers.get('x-error-code'), code, `${what}: X-Error-Code`);
  return JSON.parse(text) as { error: string };
}

describe('HTTP hardening with small limits (fs)', () => {
  let h: Hub;
  let auth: Record<string, string>;
  const api = (p: string, init: RequestInit = {}) => fetch(`${h.url}${p}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
  const commit = (body: string | Buffer, headers: Record<string, string> = {}, rev = 'main') =>
    api(`/api/models/alice/small/commit/${rev}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', ...headers }, body });

  before(() =>
    withServerLog(
      () => h,
      async () => {
        h = await startHub({
          backend: 'fs',
          env: {
            PACKHUB_HF_COMMIT_MAX_BYTES: '4MiB',
            PACKHUB_HF_COMMIT_MAX_LINE_BYTES: '256KiB',
            PACKHUB_HF_COMMIT_MAX_OPERATIONS: '1000',
            PACKHUB_BODY_IDLE_TIMEOUT_MS: '1500',
          },
        });
        const alice = await h.user('alice');
        auth = { Authorization: `Bearer ${alice.token}` };
        const r = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'small' }) });
        assert.equal(r.status, 200);
      },
    ),
  );
  after(() => h?.stop());
  afterEach((t) => serverLogOnFailure(t, h));

  it('a gzip bomb in one NDJSON line: 413 from the line bound, memory flat, /healthz answers', async () => {
    const bomb = await gzipBomb(`${JSON.stringify(header('bomb'))}\n{"key":"file","value":{"path":"bomb.bin","encoding":"base64","content":"`, 700, '"}}\n');
    const before = memory(h.pid);
    const r = await commit(bomb, { 'Content-Encoding': 'gzip' });
    const body = await assertJsonError(r, 413, 'PayloadTooLarge', 'bomb');
    assert.match(body.error, /line 2 .* exceeds 262144 bytes/);
    assert.ok((await healthz(h.url)) < 1000);
    const afterBomb = memory(h.pid);
    assert.ok(afterBomb.peak - before.peak < 100 * MiB, `peak RSS grew by ${((afterBomb.peak - before.peak) / MiB).toFixed(0)} MiB`);
  });

  it('many lines, each within bounds, past the decompressed body bound: 413; the branch unchanged', async () => {
    const line = (i: number) => `${JSON.stringify(file(`many/${i}.txt`, 'x'.repeat(100_000)))}\n`;
    const gz = zlib.createGzip();
    const out: Buffer[] = [];
    gz.on('data', (d: Buffer) => out.push(d));
    const done = new Promise((resolve) => gz.on('end', resolve));
    gz.write(`${JSON.stringify(header('many'))}\n`);
    for (let i = 0; i < 200; i++) gz.write(line(i)); // ~27 MB decompressed
    gz.end();
    await done;
    const r = await commit(Buffer.concat(out), { 'Content-Encoding': 'gzip' });
    const body = await assertJsonError(r, 413, 'PayloadTooLarge', 'total');
    assert.match(body.error, /exceeds 4194304 bytes \(decompressed\)/);
    const tree = await api('/api/models/alice/small/tree/main');
    assert.deepEqual(((await tree.json()) as { path: string }[]).map((e) => e.path), ['.gitattributes']);
  });

  it('more operations than allowed: 413 naming the bound', async () => {
    const lines: unknown[] = [header('ops')];
    for (let i = 0; i < 1001; i++) lines.push(file(`ops/${i}.txt`, `${i}\n`));
    const body = await assertJsonError(await commit(ndjson(lines)), 413, 'PayloadTooLarge', 'ops');
    assert.match(body.error, /at most 1000 operations/);
  });

  it('deflate and br bodies are bounded too; an unknown Content-Encoding is a 415; corrupt gzip a 400', async () => {
    const big = `${JSON.stringify(header('x'))}\n{"key":"file","value":{"path":"a","content":"${'A'.repeat(2 * MiB)}"}}\n`;
    await assertJsonError(await commit(zlib.deflateSync(big), { 'Content-Encoding': 'deflate' }), 413, 'PayloadTooLarge', 'deflate');
    await assertJsonError(await commit(zlib.brotliCompressSync(big), { 'Content-Encoding': 'br' }), 413, 'PayloadTooLarge', 'br');
    await assertJsonError(await commit(Buffer.from('xx'), { 'Content-Encoding': 'compress' }), 415, 'UnsupportedMediaType', 'compress');
    await assertJsonError(await commit(Buffer.from('not gzip at all'), { 'Content-Encoding': 'gzip' }), 400, 'BadRequest', 'corrupt gzip');
    const ok = await commit(zlib.gzipSync(ndjson([header('gzip ok'), file('gz.txt', 'gz\n')])), { 'Content-Encoding': 'gzip' });
    assert.equal(ok.status, 200, await ok.text());
  });

  it('a body that stalls gets a 408 and its connection closed; /healthz is unaffected', async () => {
    const head = [
      'POST /api/models/alice/small/commit/main HTTP/1.1',
      'Host: 127.0.0.1',
      `Authorization: ${auth.Authorization}`,
      'Content-Type: application/x-ndjson',
      'Content-Length: 100000',
      '',
      '',
    ].join('\r\n');
    const stalled = rawRequest(h.port, head, '{"key":"hea', 15_000);
    assert.ok((await healthz(h.url)) < 1000);
    const r = await stalled;
    assert.ok(r.closed, 'the server closed the connection');
    assert.ok(r.ms < 6000, `closed after ${r.ms.toFixed(0)} ms`);
    assert.match(r.response, /^HTTP\/1\.1 408 /);
    assert.match(r.response, /x-error-code: RequestTimeout/i);
    // A route that answers without reading the body: the answer comes, then the stalled socket goes.
    const head404 = ['POST /no/such/route HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', 'Content-Length: 100000', '', ''].join('\r\n');
    const r404 = await rawRequest(h.port, head404, '{"a', 15_000);
    assert.ok(r404.closed && r404.ms < 6000, `404 then closed after ${r404.ms.toFixed(0)} ms`);
    assert.match(r404.response, /^HTTP\/1\.1 404 /);
  });

  it('requests node cannot parse get a JSON error too (bad request line, headers too large)', async () => {
    const garbage = await rawRequest(h.port, 'NOT AN HTTP REQUEST\r\n\r\n', '', 5000);
    assert.match(garbage.response, /^HTTP\/1\.1 400 /);
    assert.match(garbage.response, /content-type: application\/json/i);
    assert.match(garbage.response, /x-error-code: BadRequest/i);
    assert.match(garbage.response, /\r\n\r\n\{"error":"malformed HTTP request"\}$/);
    const huge = await rawRequest(h.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '', 5000);
    assert.match(huge.response, /^HTTP\/1\.1 431 /);
    assert.match(huge.response, /x-error-code: HeadersTooLarge/i);
    assert.ok((await healthz(h.url)) < 1000);
  });

  it('a download the client stops reading is cut after the idle bound; one read slowly but steadily is not', async () => {
    await h.repo('alice/dl');
    const alice = { name: 'alice', token: auth.Authorization.slice('Bearer '.length) };
    const work = path.join(tmpDir('dl'), 'w');
    await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/dl.git`, work]);
    const data = crypto.randomBytes(40 * MiB);
    fs.writeFileSync(path.join(work, 'dl.dat'), data);
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'dl'], { cwd: work });
    await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
    const get = 'GET /alice/dl/resolve/main/dl.dat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

    // Reads the first bytes, then nothing for 4 s (a paused socket sees no close), then reads on: the
    // server has given up on it, so the rest never comes.
    const stalled = await new Promise<{ got: number; closed: boolean }>((resolve) => {
      let got = 0;
      const s = net.connect(h.port, '127.0.0.1', () => s.write(get));
      s.once('data', () => {
        s.pause();
        setTimeout(() => s.resume(), 4000);
      });
      s.on('data', (d: Buffer) => (got += d.length));
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ got, closed: false });
      }, 20_000);
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ got, closed: true });
      });
      s.on('error', () => undefined);
    });
    assert.ok(stalled.closed, 'the connection was closed');
    assert.ok(stalled.got < data.length, `a stalled reader got ${stalled.got} of ${data.length} bytes`);

    // Reads 2 MiB, then nothing for 300 ms, and so on: slower than the server could send, never silent for 1.5 s.
    const slow = await new Promise<number>((resolve, reject) => {
      const s = net.connect(h.port, '127.0.0.1', () => s.write(get));
      let got = 0;
      let sincePause = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        sincePause += d.length;
        if (got >= data.length) {
          s.destroy();
          resolve(got);
          return;
        }
        if (sincePause >= 2 * MiB) {
          sincePause = 0;
          s.pause();
          setTimeout(() => s.resume(), 300);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(got));
    });
    assert.ok(slow >= data.length, `the slow reader got ${slow} of ${data.length} bytes`);
  });

  it('large uploads at full speed pass the 1.5 s idle bound (a 64 MiB pack and two 128 MiB LFS objects)', async () => {
    await h.repo('alice/big');
    const alice = { name: 'alice', token: auth.Authorization.slice('Bearer '.length) };
    const work = path.join(tmpDir('big'), 'w');
    await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/big.git`, work]);
    await git(['lfs', 'install', '--local'], { cwd: work });
    await git(['lfs', 'track', '*.bin'], { cwd: work });
    const sizes: Record<string, number> = { 'a.bin': 128 * MiB, 'b.bin': 128 * MiB, 'plain.dat': 64 * MiB };
    for (const [name, size] of Object.entries(sizes)) {
      const fd = fs.openSync(path.join(work, name), 'w');
      for (let i = 0; i < size / MiB; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
      fs.closeSync(fd);
    }
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'big'], { cwd: work });
    await git(['push', '--quiet', 'origin', 'main'], { cwd: work, timeoutMs: 600_000 });
    for (const [name, size] of Object.entries(sizes)) {
      const r = await api(`/alice/big/resolve/main/${name}`, { method: 'HEAD' });
      assert.equal(r.status, 200, name);
      assert.equal(Number(r.headers.get('x-linked-size') ?? r.headers.get('content-length')), size, name);
    }
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
  });

  it('a slow but steady body (a piece every 400 ms for 6 s, idle bound 1.5 s) is committed', async () => {
    const payload = Buffer.from(ndjson([header('slow'), file('slow.txt', 'slow but steady\n'.repeat(100))]));
    const pieces = 15;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${h.url}/api/models/alice/small/commit/main`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/x-ndjson', 'Content-Length': payload.length } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      let i = 0;
      const step = Math.ceil(payload.length / pieces);
      const send = () => {
        req.write(payload.subarray(i * step, (i + 1) * step));
        if (++i < pieces) setTimeout(send, 400);
        else req.end();
      };
      send();
    });
    assert.equal(status, 200);
    assert.equal(await (await api('/alice/small/resolve/main/slow.txt')).text(), 'slow but steady\n'.repeat(100));
  });
});

for (const backend of backends()) {
  describe(`HTTP hardening with default limits (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string };
    let auth: Record<string, string>;
    const api = (p: string, init: RequestInit = {}) => fetch(`${h.url}${p}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    const commit = (repo: string, body: string | Buffer, headers: Record<string, string> = {}, rev = 'main', query = '') =>
      api(`/api/models/${repo}/commit/${encodeURIComponent(rev)}${query}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', ...headers }, body });
    const create = async (name: string, extra: Record<string, unknown> = {}) => {
      const r = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, ...extra }) });
      assert.equal(r.status, 200, await r.text());
    };

    before(() =>
      withServerLog(
        () => h,
        async () => {
          h = await startHub({ backend });
          alice = await h.user('alice');
          auth = { Authorization: `Bearer ${alice.token}` };
          await create('api');
        },
      ),
    );
    after(() => h?.stop());
    afterEach((t) => serverLogOnFailure(t, h));

    it('the 700 KB gzip bomb (700 MB in one line) gets a 413 quickly; peak memory and /healthz unaffected', async () => {
      const bomb = await gzipBomb(`${JSON.stringify(header('bomb'))}\n{"key":"file","value":{"path":"bomb.bin","encoding":"base64","content":"`, 700, '"}}\n');
      assert.ok(bomb.length < 800_000);
      const before = memory(h.pid);
      const t = performance.now();
      const r = await commit('alice/api', bomb, { 'Content-Encoding': 'gzip' });
      await assertJsonError(r, 413, 'PayloadTooLarge', 'bomb');
      assert.ok(performance.now() - t < 5000, 'answered in seconds');
      assert.ok((await healthz(h.url)) < 1000);
      const grown = memory(h.pid).peak - before.peak;
      assert.ok(grown < 100 * MiB, `peak RSS grew by ${(grown / MiB).toFixed(0)} MiB`);
    });

    it('JSON and form bodies: bounded after decompression, and parsed only for callers who may use the route', async () => {
      const paths = JSON.stringify({ paths: Array.from({ length: 1000 }, (_, i) => `p${i}`), filler: 'x'.repeat(10 * MiB) });
      const gz = zlib.gzipSync(paths);
      assert.ok(gz.length < 200_000);
      await assertJsonError(
        await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gz }),
        413,
        'PayloadTooLarge',
        'paths-info gzip JSON',
      );
      const form = `paths=a&expand=false&filler=${'x'.repeat(10 * MiB)}`;
      await assertJsonError(
        await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(form) }),
        413,
        'PayloadTooLarge',
        'paths-info gzip form',
      );
      await assertJsonError(
        await api('/api/models/alice/api/preupload/main', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gz }),
        413,
        'PayloadTooLarge',
        'preupload gzip JSON',
      );
      await assertJsonError(
        await fetch(`${h.url}/api/repos/create`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(JSON.stringify({ name: 'x', filler: 'x'.repeat(2 * MiB) })) }),
        413,
        'PayloadTooLarge',
        'repos/create',
      );
      // A stranger's body to a repository they cannot see is not read: the answer is the missing repository.
      await create('secret', { private: true });
      const anon = await fetch(`${h.url}/api/models/alice/secret/paths-info/main`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gz });
      await assertJsonError(anon, 401, 'RepoNotFound', 'anonymous paths-info on a private repo');
      // Python sends paths-info as a form with one field per path: more than 1000 of them are fine.
      const many = Array.from({ length: 2000 }, (_, i) => `paths=f${i}`).join('&');
      const ok = await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `${many}&paths=.gitattributes&expand=false` });
      assert.equal(ok.status, 200);
      assert.deepEqual(((await ok.json()) as { path: string }[]).map((e) => e.path), ['.gitattributes']);
    });

    it('preupload: patterns from the request cannot make matching take long (no backtracking), for anyone', async () => {
      const evil = '*a*a*a*a*a*a*a*a*a*a*a*a*b';
      const files = Array.from({ length: 50 }, (_, i) => ({ path: `${'a'.repeat(80)}${i}`, size: 10, sample: '' }));
      const t = performance.now();
      const [ignored, attributed, health] = await Promise.all([
        fetch(`${h.url}/api/models/alice/api/preupload/main`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files, gitIgnore: `${evil}\n` }), signal: AbortSignal.timeout(20_000) }),
        fetch(`${h.url}/api/models/alice/api/preupload/main`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files, gitAttributes: `${evil} filter=lfs\n` }), signal: AbortSignal.timeout(20_000) }),
        healthz(h.url),
      ]);
      assert.equal(ignored.status, 200);
      assert.equal(attributed.status, 200);
      assert.ok(performance.now() - t < 3000, `answered in ${(performance.now() - t).toFixed(0)} ms`);
      assert.ok(health < 1000);
      const out = (await ignored.json()) as { files: { shouldIgnore: boolean }[] };
      assert.ok(out.files.every((f) => !f.shouldIgnore));
      await attributed.arrayBuffer();
      // Ordinary patterns keep working.
      const ok = await fetch(`${h.url}/api/models/alice/api/preupload/main`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ files: [{ path: 'logs/x.txt', size: 1 }, { path: 'w/model.safetensors', size: 1 }, { path: 'keep.txt', size: 1 }], gitIgnore: 'logs/\n' }),
      });
      const res = (await ok.json()) as { files: { path: string; uploadMode: string; shouldIgnore: boolean }[] };
      assert.deepEqual(res.files.map((f) => [f.path, f.uploadMode, f.shouldIgnore]), [['logs/x.txt', 'regular', true], ['w/model.safetensors', 'lfs', false], ['keep.txt', 'regular', false]]);
    });

    it('commit-diff of files made to be slow to diff answers in seconds, /healthz meanwhile', async () => {
      await create('diffs');
      const lines = (c: string) => `${c}\n`.repeat(60_000);
      assert.equal((await commit('alice/diffs', ndjson([header('as'), file('a.txt', lines('a')), file('b.txt', lines('c'))]))).status, 200);
      const second = await commit('alice/diffs', ndjson([header('bs'), file('a.txt', lines('b')), file('b.txt', lines('d'))]));
      const { commitOid } = (await second.json()) as { commitOid: string };
      const t = performance.now();
      const [diff, health] = await Promise.all([fetch(`${h.url}/api/models/alice/diffs/commit-diff/${commitOid}`, { signal: AbortSignal.timeout(30_000) }), healthz(h.url)]);
      assert.equal(diff.status, 200);
      const body = (await diff.json()) as { files: { path: string; diff: string | null }[] };
      assert.ok(performance.now() - t < 5000, `answered in ${(performance.now() - t).toFixed(0)} ms`);
      assert.ok(health < 1000, `/healthz took ${health.toFixed(0)} ms`);
      assert.deepEqual(body.files.map((f) => f.path), ['a.txt', 'b.txt']);
    });

    it('repo listings are paged before repositories are read; order, search, author, full and privacy as before', async () => {
      const bob = await h.user('bob');
      const bobAuth = { Authorization: `Bearer ${bob.token}` };
      for (const [name, priv] of [['l1', false], ['l3', false], ['l2', false], ['l4', true]] as const) {
        const r = await fetch(`${h.url}/api/repos/create`, { method: 'POST', headers: { ...bobAuth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, private: priv }) });
        assert.equal(r.status, 200);
      }
      const list = async (qs: string, headers: Record<string, string> = {}) => {
        const r = await fetch(`${h.url}/api/models?${qs}`, { headers });
        assert.equal(r.status, 200);
        return { ids: ((await r.json()) as { id: string }[]).map((x) => x.id), link: r.headers.get('link'), r };
      };
      assert.deepEqual((await list('author=bob&sort=id&direction=1')).ids, ['bob/l1', 'bob/l2', 'bob/l3']);
      assert.deepEqual((await list('author=bob&sort=id&direction=-1', bobAuth)).ids, ['bob/l4', 'bob/l3', 'bob/l2', 'bob/l1']);
      const first = await list('author=bob&sort=id&direction=1&limit=2');
      assert.deepEqual(first.ids, ['bob/l1', 'bob/l2']);
      const nextUrl = /<([^>]+)>;\s+rel="next"/.exec(first.link ?? '')?.[1];
      assert.ok(nextUrl, 'a Link to the next page');
      const second = await fetch(nextUrl);
      assert.deepEqual(((await second.json()) as { id: string }[]).map((x) => x.id), ['bob/l3']);
      assert.equal(second.headers.get('link'), null);
      const byDate = await list('author=bob&sort=createdAt&limit=1');
      assert.equal(byDate.ids.length, 1);
      assert.ok(byDate.link);
      assert.deepEqual((await list('author=bob&search=L2')).ids, ['bob/l2']);
      const full = (await (await fetch(`${h.url}/api/models?author=bob&sort=id&direction=1&full=true&limit=1`)).json()) as { siblings: { rfilename: string }[] }[];
      assert.deepEqual(full[0]!.siblings.map((s) => s.rfilename), ['.gitattributes']);
      const plain = (await (await fetch(`${h.url}/api/models?author=bob&limit=1`)).json()) as Record<string, unknown>[];
      assert.equal(plain[0]!.siblings, undefined);
    });

    it('100,000 files in one commit still work', async () => {
      await create('wide');
      const parts: string[] = [JSON.stringify(header('100k files'))];
      for (let i = 0; i < 100_000; i++) parts.push(JSON.stringify(file(`d${i % 100}/f${i}.txt`, `${i}\n`)));
      const body = zlib.gzipSync(`${parts.join('\n')}\n`);
      const r = await commit('alice/wide', body, { 'Content-Encoding': 'gzip' });
      assert.equal(r.status, 200, await r.text());
      const d7 = (await (await api('/api/models/alice/wide/tree/main/d7')).json()) as { path: string }[];
      assert.equal(d7.length, 1000);
      assert.equal(await (await api('/alice/wide/resolve/main/d42/f99942.txt')).text(), '99942\n');
      // Comparing across it lists a bounded number of files and says so; the commit's diff view lists 300.
      const history = (await (await api('/api/models/alice/wide/commits/main')).json()) as { id: string }[];
      const cmp = (await (await api(`/api/models/alice/wide/compare/${history.at(-1)!.id}..main`)).json()) as { files: unknown[]; truncated?: boolean };
      assert.equal(cmp.files.length, 10_000);
      assert.equal(cmp.truncated, true);
      const diff = (await (await api(`/api/models/alice/wide/commit-diff/${history[0]!.id}`)).json()) as { files: unknown[] };
      assert.equal(diff.files.length, 300);
    });

    it('repos/move validates the new name as create does', async () => {
      await create('movable');
      const move = (toRepo: unknown) =>
        api('/api/repos/move', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fromRepo: 'alice/movable', toRepo, type: 'model' }) });
      for (const bad of ['alice/..', 'alice/x.git', 'alice/<script>alert(1)</script>', 'alice/a b', 'alice/-x', 'alice/x--y', 'alice/a/b', '../alice/x', 'api/x', `alice/${'n'.repeat(97)}`]) {
        const r = await move(bad);
        assert.equal(r.status, 400, `${bad}: ${await r.clone().text()}`);
        assert.ok(['InvalidName', 'BadRequest', 'ReservedName', 'InvalidRepoName'].includes(r.headers.get('x-error-code') ?? ''), `${bad}: ${r.headers.get('x-error-code')}`);
        await r.arrayBuffer();
      }
      assert.equal((await api('/api/models/alice/movable')).status, 200, 'still where it was');
      const ok = await move('alice/moved.ok_1');
      assert.equal(ok.status, 200, await ok.text());
      assert.equal((await api('/api/models/alice/moved.ok_1')).status, 200);
    });

    it('commits move branches and open pull requests only: tags, other refs and missing refs/pr/N stay; create_pr opens a new refs/pr/N; HEAD and -names are refused', async () => {
      await create('refs');
      const headOf = async (rev: string) => ((await (await api(`/api/models/alice/refs/revision/${encodeURIComponent(rev)}`)).json()) as { sha: string }).sha;
      const main0 = await headOf('main');
      const pr = await commit('alice/refs', ndjson([header('a pr'), file('pr.txt', 'pr\n')]), {}, 'main', '?create_pr=1');
      assert.equal(pr.status, 200, await pr.clone().text());
      assert.match(((await pr.json()) as { pullRequestUrl: string }).pullRequestUrl, /\/discussions\/1$/);
      const tag = await api('/api/models/alice/refs/tag/main', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: 'v1' }) });
      assert.equal(tag.status, 200, await tag.text());
      const pr1 = await headOf('refs/pr/1');
      for (const rev of ['refs/pr/7', 'refs/pr/01', 'refs/tags/v1', 'refs/convert/parquet', 'v1', 'HEAD']) {
        const r = await commit('alice/refs', ndjson([header(`onto ${rev}`), file('x.txt', 'x\n')]), {}, rev);
        assert.ok(r.status === 400 || r.status === 404, `${rev}: ${r.status}`);
        assert.ok(r.headers.get('x-error-code'), rev);
        await r.arrayBuffer();
      }
      assert.equal(await headOf('refs/pr/1'), pr1, 'refs/pr/1 did not move');
      assert.equal(await headOf('v1'), main0, 'the tag did not move');
      assert.equal(await headOf('main'), main0, 'main did not move');
      // The clients add to an open pull request by committing to its refs/pr/N (revision="refs/pr/1").
      const more = await commit('alice/refs', ndjson([header('more on the pr'), file('pr-more.txt', 'more\n')]), {}, 'refs/pr/1');
      assert.equal(more.status, 200, await more.clone().text());
      assert.notEqual(await headOf('refs/pr/1'), pr1, 'refs/pr/1 moved by the commit to it');
      assert.equal(await headOf('main'), main0, 'main did not move');
      const pr2 = await commit('alice/refs', ndjson([header('another pr'), file('pr2.txt', 'pr2\n')]), {}, 'main', '?create_pr=1');
      assert.match(((await pr2.json()) as { pullRequestUrl: string }).pullRequestUrl, /\/discussions\/2$/);

      for (const name of ['HEAD', '-x', 'a/-b', '--force']) {
        const b = await api(`/api/models/alice/refs/branch/${encodeURIComponent(name)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        await assertJsonError(b, 400, 'BadRequest', `create branch ${name}`);
        const d = await api(`/api/models/alice/refs/branch/${encodeURIComponent(name)}`, { method: 'DELETE' });
        await assertJsonError(d, 400, 'BadRequest', `delete branch ${name}`);
        const t = await api('/api/models/alice/refs/tag/main', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: name }) });
        await assertJsonError(t, 400, 'BadRequest', `create tag ${name}`);
        const dt = await api(`/api/models/alice/refs/tag/${encodeURIComponent(name)}`, { method: 'DELETE' });
        await assertJsonError(dt, 400, 'BadRequest', `delete tag ${name}`);
      }
      const refs = (await (await api('/api/models/alice/refs/refs?include_prs=1')).json()) as { branches: { name: string }[]; tags: { name: string }[] };
      assert.deepEqual(refs.branches.map((b) => b.name), ['main']);
      assert.deepEqual(refs.tags.map((t) => t.name), ['v1']);
    });

    it('errors are JSON with X-Error-Code, whatever the text: non-Latin-1 messages, bad percent-encoding, bad bodies', async () => {
      const rev = await api('/api/models/alice/api/revision/%E0%A4%AC%E2%9C%93');
      const revBody = await assertJsonError(rev, 404, 'RevisionNotFound', 'non-Latin-1 revision');
      assert.match(revBody.error, /ब✓/, 'the JSON body keeps the full text');
      assert.match(rev.headers.get('x-error-message') ?? '', /%E0%A4%AC%E2%9C%93/, 'the header carries it percent-encoded');
      const entry = await api('/api/models/alice/api/tree/main/%F0%9F%A4%97');
      assert.match((await assertJsonError(entry, 404, 'EntryNotFound', 'non-Latin-1 path')).error, /🤗/);
      const resolve = await api('/alice/api/resolve/main/%E2%9C%93.txt');
      await assertJsonError(resolve, 404, 'EntryNotFound', 'resolve non-Latin-1');
      const branch = await api('/api/models/alice/api/branch/%E2%9C%93%20x', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      await assertJsonError(branch, 400, 'BadRequest', 'branch with a space and a non-Latin-1 name');

      for (const url of ['/api/models/%E0%A4%A', '/api/models/alice/api/tree/main/%E0%A4%A', '/alice/api/resolve/main/%E0%A4%A', '/api/models/alice/%ZZ/tree/main', '/alice/api/resolve/%C0%AF/x']) {
        await assertJsonError(await api(url), 400, 'BadRequest', url);
      }
      const malformed = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name": ' });
      await assertJsonError(malformed, 400, 'BadRequest', 'malformed JSON');
      const badCharset = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json; charset=klingon' }, body: '{}' });
      await assertJsonError(badCharset, 415, 'UnsupportedMediaType', 'unknown charset');
      const badEncoding = await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'compress' }, body: '{}' });
      await assertJsonError(badEncoding, 415, 'UnsupportedMediaType', 'unknown Content-Encoding');
      const truncated = await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: zlib.gzipSync('{"paths":["a"]}').subarray(0, 10) });
      await assertJsonError(truncated, 400, 'BadRequest', 'truncated gzip');
      const uiMalformed = await fetch(`${h.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"user' });
      assert.ok(uiMalformed.status >= 400 && uiMalformed.status < 500);
      assert.doesNotMatch(await uiMalformed.text(), /<html|<pre>/i);
    });

    it('expanded tree pages and paths-info on a repo with a long history keep /healthz responsive; lastCommit is right', async () => {
      // 3000 files in 30 folders; 300 commits, each changing 10 files.
      const src = tmpDir('history');
      await git(['init', '-q', '-b', 'main', src]);
      const parts: Buffer[] = [];
      const emit = (s: string) => parts.push(Buffer.from(s));
      const data = (s: string) => emit(`data ${Buffer.byteLength(s)}\n${s}\n`);
      let rnd = 12345;
      const next = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31);
      for (let c = 0; c < 300; c++) {
        emit(`commit refs/heads/main\nauthor T <t@packhub.invalid> ${1_700_000_000 + c} +0000\ncommitter T <t@packhub.invalid> ${1_700_000_000 + c} +0000\n`);
        data(`change ${c}\n`);
        if (c === 0) {
          for (let i = 0; i < 3000; i++) {
            emit(`M 100644 inline dir${i % 30}/file${i}.txt\n`);
            data(`file ${i}\n`);
          }
        } else {
          for (let k = 0; k < 10; k++) {
            const i = next() % 3000;
            emit(`M 100644 inline dir${i % 30}/file${i}.txt\n`);
            data(`file ${i} at ${c}\n`);
          }
        }
        emit('\n');
      }
      await git(['fast-import', '--quiet'], { cwd: src, input: Buffer.concat(parts) });
      await h.repo('alice/history');
      await git(['push', '--quiet', `${h.authUrl(alice)}/alice/history.git`, 'main:main'], { cwd: src });

      const url = '/api/models/alice/history/tree/main?recursive=true&expand=true&limit=10000';
      let worst = 0;
      let done = false;
      const probe = (async () => {
        while (!done) {
          worst = Math.max(worst, await healthz(h.url));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const t = performance.now();
      const pages = await Promise.all([0, 1, 2].map(() => fetch(`${h.url}${url}`)));
      const bodies = (await Promise.all(pages.map((p) => p.json()))) as { path: string; type: string; lastCommit: { id: string; title: string } }[][];
      const infoAll = await api('/api/models/alice/history/paths-info/main', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ paths: Array.from({ length: 3000 }, (_, i) => `dir${i % 30}/file${i}.txt`), expand: true }),
      });
      const info = (await infoAll.json()) as { path: string; lastCommit: { id: string } }[];
      done = true;
      await probe;
      const ms = performance.now() - t;
      // Never stuck behind most of the work (a server that does not yield answers /healthz after all of
      // it): 800 ms, or half the time the work took on a machine slow or loaded enough to need longer
      // (829 ms of 1,984 on a loaded 2-core CI machine with two test files running).
      assert.ok(worst < Math.max(800, ms / 2), `/healthz took up to ${worst.toFixed(0)} ms while expanded trees were computed (${ms.toFixed(0)} ms)`);
      for (const p of pages) assert.match(p.headers.get('link') ?? '', /cursor=50.*rel="next"/);
      for (const b of bodies) assert.equal(b.length, 50, 'an expanded page holds 50 entries');
      assert.equal(info.length, 3000);

      // lastCommit as git computes it, for the page's entries and a sample of paths-info's.
      const sample = [...bodies[0]!, ...info.filter((_, i) => i % 97 === 0)];
      for (const e of sample) {
        const expected = (await git(['log', '-1', '--format=%H', 'main', '--', e.path], { cwd: src })).trim();
        assert.equal(e.lastCommit.id, expected, e.path);
      }
      // Following the Link header pages through everything once.
      const seen = new Set<string>();
      let nextUrl: string | null = `${h.url}/api/models/alice/history/tree/main/dir3?expand=true`;
      while (nextUrl) {
        const r: Response = await fetch(nextUrl);
        for (const e of (await r.json()) as { path: string }[]) seen.add(e.path);
        nextUrl = /<([^>]+)>;\s+rel="next"/.exec(r.headers.get('link') ?? '')?.[1] ?? null;
      }
      assert.equal(seen.size, 100);
    });
  });
}
