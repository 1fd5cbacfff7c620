/**
 * Dataset-sized repository benchmark (not a test: it prints figures). A generated `huge` repo
 * (bench/huge/gen.mjs: HUGE_FILES small text files in nested folders, HUGE_COMMITS commits changing
 * 1..3 files each, HUGE_LFS LFS files of 64 KiB..1 MiB) is served by packhub (from dist/, filesystem
 * backend + SQLite, a `node dist/cli.js serve` child on an ephemeral port) and by C git's
 * `git http-backend` behind nginx + fcgiwrap (the reference of ../shared/bench/baseline.sh), and
 * measured side by side, alternating A/B, medians of HUGE_RUNS rounds:
 *   - git clone --no-checkout, clone --filter=blob:none (with its checkout), clone --no-checkout
 *     --depth 1, incremental fetch (client at main~20);
 *   - list_repo_tree recursive through the JS client's listFiles (follows the Link header), per page;
 *   - paths-info of HUGE_PATHS paths; list_repo_commits first page;
 *   - one commit of HUGE_UPLOAD small files with the JS client (uploadFiles: NDJSON) vs git push;
 *   - HUGE_DOWNLOADS small files the way the Python client fetches them (HEAD + GET resolve, 16 in
 *     parallel) vs nginx serving the same files statically, and packhub's own time per request;
 *   - /api/models?search=…&limit=100 with HUGE_REPOS repos (created through the repo service before
 *     the server starts).
 * packhub's resident set is sampled every 50 ms (peak per phase) beside VmHWM; bench/mem-report.mjs in
 * the server reports the peaks of its heap, external memory and array buffers and its cache sizes per
 * phase (on SIGUSR2: give --heapsnapshot-signal another signal).
 *
 *   npm run build && npx tsx bench/huge.ts     (HUGE_PHASES=git,api,upload,download,search: a subset;
 *                                              HUGE_CLI=path/to/cli.js: another build; HUGE_KEEP=1 keeps the temp dirs;
 *                                              HUGE_LOG_LEVEL=info: packhub's log level, warn by default)
 *   HUGE_FILES=10000 HUGE_COMMITS=100 HUGE_LFS=20 HUGE_UPLOAD=1000 HUGE_DOWNLOADS=1000 HUGE_REPOS=1000 HUGE_RUNS=1 npx tsx bench/huge.ts
 */
import 'reflect-metadata';
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as hub from '@huggingface/hub';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { openDb } from '../src/db/typeorm-db.js';
import { createRepoService } from '../src/repos/repo-service.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const FILES = num('HUGE_FILES', 100_000);
const COMMITS = num('HUGE_COMMITS', 1000);
const LFS = num('HUGE_LFS', 200);
const UPLOAD = num('HUGE_UPLOAD', 10_000);
const DOWNLOADS = Math.min(num('HUGE_DOWNLOADS', 10_000), FILES);
const REPOS = num('HUGE_REPOS', 10_000);
const RUNS = num('HUGE_RUNS', 3);
const PATHS = Math.min(num('HUGE_PATHS', 1000), FILES);
/** Which measurements to take (all by default): git, api, upload, download, search. */
const PHASES = new Set((process.env.HUGE_PHASES ?? 'git,api,upload,download,search').split(','));
/** The packhub build to serve (dist/ by default). */
const CLI = path.resolve(process.env.HUGE_CLI ?? path.join(ROOT, 'dist', 'cli.js'));
if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
const NGINX = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const FCGIWRAP = fs.existsSync('/usr/sbin/fcgiwrap') ? '/usr/sbin/fcgiwrap' : 'fcgiwrap';

const filePath = (i: number) =>
  `data/p${String(Math.floor(i / 2000)).padStart(3, '0')}/q${String(Math.floor(i / 100) % 20).padStart(2, '0')}/r${String(i % 100).padStart(3, '0')}.txt`;

