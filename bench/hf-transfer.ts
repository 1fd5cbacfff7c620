/**
 * HF-API transfer benchmark (not a test: it prints figures). One large LFS file (default 1 GiB)
 * is uploaded to packhub with the real `@huggingface/hub` client and downloaded through `resolve`
 * with that client and with curl; beside it, Debian's nginx serves the same file statically to the
 * same two downloaders, and a local `cp` gives the floor. Every download is checked by SHA-256.
 *
 *   npm run build && npx tsx bench/hf-transfer.ts [--size-mib 1024] [--runs 3] [--behind-nginx]
 *
 * With --behind-nginx, packhub runs behind the deployment's docker/nginx.conf with
 * PACKHUB_ACCEL_REDIRECT_PREFIX set, so downloads are sent by nginx after packhub checked them.
 *
 * packhub runs from dist/ (embedded defaults: SQLite + local disk) in a temp data dir on the same
 * disk as the file; the table gives medians, MiB/s, the ratio to nginx, and packhub's peak RSS.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hub from '@huggingface/hub';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' }, 'behind-nginx': { type: 'boolean', default: false } },
});
/** --behind-nginx: packhub behind docker/nginx.conf with PACKHUB_ACCEL_REDIRECT_PREFIX, clients talk to nginx. */
const behindNginx = values['behind-nginx'];
const sizeMiB = Number(values['size-mib']);
const runs = Number(values.runs);
const CLI = path.join(ROOT, 'dist', 'cli.js');
if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function sha256(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

/** Seconds `fn` takes, after writing back dirty pages (of the previous step) so they do not bill this one. */
async function timed(fn: () => Promise<void>): Promise<number> {
  execFileSync('sync');
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url, { method: 'HEAD' })).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-hf-bench-'));
fs.chmodSync(dir, 0o755); // nginx's workers (another user) read the static file
const cleanups: (() => void)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
/** Servers this script started; they keep the event loop alive, so the script stops them itself at the end. */
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanups.reverse().forEach((c) => c());
});
process.on('SIGINT', () => process.exit(130));

/** SIGTERM each child still running and wait for it (SIGKILL after 10 s), so nothing outlives the script. */
async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

// The file, written in pieces (never held whole).
const source = path.join(dir, 'static', 'model.bin');
fs.mkdirSync(path.dirname(source));
process.stdout.write(`writing ${sizeMiB} MiB of random data... `);
{
  const out = fs.openSync(source, 'w');
  const chunk = crypto.randomBytes(8 << 20);
  for (let left = sizeMiB << 20; left > 0; left -= chunk.length) {
    chunk[0] = (chunk[0]! + 1) & 0xff;
    fs.writeSync(out, chunk, 0, Math.min(chunk.length, left));
  }
  fs.closeSync(out);
}
const expected = await sha256(source);
console.log('done');

