/**
 * Mirror benchmark: a large LFS file (default 1 GiB) on a local upstream packhub, fetched
 *   - by curl straight from the upstream (the reference),
 *   - by a mirror's download job (throughput, and the mirror process's peak RSS),
 *   - through a pull-through mirror by curl: the first download (the mirror fetches while it serves)
 *     and the second (a local LFS download).
 * Not a test: it prints figures beside their reference, and stops everything it started.
 *
 *   npx tsx bench/mirror.ts [--size-mib 1024] [--runs 1] [--cpu-prof DIR]
 *
 * The machine may be shared: each run takes curl's reference right before and right after each
 * mirror figure (A/B alternating) and compares the mirror with their mean; the load average is
 * printed beside each run, and the phases of each mirror download (received, verified, synced,
 * stored: ms from its start) from the mirror's log.
 *
 * `--cpu-prof DIR`: the two mirror processes write V8 CPU profiles (.cpuprofile, for Chrome's DevTools
 * or `node bench/cpuprofile-top.mjs FILE`) into DIR when they stop.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { git } from '../test/helpers/git.js';
import { startHub, type Hub } from '../test/helpers/server.js';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '1' }, 'cpu-prof': { type: 'string' } } });
const profDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : null;
/** The environment of a mirror process: with the profiler on when asked. */
const profEnv = (): NodeJS.ProcessEnv =>
  profDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(import.meta.dirname, 'cpu-prof-preload.mjs')}`.trim(), PACKHUB_CPU_PROF_DIR: profDir } : {};
const size = Number(values['size-mib']) * 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-bench-mirror-'));
const hubs: Hub[] = [];

function curlSeconds(url: string): number {
  const out = execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download} %{http_code}', url], { encoding: 'utf8' });
  const [secs, bytes, code] = out.trim().split(' ');
  if (code !== '200' || Number(bytes) !== size) throw new Error(`curl ${url}: ${code}, ${bytes} bytes`);
  return Number(secs);
}

/** Seconds one thread takes now to SHA-256 as many bytes as the file (every mirror download verifies them). */
function sha256Seconds(): number {
  const script = `const c=require('crypto');const b=c.randomBytes(1<<20);const t=process.hrtime.bigint();const h=c.createHash('sha256');for(let n=0;n<${size};n+=b.length)h.update(b);h.digest();console.log(Number(process.hrtime.bigint()-t)/1e9)`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

/** Resident memory of a process now (VmRSS), in MiB. */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** CPU time a process has used so far (user + system, all threads), in seconds. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the given processes use while `fn` runs; and, for the last one, by thread (name: seconds). */
async function cpuOf<T>(pids: number[], fn: () => T | Promise<T>): Promise<{ value: T; cpu: number[]; threads: string }> {
  const before = pids.map(cpuSeconds);
  const last = pids.at(-1)!;
  const threadsBefore = threadSeconds(last);
  const value = await fn();
  const after = threadSeconds(last);
  const used = [...after].map(([tid, t]) => [t.name, t.s - (threadsBefore.get(tid)?.s ?? 0)] as const).filter(([, s]) => s >= 0.05);
  used.sort((x, y) => y[1] - x[1]);
  return { value, cpu: pids.map((p, i) => cpuSeconds(p) - before[i]!), threads: used.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ') };
}

/** CPU seconds of each thread of a process by its id, with its name (`main` for the main thread; workers and the libuv pool have theirs). */
function threadSeconds(pid: number): Map<string, { name: string; s: number }> {
  const out = new Map<string, { name: string; s: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name: tid === String(pid) ? 'main' : name, s: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Samples a process's resident memory every 50 ms until stopped; the highest value seen, in MiB. */
function sampleRss(pid: number): () => number {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMiB(pid));
  };
}

async function adminApi(hub: Hub, token: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${hub.url}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function waitJob(hub: Hub, token: string, id: string): Promise<any> {
  for (;;) {
    const { job } = await adminApi(hub, token, 'GET', `/api/admin/jobs/${id}`);
    if (['completed', 'failed', 'cancelled'].includes(job.state)) {
      if (job.state !== 'completed') throw new Error(`job ${id} ${job.state}: ${job.error}`);
      return job;
    }
    // Gently: every poll is an HTTP request, a query and a log line in the process measured (the
    // job's time comes from its own start and end stamps, not from this loop).
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<void> {
  const upstream = await startHub({ backend: 'fs' });
  hubs.push(upstream);
  const up = await upstream.user('up', { admin: true });
  await upstream.repo('bench/big');
  const work = path.join(dir, 'w');
  await git(['init', '--quiet', '-b', 'main', work]);
  await git(['lfs', 'install', '--local'], { cwd: work });
  await git(['lfs', 'track', '*.bin'], { cwd: work });
  const fd = fs.openSync(path.join(work, 'big.bin'), 'w');
  const chunk = crypto.randomBytes(8 << 20);
  for (let n = 0; n < size; n += chunk.length) {
    chunk[0] = (chunk[0]! + 1) & 0xff;
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - n));
  }
  fs.closeSync(fd);
  await git(['add', '-A'], { cwd: work });
  await git(['commit', '--quiet', '-m', 'big'], { cwd: work });
  await git(['push', '--quiet', `${upstream.authUrl(up)}/bench/big.git`, 'main'], { cwd: work });
  fs.rmSync(work, { recursive: true, force: true });
  const direct = `${upstream.url}/bench/big/resolve/main/big.bin`;
  curlSeconds(direct); // warm the upstream's page cache
  const mib = size / 1024 / 1024;
  const rate = (s: number) => `${(mib / s).toFixed(0)} MiB/s`;
  const load = () => os.loadavg()[0]!.toFixed(1);
  console.log(`mirror benchmark: one ${mib} MiB LFS file, upstream and mirrors on this machine (${os.cpus().length} cores)`);
  for (let run = 1; run <= Number(values.runs); run++) {
    const loadBefore = load();
    const c1 = await cpuOf([upstream.pid], () => curlSeconds(direct));
    const curl1 = c1.value;
    const hashS = sha256Seconds();

    // A registered mirror's download job.
    const mirror = await startHub({ backend: 'fs', env: { PACKHUB_UPSTREAM_URL: upstream.url, PACKHUB_UPSTREAM_TOKEN: up.token, PACKHUB_JOB_POLL_MS: '100', ...profEnv() } });
    hubs.push(mirror);
    const admin = await mirror.user('root', { admin: true });
    const reg = await adminApi(mirror, admin.token, 'POST', '/api/admin/mirrors', { repo: 'bench/big' });
    await waitJob(mirror, admin.token, reg.jobs[0]);
    const jobBase = rssMiB(mirror.pid);
    const jobPeak = sampleRss(mirror.pid);
    const dl = await adminApi(mirror, admin.token, 'POST', '/api/admin/mirrors/models/bench/big/download', {});
    const jobCpu = await cpuOf([upstream.pid, mirror.pid], () => waitJob(mirror, admin.token, dl.job));
    const job = jobCpu.value;
    const jobS = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
    const jobRss = jobPeak();
    const jobPhases = phases(mirror);
    await stopHub(mirror);
    const curl2 = curlSeconds(direct);

    // Pull-through: first and second download through a mirror that has never seen the repository.
    const proxy = await startHub({ backend: 'fs', env: { PACKHUB_UPSTREAM_URL: upstream.url, PACKHUB_UPSTREAM_TOKEN: up.token, PACKHUB_UPSTREAM_PROXY: 'on', ...profEnv() } });
    hubs.push(proxy);
    await fetch(`${proxy.url}/api/models/bench/big`); // registers the repository and fetches its history
    const proxyBase = rssMiB(proxy.pid);
    const proxyPeak = sampleRss(proxy.pid);
    const firstCpu = await cpuOf([upstream.pid, proxy.pid], () => curlSeconds(`${proxy.url}/bench/big/resolve/main/big.bin`));
    const first = firstCpu.value;
    // The fill stores the object once verified; the second download is from storage.
    await new Promise((r) => setTimeout(r, 500));
    const secondCpu = await cpuOf([proxy.pid], () => curlSeconds(`${proxy.url}/bench/big/resolve/main/big.bin`));
    const second = secondCpu.value;
    const proxyRss = proxyPeak();
    await new Promise((r) => setTimeout(r, 1000)); // the log line of the fill, written after its client's last byte
    const proxyPhases = phases(proxy);
    await stopHub(proxy);
    const curl3 = curlSeconds(direct);

    const refJob = (curl1 + curl2) / 2;
    const refProxy = (curl2 + curl3) / 2;
    const rows: [string, string, string, string][] = [
      ['curl from the upstream (reference)', `${curl1.toFixed(2)} s`, rate(curl1), `then ${curl2.toFixed(2)} s, ${curl3.toFixed(2)} s (between the mirror figures)`],
      ['mirror download job', `${jobS.toFixed(2)} s`, rate(jobS), `throughput ${(refJob / jobS).toFixed(2)}x curl (target >= 0.8); peak RSS ${jobRss.toFixed(0)} MiB (target <= 300; ${jobBase.toFixed(0)} MiB before); ms ${jobPhases}`],
      ['pull-through, first download', `${first.toFixed(2)} s`, rate(first), `${(first / refProxy).toFixed(2)}x the direct time (target <= 1.15); peak RSS ${proxyRss.toFixed(0)} MiB (${proxyBase.toFixed(0)} MiB before); ms ${proxyPhases}`],
      ['pull-through, second download', `${second.toFixed(2)} s`, rate(second), `${(second / refProxy).toFixed(2)}x the direct time (a local LFS download)`],
    ];
    console.log(`run ${run}: load average ${loadBefore} -> ${load()}`);
    console.log(`  SHA-256 of ${mib} MiB in one thread, now: ${hashS.toFixed(2)} s (${rate(hashS)}): a verified download takes at least that; job / curl <= ${(refJob / hashS).toFixed(2)}x`);
    for (const r of rows) console.log(`  ${r[0].padEnd(34)} ${r[1].padStart(9)} ${r[2].padStart(11)}  ${r[3]}`);
    const f = (n: number) => n.toFixed(2);
    console.log(`  CPU s: upstream serving curl ${f(c1.cpu[0]!)}; job: upstream ${f(jobCpu.cpu[0]!)}, mirror ${f(jobCpu.cpu[1]!)}; pull-through first: upstream ${f(firstCpu.cpu[0]!)}, mirror ${f(firstCpu.cpu[1]!)}; second: mirror ${f(secondCpu.cpu[0]!)}`);
    console.log(`  mirror threads (CPU s): job: ${jobCpu.threads}; pull-through first: ${firstCpu.threads}`);
  }
}

/** The phases of the last LFS download in a hub's log (ms from its start), as JSON. */
function phases(hub: Hub): string {
  const line = hub
    .logTail(400)
    .split('\n')
    .filter((l) => l.includes('LFS object downloaded and verified'))
    .pop();
  try {
    const l = JSON.parse(line ?? '');
    return `${JSON.stringify(l.ms ?? null)} in ${l.chunks} chunks`;
  } catch {
    return 'unknown';
  }
}

/** Stops a mirror (its profile is written then) and frees its disk before the next figure. */
async function stopHub(hub: Hub): Promise<void> {
  await hub.stop();
  hubs.splice(hubs.indexOf(hub), 1);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const h of hubs) await h.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