// ---------------------------------------------------------------- processes and cleanup
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-huge-'));
fs.chmodSync(dir, 0o755);
const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/packhub-huge-client-') : path.join(dir, 'client');
fs.mkdirSync(shm, { recursive: true });
const children: ChildProcess[] = [];
/** Process groups started detached (fcgiwrap forks its workers): signalled as a group. */
const groups: number[] = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (!process.env.HUGE_KEEP) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(shm, { recursive: true, force: true });
  }
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

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
  for (const g of groups.splice(0)) {
    try {
      process.kill(-g, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

/** nginx and fcgiwrap fork workers: each runs in its own process group, stopped as a group. */
function startGroup(cmd: string, args: string[]): void {
  const c = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  groups.push(c.pid!);
  c.unref();
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitFor(url: string, ok = (s: number) => s < 500): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      if (ok((await fetch(url, { method: 'GET' })).status)) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** Isolated git client environment: no user or system config, protocol v2, no LFS filter (pointers stay pointers on both servers). */
const HOME = path.join(dir, 'home');
fs.mkdirSync(HOME);
fs.writeFileSync(
  path.join(HOME, '.gitconfig'),
  '[user]\n\tname = Bench\n\temail = bench@bench.invalid\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[protocol]\n\tversion = 2\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n',
);
const gitEnv = { ...process.env, HOME, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/false' };
/** Runs a command to its end (async, so the RSS sampler keeps ticking); throws on failure. */
function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: gitEnv, ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('exit', (code) => {
      children.splice(children.indexOf(c), 1);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err}`));
    });
  });
}
const git = (args: string[], cwd?: string) => run('git', args, { cwd });

// ---------------------------------------------------------------- statistics
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const p95 = (xs: number[]) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  execFileSync('sync');
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
const log = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ---------------------------------------------------------------- the repo
const SRV = path.join(dir, 'srv');
const HUGE = path.join(SRV, 'huge.git');
const LFS_DIR = path.join(dir, 'lfs');
fs.mkdirSync(SRV);
log(`generating huge: ${FILES} files, ${COMMITS} commits, ${LFS} LFS files`);
await git(['init', '-q', '--bare', '-b', 'main', HUGE]);
await run('bash', ['-c', `node ${JSON.stringify(path.join(ROOT, 'bench/huge/gen.mjs'))} ${FILES} ${COMMITS} ${LFS} ${JSON.stringify(LFS_DIR)} | git -C ${JSON.stringify(HUGE)} fast-import --quiet`]);
// Packed like a maintained server repo (one pack with deltas, bitmap, commit-graph), as baseline.sh does.
await git(['-C', HUGE, 'gc', '--quiet', '--prune=now']);
for (const [k, v] of [['uploadpack.allowFilter', 'true'], ['uploadpack.allowAnySHA1InWant', 'true'], ['http.receivepack', 'true']]) await git(['-C', HUGE, 'config', k!, v!]);
const tip = (await git(['-C', HUGE, 'rev-parse', 'main'])).trim();
log(`huge main=${tip}, pack ${(await git(['-C', HUGE, 'count-objects', '-vH'])).match(/size-pack: (.*)/)?.[1]}`);

// ---------------------------------------------------------------- reference: git http-backend via nginx + fcgiwrap
const refPort = await freePort();
const RUN = path.join(dir, 'ref-run');
for (const d of ['body', 'fcgi', 'proxy', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(RUN, d), { recursive: true });
const httpBackend = path.join((await git(['--exec-path'])).trim(), 'git-http-backend');
const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
fs.writeFileSync(
  path.join(RUN, 'nginx.conf'),
  `${asRoot}daemon off; worker_processes 2; pid ${RUN}/nginx.pid; error_log ${RUN}/nginx-error.log warn;
events { worker_connections 512; }
http {
  access_log off; client_max_body_size 0;
  client_body_temp_path ${RUN}/body; fastcgi_temp_path ${RUN}/fcgi; proxy_temp_path ${RUN}/proxy; uwsgi_temp_path ${RUN}/uwsgi; scgi_temp_path ${RUN}/scgi;
  server {
    listen 127.0.0.1:${refPort};
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass unix:${RUN}/fcgiwrap.sock;
      fastcgi_param SCRIPT_FILENAME ${httpBackend};
      fastcgi_param GIT_PROJECT_ROOT ${SRV};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_param REMOTE_USER $remote_user;
      fastcgi_param GIT_PROTOCOL $http_git_protocol;
      fastcgi_buffering off; fastcgi_request_buffering on; fastcgi_read_timeout 900s; fastcgi_send_timeout 900s;
    }
  }
}
`,
);
startGroup(FCGIWRAP, ['-c', '4', '-s', `unix:${RUN}/fcgiwrap.sock`]);
for (let i = 0; i < 100 && !fs.existsSync(`${RUN}/fcgiwrap.sock`); i++) await new Promise((r) => setTimeout(r, 50));
startGroup(NGINX, ['-c', `${RUN}/nginx.conf`, '-p', RUN]);
const REF = `http://127.0.0.1:${refPort}`;
await waitFor(`${REF}/huge.git/info/refs?service=git-upload-pack`, (s) => s === 200);

// ---------------------------------------------------------------- packhub
const phPort = await freePort();
const phEnv = {
  ...process.env,
  PACKHUB_DATA_DIR: path.join(dir, 'hub'),
  PACKHUB_PORT: String(phPort),
  PACKHUB_HOST: '127.0.0.1',
  PACKHUB_LOG_LEVEL: process.env.HUGE_LOG_LEVEL ?? 'warn',
};
execFileSync('node', [CLI, 'user', 'create', 'bench'], { env: phEnv, stdio: 'ignore' });
const token = execFileSync('node', [CLI, 'token', 'create', 'bench', '--scope', 'write'], { env: phEnv, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n').at(-1)!;
// HUGE_REPOS repositories for the search, created through the repo service (the same inserts as
// `packhub repo create` and POST /api/repos/create) before the server starts.
const WORDS = ['llama', 'mistral', 'bert', 'whisper', 'vision', 'audio', 'tiny', 'large', 'chat', 'code', 'math', 'instruct', 'base', 'lora', 'gguf', 'sentiment', 'translate', 'summarize', 'embed', 'rerank'];
if (PHASES.has('search')) {
  const t = performance.now();
  const db = await openDb(loadConfig(phEnv).database, createLogger('warn', process.stderr));
  const repos = createRepoService(db);
  for (let i = 0; i < REPOS; i++) {
    const name = `${WORDS[i % WORDS.length]}-${WORDS[Math.floor(i / WORDS.length) % WORDS.length]}-${i}`;
    await repos.create({ type: 'model', namespace: 'bench', name, private: i % 10 === 9, defaultBranch: 'main' });
  }
  await db.close();
  log(`created ${REPOS} repos through the repo service in ${((performance.now() - t) / 1000).toFixed(1)} s (every 10th private)`);
}
// bench/mem-report.mjs in the server: heap / external / array buffer peaks and cache sizes per phase (SIGUSR2).
const MEM_REPORT = path.join(dir, 'mem-report.json');
const memArgs = ['--import', pathToFileURL(path.join(ROOT, 'bench/mem-report.mjs')).href];
const server = spawn('node', [...memArgs, ...(process.env.PACKHUB_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, 'serve'], {
  env: { ...phEnv, PACKHUB_MEM_REPORT: MEM_REPORT, PACKHUB_MEM_DIST: path.dirname(CLI) },
  stdio: ['ignore', 'inherit', 'inherit'],
});
children.push(server);
const PH = `http://127.0.0.1:${phPort}`;
await waitFor(`${PH}/healthz`, (s) => s === 200);
const PHGIT = `http://bench:${token}@127.0.0.1:${phPort}/bench`;
const creds = { hubUrl: PH, accessToken: token as `hf_${string}` };

// Resident set of packhub: sampled every 50 ms, peak per phase.
const rssOf = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) / 1024;
let phasePeak = 0;
const sampler = setInterval(() => {
  try {
    phasePeak = Math.max(phasePeak, rssOf('VmRSS'));
  } catch {
    /* exited */
  }
}, 50);
const rssPeaks: Record<string, number> = {};
const memReports: Record<string, string> = {};
/** The server's memory report for the interval that ends now (peaks of process.memoryUsage(), cache sizes). */
async function memReport(): Promise<string> {
  fs.rmSync(MEM_REPORT, { force: true });
  server.kill('SIGUSR2');
  for (let i = 0; i < 500 && !fs.existsSync(MEM_REPORT); i++) await new Promise((r) => setTimeout(r, 20));
  if (!fs.existsSync(MEM_REPORT)) return '(no memory report)';
  const r = JSON.parse(fs.readFileSync(MEM_REPORT, 'utf8')) as { peak: Record<string, number>; now: Record<string, number>; live?: Record<string, number>; caches: Record<string, unknown> };
  const m = (o: Record<string, number>) => `rss ${o.rss}, heap ${o.heapUsed}/${o.heapTotal}, external ${o.external} (array buffers ${o.arrayBuffers})`;
  return `peak ${m(r.peak)}; now ${m(r.now)}${r.live ? `; live after a gc ${m(r.live)}` : ''} MiB; caches ${JSON.stringify(r.caches)}`;
}
function phase(name: string) {
  phasePeak = rssOf('VmRSS');
  void memReport(); // starts the phase's interval
  return async () => {
    rssPeaks[name] = Math.max(phasePeak, rssOf('VmRSS'));
    memReports[name] = await memReport();
    log(`memory after ${name}: ${memReports[name]}`);
  };
}

// Seed: the LFS objects through the batch API, then a git push of the whole history.
{
  const endSeed = phase('seed');
  const t = performance.now();
  await hub.createRepo({ ...creds, repo: 'bench/huge' });
  const auth = `Basic ${Buffer.from(`bench:${token}`).toString('base64')}`;
  const objects = fs.readdirSync(LFS_DIR).map((oid) => ({ oid, size: fs.statSync(path.join(LFS_DIR, oid)).size }));
  for (let i = 0; i < objects.length; i += 100) {
    const res = await fetch(`${PH}/bench/huge.git/info/lfs/objects/batch`, {
      method: 'POST',
      headers: { Authorization: auth, Accept: 'application/vnd.git-lfs+json', 'Content-Type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: objects.slice(i, i + 100) }),
    });
    if (!res.ok) throw new Error(`LFS batch: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { objects: { oid: string; actions?: Record<string, { href: string; header?: Record<string, string> }> }[] };
    for (const o of body.objects) {
      const up = o.actions?.upload;
      if (up) {
        const r = await fetch(up.href, { method: 'PUT', headers: { ...(up.header ?? { Authorization: auth }), 'Content-Type': 'application/octet-stream' }, body: fs.readFileSync(path.join(LFS_DIR, o.oid)) });
        if (!r.ok) throw new Error(`LFS upload ${o.oid}: ${r.status} ${await r.text()}`);
      }
      const verify = o.actions?.verify;
      if (verify) {
        const r = await fetch(verify.href, { method: 'POST', headers: { ...(verify.header ?? { Authorization: auth }), 'Content-Type': 'application/vnd.git-lfs+json' }, body: JSON.stringify({ oid: o.oid, size: objects.find((x) => x.oid === o.oid)!.size }) });
        if (!r.ok) throw new Error(`LFS verify ${o.oid}: ${r.status}`);
      }
    }
  }
  await git(['-C', HUGE, 'push', '-q', `${PHGIT}/huge.git`, '+refs/heads/main:refs/heads/main']);
  await endSeed();
  log(`seeded packhub (LFS objects + push of the history) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------- results
interface Row {
  group: string;
  what: string;
  ref?: number;
  ph: number;
  unit: string;
  target: string;
  met?: boolean;
  note?: string;
}
const rows: Row[] = [];
const rowLine = (r: Row) => `| ${r.group} | ${r.what} | ${fmt(r.ref, r.unit)} | ${fmt(r.ph, r.unit)} | ${r.unit} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} | ${r.note ?? ''} |`;
/** Each figure is printed as soon as it is measured too, so a run cut short keeps what it found. */
function addRow(r: Row) {
  rows.push(r);
  log(`${rowLine(r)}  (packhub RSS peak so far in this phase ${phasePeak.toFixed(0)} MiB)`);
}
const fmt = (x: number | undefined, unit: string) => (x === undefined ? '' : unit === 's' ? x.toFixed(3) : unit === 'ms' ? x.toFixed(1) : x.toFixed(0));

// ---------------------------------------------------------------- git: clones and fetch, A/B alternated
if (PHASES.has('git')) {
  const endGit = phase('git');
  const incrTemplate = path.join(shm, 'incr-template');
  await git(['init', '-q', incrTemplate]);
  const behind = (await git(['-C', HUGE, 'rev-parse', `main~${Math.min(20, COMMITS - 1)}`])).trim();
  await git(['-C', incrTemplate, 'fetch', '-q', '--no-tags', `file://${HUGE}`, `${behind}:refs/remotes/origin/main`]);
  await git(['-C', incrTemplate, 'checkout', '-q', '-b', 'main', 'origin/main']);
  const servers = { reference: `${REF}/huge.git`, packhub: `${PHGIT}/huge.git` } as const;
  // Full and shallow clones skip the checkout (writing 100,000 files is the same client work for both
  // servers and, on a loaded machine, most of the time); the blobless clone checks out, since its
  // checkout is what fetches the blobs (a second request naming 100,000 blob ids).
  const tests = {
    clone_full: (url: string, d: string) => timed(() => git(['clone', '-q', '--no-checkout', url, d])),
    clone_blobless: (url: string, d: string) => timed(() => git(['clone', '-q', '--filter=blob:none', url, d])),
    clone_depth1: (url: string, d: string) => timed(() => git(['clone', '-q', '--no-checkout', '--depth', '1', url, d])),
    fetch_incr: async (url: string, d: string) => {
      await run('cp', ['-a', incrTemplate, d]);
      await git(['-C', d, 'remote', 'add', 'origin', url]);
      const s = await timed(() => git(['-C', d, 'fetch', '-q', 'origin']));
      if ((await git(['-C', d, 'rev-parse', 'origin/main'])).trim() !== tip) throw new Error('fetch_incr: unexpected tip');
      return s;
    },
  };
  const times: Record<string, Record<string, number[]>> = {};
  for (let round = 0; round <= RUNS; round++) {
    for (const [name, fn] of Object.entries(tests)) {
      if (round === 0 && name !== 'clone_depth1') continue; // one light warm-up per server
      const order = round % 2 ? (['packhub', 'reference'] as const) : (['reference', 'packhub'] as const);
      for (const who of order) {
        const d = path.join(shm, `${name}-${who}`);
        const s = await fn(servers[who], d);
        await run('rm', ['-rf', d]);
        if (round > 0) ((times[name] ??= {})[who] ??= []).push(s); // round 0 warms both up (page cache, first pack)
      }
    }
    log(round ? `git round ${round} of ${RUNS} done` : 'git warm-up done');
  }
  await endGit();
  for (const [name, t] of Object.entries(times)) {
    const ref = median(t.reference!);
    const ph = median(t.packhub!);
    addRow({ group: 'git', what: name, ref, ph, unit: 's', target: '<= 1.0x reference', met: ph <= ref, note: `${(ph / ref).toFixed(2)}x` });
  }
}

// ---------------------------------------------------------------- HF API: tree, paths-info, commits
if (PHASES.has('api')) {
  const endApi = phase('api');
  const totals: number[] = [];
  let pages: number[] = [];
  let entries = 0;
  for (let i = 0; i < Math.max(RUNS, 3); i++) {
    const pageTimes: number[] = [];
    const timedFetch: typeof fetch = async (input, init) => {
      const t = performance.now();
      const res = await fetch(input, init);
      const body = await res.arrayBuffer(); // the page's whole time, body included
      pageTimes.push(performance.now() - t);
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    let n = 0;
    totals.push(
      await timed(async () => {
        for await (const _ of hub.listFiles({ ...creds, repo: 'bench/huge', recursive: true, fetch: timedFetch })) n++;
      }),
    );
    entries = n;
    pages = pageTimes;
  }
  const expectedEntries = FILES + LFS + 2 + new Set(Array.from({ length: FILES }, (_, i) => filePath(i).split('/').slice(0, 3).join('/'))).size + new Set(Array.from({ length: FILES }, (_, i) => filePath(i).split('/').slice(0, 2).join('/'))).size + 2;
  const t = median(totals);
  const tenth = Math.max(1, Math.floor(pages.length / 10));
  const firstPages = median(pages.slice(0, tenth));
  const lastPages = median(pages.slice(-tenth));
  addRow({ group: 'api', what: `list_repo_tree recursive (${entries} entries, ${pages.length} pages)`, ph: t, unit: 's', target: '<= 3 s', met: t <= 3, note: entries === expectedEntries ? '' : `expected ${expectedEntries} entries` });
  addRow({
    group: 'api',
    what: 'tree page time: first 10% of pages / last 10%',
    ph: lastPages,
    unit: 'ms',
    target: 'no re-walk: last ~ first',
    met: lastPages <= firstPages * 2,
    note: `first ${firstPages.toFixed(1)} ms, last ${lastPages.toFixed(1)} ms`,
  });

  const paths = Array.from({ length: PATHS }, (_, i) => filePath(Math.floor((i * FILES) / PATHS)));
  const infoTimes: number[] = [];
  for (let i = 0; i < Math.max(RUNS, 3) * 3; i++) {
    infoTimes.push(
      await timed(async () => {
        const got = await hub.pathsInfo({ ...creds, repo: 'bench/huge', paths });
        if (got.length !== PATHS) throw new Error(`paths-info: ${got.length} of ${PATHS}`);
      }),
    );
  }
  const pi = median(infoTimes);
  addRow({ group: 'api', what: `paths-info of ${PATHS} paths`, ph: pi, unit: 's', target: '<= 0.3 s', met: pi <= 0.3 });

  const commitTimes: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const res = await fetch(`${PH}/api/models/bench/huge/commits/main`, { headers: { Authorization: `Bearer ${token}` } });
    const list = (await res.json()) as unknown[];
    if (!res.ok || !Array.isArray(list) || list.length === 0) throw new Error(`commits: ${res.status}`);
    if (i > 0) commitTimes.push(performance.now() - t0);
  }
  addRow({ group: 'api', what: 'list_repo_commits first page (median; p95 in note)', ph: median(commitTimes), unit: 'ms', target: '<= 50 ms', met: median(commitTimes) <= 50, note: `p95 ${p95(commitTimes).toFixed(1)} ms` });
  await endApi();
}

// ---------------------------------------------------------------- one commit of UPLOAD small files: JS client vs git push
if (PHASES.has('upload')) {
  const endUp = phase('upload');
  const work = path.join(shm, 'upload-src');
  await git(['init', '-q', work]);
  const files: { path: string; content: Blob }[] = [];
  for (let i = 0; i < UPLOAD; i++) {
    const p = `up/d${String(Math.floor(i / 100)).padStart(3, '0')}/f${String(i % 100).padStart(3, '0')}.txt`;
    const body = `${p}\n${'upload benchmark line of text\n'.repeat(3 + (i % 30))}`;
    fs.mkdirSync(path.join(work, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(work, p), body);
    files.push({ path: p, content: new Blob([body]) });
  }
  await git(['-C', work, 'add', '-A']);
  await git(['-C', work, 'commit', '-q', '-m', 'upload']);
  const t: Record<string, number[]> = { js: [], gitRef: [], gitPh: [], preupload: [], commit: [] };
  // Where the JS client's time goes: its preupload calls (100 files each) and the NDJSON commit.
  const spent = { preupload: 0, commit: 0 };
  const timedFetch: typeof fetch = async (url, init) => {
    const kind = /\/preupload\//.test(String(url)) ? 'preupload' : /\/commit\//.test(String(url)) ? 'commit' : null;
    const t0 = performance.now();
    const res = await fetch(url, init);
    if (kind) spent[kind] += performance.now() - t0;
    return res;
  };
  for (let round = 1; round <= RUNS; round++) {
    const jsRepo = `bench/upload-js-${round}`;
    const gitRepo = `bench/upload-git-${round}`;
    await hub.createRepo({ ...creds, repo: jsRepo });
    await hub.createRepo({ ...creds, repo: gitRepo });
    const refDir = path.join(SRV, `upload-${round}.git`);
    await git(['init', '-q', '--bare', '-b', 'main', refDir]);
    await git(['-C', refDir, 'config', 'http.receivepack', 'true']);
    const steps = [
      async () => {
        spent.preupload = spent.commit = 0;
        t.js!.push(await timed(() => hub.uploadFiles({ ...creds, repo: jsRepo, files, commitTitle: 'upload', fetch: timedFetch })));
        t.preupload!.push(spent.preupload / 1000);
        t.commit!.push(spent.commit / 1000);
      },
      async () => t.gitRef!.push(await timed(() => git(['-C', work, 'push', '-q', `${REF}/upload-${round}.git`, 'main']))),
      async () => t.gitPh!.push(await timed(() => git(['-C', work, 'push', '-q', `${PHGIT}/upload-git-${round}.git`, '+main']))),
    ];
    for (const s of round % 2 ? steps : [...steps].reverse()) await s();
    log(`upload round ${round} of ${RUNS} done`);
  }
  await endUp();
  const js = median(t.js!);
  const ref = median(t.gitRef!);
  addRow({ group: 'upload', what: `JS uploadFiles, ${UPLOAD} files in 1 commit vs git push to reference`, ref, ph: js, unit: 's', target: '<= 1.5x git push', met: js <= 1.5 * ref, note: `${(js / ref).toFixed(2)}x; preupload calls ${median(t.preupload!).toFixed(2)} s, commit call ${median(t.commit!).toFixed(2)} s` });
  addRow({ group: 'upload', what: `git push of the same ${UPLOAD} files to packhub`, ref, ph: median(t.gitPh!), unit: 's', target: '(for comparison)', note: `${(median(t.gitPh!) / ref).toFixed(2)}x` });
}

// ---------------------------------------------------------------- DOWNLOADS small files the Python client's way vs nginx static
if (PHASES.has('download')) {
  const staticRoot = path.join(dir, 'static');
  await git(['clone', '-q', '--depth', '1', `${REF}/huge.git`, staticRoot]);
  const ngPort = await freePort();
  const ngDir = path.join(dir, 'static-nginx');
  fs.mkdirSync(ngDir);
  fs.writeFileSync(
    path.join(ngDir, 'nginx.conf'),
    `${asRoot}daemon off; worker_processes 1; pid ${ngDir}/nginx.pid; error_log ${ngDir}/error.log;
events { worker_connections 512; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path ${ngDir}; proxy_temp_path ${ngDir}; fastcgi_temp_path ${ngDir}; uwsgi_temp_path ${ngDir}; scgi_temp_path ${ngDir};
  server { listen 127.0.0.1:${ngPort}; root ${staticRoot}; }
}
`,
  );
  startGroup(NGINX, ['-c', path.join(ngDir, 'nginx.conf'), '-p', ngDir]);
  await waitFor(`http://127.0.0.1:${ngPort}/README.md`, (s) => s === 200);

  const paths = Array.from({ length: DOWNLOADS }, (_, i) => filePath(Math.floor((i * FILES) / DOWNLOADS)));
  /** HEAD then GET per file, 16 at a time over a keep-alive pool (as huggingface_hub's requests session does). */
  async function pythonStyle(url: (p: string) => string, headers: Record<string, string>, count = paths.length): Promise<number> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const req = (method: string, u: string) =>
      new Promise<number>((resolve, reject) => {
        const r = http.request(u, { method, agent, headers: { ...headers, 'Accept-Encoding': 'identity', 'User-Agent': 'huggingface_hub/0.26; python/3.12' } }, (res) => {
          let n = 0;
          res.on('data', (d: Buffer) => (n += d.length));
          res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${method} ${u}: ${res.statusCode}`))));
          res.on('error', reject);
        });
        r.on('error', reject);
        r.end();
      });
    let next = 0;
    const s = await timed(() =>
      Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const u = url(paths[next++]!);
            await req('HEAD', u);
            if ((await req('GET', u)) === 0) throw new Error(`GET ${u}: empty`);
          }
        }),
      ),
    );
    agent.destroy();
    return s;
  }
  const metricSums = async () => {
    const text = await (await fetch(`${PH}/metrics`)).text();
    const get = (m: string, method: string) => Number(new RegExp(`^packhub_http_request_duration_seconds_${m}\\{method="${method}",surface="hf"\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    return { headSum: get('sum', 'HEAD'), headN: get('count', 'HEAD'), getSum: get('sum', 'GET'), getN: get('count', 'GET') };
  };
  const t: Record<string, number[]> = { ph: [], nginx: [] };
  let perHead = 0;
  let perGet = 0;
  /** CPU seconds (user + system) of a process and its children so far (nginx's worker; packhub's threads, GC helpers and libuv pool included), from /proc. */
  const cpuOf = (pid: number): number => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
    return (Number(f[11]) + Number(f[12])) / 100 + kids.reduce((a, k) => a + cpuOf(k), 0);
  };
  const ngPid = () => Number(fs.readFileSync(path.join(ngDir, 'nginx.pid'), 'utf8'));
  const clientCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  /** Per request, last round: [server CPU ms, this (client) process's CPU ms] for packhub and nginx. */
  const cpuPer: Record<string, [number, number]> = {};
  const cpuRound = async (who: string, serverPid: number, n: number, fn: () => Promise<number>) => {
    const s0 = cpuOf(serverPid);
    const c0 = clientCpu();
    const s = await fn();
    cpuPer[who] = [((cpuOf(serverPid) - s0) / n) * 1000, ((clientCpu() - c0) / n) * 1000];
    return s;
  };
  const endDl = phase('downloads');
  for (let round = 0; round <= RUNS; round++) {
    const a = async () => {
      const m0 = await metricSums();
      const n = round ? DOWNLOADS : Math.ceil(DOWNLOADS / 10);
      const s = await cpuRound('ph', server.pid!, 2 * n, () => pythonStyle((p) => `${PH}/bench/huge/resolve/main/${p}`, { Authorization: `Bearer ${token}` }, n));
      const m1 = await metricSums();
      if (round > 0) {
        t.ph!.push(s);
        perHead = ((m1.headSum - m0.headSum) / Math.max(1, m1.headN - m0.headN)) * 1000;
        perGet = ((m1.getSum - m0.getSum) / Math.max(1, m1.getN - m0.getN)) * 1000;
      }
    };
    const b = async () => {
      const n = round ? DOWNLOADS : Math.ceil(DOWNLOADS / 10);
      const s = await cpuRound('nginx', ngPid(), 2 * n, () => pythonStyle((p) => `http://127.0.0.1:${ngPort}/${p}`, {}, n));
      if (round > 0) t.nginx!.push(s);
    };
    for (const s of round % 2 ? [a, b] : [b, a]) await s();
    log(round ? `download round ${round} of ${RUNS} done` : 'download warm-up done');
  }
  await endDl();
  const ph = median(t.ph!);
  const ng = median(t.nginx!);
  addRow({
    group: 'download',
    what: `${DOWNLOADS} files, HEAD + GET resolve, 16 parallel, vs nginx static`,
    ref: ng,
    ph,
    unit: 's',
    target: '<= 1.5x nginx',
    met: ph <= 1.5 * ng,
    note: `${(ph / ng).toFixed(2)}x; packhub's own time per HEAD ${perHead.toFixed(2)} ms, per GET ${perGet.toFixed(2)} ms (last round, metrics histogram); CPU per request, server / client: packhub ${cpuPer.ph![0].toFixed(3)} / ${cpuPer.ph![1].toFixed(3)} ms, nginx ${cpuPer.nginx![0].toFixed(3)} / ${cpuPer.nginx![1].toFixed(3)} ms`,
  });
}

// ---------------------------------------------------------------- search and listing with REPOS repos
if (PHASES.has('search')) {
  const endSearch = phase('search');
  const queries = [...WORDS.slice(0, 5).map((w) => `search=${w}`), 'search=instruct-lora', 'search=7', 'sort=likes&direction=-1', ''];
  const per: Record<string, number[]> = {};
  for (let round = 0; round < 20; round++) {
    for (const q of queries) {
      const t0 = performance.now();
      const res = await fetch(`${PH}/api/models?${q}${q ? '&' : ''}limit=100`);
      const list = (await res.json()) as unknown[];
      if (!res.ok || !Array.isArray(list)) throw new Error(`/api/models?${q}: ${res.status}`);
      if (round > 0) (per[q.startsWith('search') ? 'search' : 'listing'] ??= []).push(performance.now() - t0);
    }
  }
  await endSearch();
  const s = per.search!;
  const l = per.listing!;
  addRow({ group: 'search', what: `/api/models?search=...&limit=100, ${REPOS} repos (p95; median in note)`, ph: p95(s), unit: 'ms', target: 'p95 <= 50 ms', met: p95(s) <= 50, note: `median ${median(s).toFixed(1)} ms, ${s.length} requests, 7 queries` });
  addRow({ group: 'search', what: `/api/models?limit=100 listing, ${REPOS} repos (p95)`, ph: p95(l), unit: 'ms', target: '(for comparison)', note: `median ${median(l).toFixed(1)} ms` });
}

const hwm = rssOf('VmHWM');
clearInterval(sampler);
console.log(`\n## huge: ${FILES} files, ${COMMITS} commits, ${LFS} LFS files (64 KiB..1 MiB); ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg()[0]!.toFixed(1)}; RUNS=${RUNS} (medians, A/B alternated)`);
console.log('| group | measurement | reference | packhub | unit | target | met | note |');
console.log('|---|---|---:|---:|---|---|---|---|');
for (const r of rows) console.log(rowLine(r));
console.log(`\npackhub peak RSS by phase (MiB, sampled every 50 ms): ${Object.entries(rssPeaks).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}; VmHWM ${hwm.toFixed(0)} (target <= 300 MB)`);
for (const [k, v] of Object.entries(memReports)) console.log(`- ${k}: ${v}`);
await stopChildren();
process.exit(0);