// packhub from dist/, with a user and a write token.
const port = await freePort();
const env = {
  ...process.env,
  PACKHUB_DATA_DIR: path.join(dir, 'hub'),
  PACKHUB_PORT: String(port),
  PACKHUB_HOST: '127.0.0.1',
  PACKHUB_LOG_LEVEL: 'warn',
  ...(behindNginx ? { PACKHUB_ACCEL_REDIRECT_PREFIX: '/_packhub_objects/' } : {}),
};
execFileSync('node', [CLI, 'user', 'create', 'bench'], { env });
const token = execFileSync('node', [CLI, 'token', 'create', 'bench', '--scope', 'write'], { env }).toString().trim().split('\n').at(-1)!;
// PACKHUB_BENCH_NODE_ARGS: extra node flags for the server (such as --cpu-prof).
const server = spawn('node', [...(process.env.PACKHUB_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
children.push(server);
await waitFor(`http://127.0.0.1:${port}/healthz`);
let hubUrl = `http://127.0.0.1:${port}`;
if (behindNginx) {
  // The deployment's own nginx.conf, pointed at this server and this data dir.
  const proxyPort = await freePort();
  const proxyDir = path.join(dir, 'proxy');
  fs.mkdirSync(proxyDir);
  let conf = fs.readFileSync(path.join(ROOT, 'docker', 'nginx.conf'), 'utf8');
  conf = conf.replace('server packhub:8080;', `server 127.0.0.1:${port};`).replace('listen 80;', `listen 127.0.0.1:${proxyPort};`);
  conf = conf.replace(/\/tmp\/nginx([-\w.]*)/g, (_m, rest: string) => path.join(proxyDir, `nginx${rest}`));
  conf = conf.replace('access_log /dev/stdout;', 'access_log off;').replace('alias /data/objects/;', `alias ${path.join(dir, 'hub', 'objects')}/;`);
  fs.writeFileSync(path.join(proxyDir, 'nginx.conf'), process.getuid?.() === 0 ? `user root;\n${conf}` : conf);
  const proxy = spawn(fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx', ['-p', proxyDir, '-c', path.join(proxyDir, 'nginx.conf'), '-e', path.join(proxyDir, 'error.log'), '-g', 'daemon off;'], { stdio: 'inherit' });
  children.push(proxy);
  hubUrl = `http://127.0.0.1:${proxyPort}`;
  await waitFor(`${hubUrl}/healthz`);
}
const creds = { hubUrl, accessToken: token as `hf_${string}` };

// nginx serving the same directory statically.
const nginxPort = await freePort();
const nginxDir = path.join(dir, 'nginx');
fs.mkdirSync(nginxDir);
fs.writeFileSync(
  path.join(nginxDir, 'nginx.conf'),
  `daemon off; worker_processes 1; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/error.log;
events {}
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path ${nginxDir}; proxy_temp_path ${nginxDir}; fastcgi_temp_path ${nginxDir}; uwsgi_temp_path ${nginxDir}; scgi_temp_path ${nginxDir};
  server { listen 127.0.0.1:${nginxPort}; root ${path.dirname(source)}; }
}
`,
);
const nginxBin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const nginx = spawn(nginxBin, ['-c', path.join(nginxDir, 'nginx.conf'), '-p', nginxDir], { stdio: 'inherit' });
children.push(nginx);
const nginxUrl = `http://127.0.0.1:${nginxPort}/model.bin`;
await waitFor(nginxUrl);

const dest = path.join(dir, 'download.bin');
const check = async (what: string) => {
  if ((await sha256(dest)) !== expected) throw new Error(`${what}: the downloaded bytes differ`);
  fs.rmSync(dest);
};
const curl = (url: string, auth?: string) => {
  const r = spawnSync('curl', ['-sSf', '-L', '-o', dest, ...(auth ? ['-H', `Authorization: Bearer ${auth}`] : []), url]);
  if (r.status !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
};
const fetchToFile = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(dest));
};

const results = new Map<string, number[]>();
const add = (name: string, s: number) => results.set(name, [...(results.get(name) ?? []), s]);

for (let run = 1; run <= runs; run++) {
  const repo = `bench/model-${run}`;
  await hub.createRepo({ ...creds, repo });
  add('packhub upload (@huggingface/hub uploadFile)', await timed(async () => {
    await hub.uploadFile({ ...creds, repo, file: { path: 'model.bin', content: await fs.openAsBlob(source) } });
  }));
  const resolve = `${hubUrl}/${repo}/resolve/main/model.bin`;
  const packhubDownloads = async () => {
    add('packhub download (@huggingface/hub downloadFile)', await timed(async () => {
      const blob = await hub.downloadFile({ ...creds, repo, path: 'model.bin' });
      if (!blob) throw new Error('downloadFile found no file');
      await pipeline(Readable.fromWeb(blob.stream() as import('node:stream/web').ReadableStream), fs.createWriteStream(dest));
    }));
    await check('downloadFile');
    add('packhub download (fetch, streamed to disk)', await timed(() => fetchToFile(resolve, { Authorization: `Bearer ${token}` })));
    await check('fetch');
    add('packhub download (curl)', await timed(async () => curl(resolve, token)));
    await check('curl');
  };
  const staticDownloads = async () => {
    add('nginx static (fetch, streamed to disk)', await timed(() => fetchToFile(nginxUrl)));
    await check('nginx fetch');
    add('nginx static (curl)', await timed(async () => curl(nginxUrl)));
    await check('nginx curl');
    add('cp (local floor)', await timed(async () => void execFileSync('cp', [source, dest])));
    await check('cp');
  };
  // Alternate which server goes first, so neither always meets a warmer page cache.
  if (run % 2) {
    await packhubDownloads();
    await staticDownloads();
  } else {
    await staticDownloads();
    await packhubDownloads();
  }
  console.log(`run ${run} of ${runs} done`);
}

const nginxCurl = median(results.get('nginx static (curl)')!);
const nginxFetch = median(results.get('nginx static (fetch, streamed to disk)')!);
console.log(`\n## HF-API transfer of ${sizeMiB} MiB${behindNginx ? ', packhub behind nginx (X-Accel-Redirect)' : ''} (${os.cpus().length} cores, runs=${runs}, medians)`);
console.log(`${'method'.padEnd(52)} ${'seconds'.padStart(8)} ${'MiB/s'.padStart(8)}  throughput vs nginx (same client)`);
for (const [name, xs] of results) {
  const s = median(xs);
  const ref = name.includes('curl') ? nginxCurl : name.includes('fetch') || name.includes('downloadFile') ? nginxFetch : null;
  const ratio = ref && !name.startsWith('nginx') ? (ref / s).toFixed(2) : '';
  console.log(`${name.padEnd(52)} ${s.toFixed(2).padStart(8)} ${(sizeMiB / s).toFixed(0).padStart(8)}  ${ratio}`);
}
console.log(`packhub peak RSS: ${peakRss(server.pid!).toFixed(0)} MiB`);
await stopChildren();
// fetch keeps idle keep-alive sockets to the stopped servers a while: nothing is left to wait for.
process.exit(0);
