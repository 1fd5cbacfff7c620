import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './cleanup.js';
import { tmpDir } from './git.js';
import { freshSchema, PG_URL, type Schema } from './pg.js';
import { run } from './run.js';
import { startS3, type S3 } from './s3.js';

/** fs: filesystem + SQLite (the embedded default). s3: S3 (s3rver) + PostgreSQL. */
export type Backend = 'fs' | 's3';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export { PG_URL };

/** Backends every integration suite runs against: PACKHUB_TEST_BACKENDS=fs,s3 (the default: both). */
export function backends(spec = process.env.PACKHUB_TEST_BACKENDS): Backend[] {
  const names = (spec ?? 'fs,s3').split(',').map((b) => b.trim()).filter(Boolean);
  for (const n of names) if (n !== 'fs' && n !== 's3') throw new Error(`PACKHUB_TEST_BACKENDS: unknown backend '${n}' (fs, s3)`);
  return [...new Set(names)] as Backend[];
}

export interface Hub {
  url: string;
  port: number;
  backend: Backend;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr of every server process of this hub (restarts append). */
  logFile: string;
  /** Run the admin CLI (see CLI_ARGS) with the hub's configuration; returns stdout. */
  cli(args: string[]): Promise<string>;
  /** Create a user with a write token and a read token. */
  user(name: string, opts?: { admin?: boolean }): Promise<{ name: string; token: string; readToken: string }>;
  repo(id: string, opts?: { private?: boolean; type?: 'model' | 'dataset' | 'space' }): Promise<void>;
  /** http://user:token@127.0.0.1:port */
  authUrl(user: { name: string; token: string }): string;
  /** Signal the server process (SIGKILL by default) and wait for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stop the server (if it still runs) and start a new process on the same data dir, database and bucket. */
  restart(): Promise<void>;
  /** Stop the server and remove what the hub created (temp data dir, PostgreSQL schema, bucket reference). */
  stop(): Promise<void>;
  logTail(lines?: number): string;
  /** The server process id. */
  readonly pid: number;
}

/**
 * The services a backend needs besides the data dir, and the PACKHUB_* settings that point a server
 * at them. fs: none (SQLite and objects in the data dir). s3: a bucket of its own in the shared
 * s3rver and a fresh PostgreSQL schema. `release()` drops the schema and lets go of s3rver.
 */
export async function backendServices(backend: Backend): Promise<{ env: NodeJS.ProcessEnv; release(): Promise<void> }> {
  if (backend === 'fs') return { env: {}, release: async () => undefined };
  const s3: S3 = await startS3();
  const bucket = `packhub-test-${crypto.randomBytes(4).toString('hex')}`;
  let schema: Schema;
  try {
    await s3.createBucket(bucket);
    schema = await freshSchema();
  } catch (e) {
    await s3.release();
    throw e;
  }
  return {
    env: {
      PACKHUB_DATABASE_URL: schema.url,
      PACKHUB_S3_ENDPOINT: s3.endpoint,
      PACKHUB_S3_BUCKET: bucket,
      PACKHUB_S3_ACCESS_KEY_ID: 'S3RVER',
      PACKHUB_S3_SECRET_ACCESS_KEY: 'S3RVER',
      PACKHUB_S3_FORCE_PATH_STYLE: 'true',
    },
    async release() {
      await schema.drop();
      await s3.release();
    },
  };
}

/**
 * Node's arguments that run the packhub CLI: the build when PACKHUB_TEST_CLI names it (the full run,
 * scripts/test-all.sh, builds dist/ first and tests what `npm start` runs; a start costs half the CPU
 * of compiling the sources on the fly), else the sources through tsx.
 */
export const CLI_ARGS: readonly string[] = process.env.PACKHUB_TEST_CLI
  ? [path.resolve(ROOT, process.env.PACKHUB_TEST_CLI)]
  : ['--import', 'tsx', path.join(ROOT, 'src/cli.ts')];

/** The "packhub listening" line's port, or 0. Lines are pino JSON; field order does not matter. */
export function listeningPort(line: string): number {
  if (!line.includes('packhub listening')) return 0;
  try {
    const o = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return o.msg === 'packhub listening' && typeof o.port === 'number' && o.port > 0 ? o.port : 0;
  } catch {
    return 0;
  }
}

/**
 * Start a real packhub server process on an ephemeral port and wait for its "packhub listening" line.
 * `dataDir`: use (and keep) this directory instead of a fresh temp one. `env`: extra PACKHUB_* settings.
 */
export async function startHub(opts: { backend: Backend; dataDir?: string; env?: NodeJS.ProcessEnv }): Promise<Hub> {
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? tmpDir(`hub-${opts.backend}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const logDir = tmpDir('hub-log');
  const logFile = path.join(logDir, 'server.log');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PACKHUB_PORT: '0',
    PACKHUB_HOST: '127.0.0.1',
    PACKHUB_DATA_DIR: dataDir,
    PACKHUB_LOG_LEVEL: 'info',
  };
  const services = await backendServices(opts.backend);
  Object.assign(env, services.env);
  Object.assign(env, opts.env);

  let child: ChildProcess | null = null;
  let port = 0;
  const exited = (c: ChildProcess | null) => !c || c.exitCode !== null || c.signalCode !== null;

  const spawnServer = () =>
    new Promise<void>((resolve, reject) => {
      fs.appendFileSync(logFile, `--- packhub serve (${new Date().toISOString()})\n`);
      const err = fs.openSync(logFile, 'a');
      const c = spawn(process.execPath, [...CLI_ARGS, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', err] });
      fs.closeSync(err);
      child = c;
      killOnExit(c);
      let buf = '';
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`packhub did not start in 60 s; server log:\n${tail(logFile)}`));
      }, 60_000);
      c.stdout!.on('data', (d: Buffer) => {
        fs.appendFileSync(logFile, d);
        if (port) return;
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const p = listeningPort(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (p) {
            port = p;
            clearTimeout(timer);
            resolve();
            return;
          }
        }
      });
      c.once('exit', (code, signal) => {
        if (!port) {
          clearTimeout(timer);
          reject(new Error(`packhub exited (${signal ?? code}) before listening; server log:\n${tail(logFile)}`));
        }
      });
    });

  try {
    await spawnServer();
  } catch (e) {
    await services.release().catch(() => undefined);
    throw e;
  }

  const waitExit = (c: ChildProcess | null, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (exited(c)) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      c!.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  const cli = async (args: string[]) => {
    const r = await run(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`packhub ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const lastLine = (s: string) => s.trim().split('\n').pop()!.trim();

  let stopped = false;
  const hub: Hub = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    backend: opts.backend,
    dataDir,
    env,
    logFile,
    cli,
    async user(name, o = {}) {
      // One process for the user and both its tokens: each CLI start costs a second or two of CPU.
      const out = await cli(['user', 'create', name, ...(o.admin ? ['--admin'] : []), '--token', 'write', '--token', 'read']);
      const tokenAfter = (scope: string) => {
        const m = new RegExp(`created ${scope} token for [^\\n]*\\n(\\S+)`).exec(out);
        if (!m) throw new Error(`no ${scope} token in: ${out}`);
        return m[1]!;
      };
      const token = tokenAfter('write');
      const readToken = tokenAfter('read');
      return { name, token, readToken };
    },
    async repo(id, o = {}) {
      await cli(['repo', 'create', id, ...(o.private ? ['--private'] : []), ...(o.type ? ['--type', o.type] : [])]);
    },
    authUrl(u) {
      return `http://${encodeURIComponent(u.name)}:${encodeURIComponent(u.token)}@127.0.0.1:${port}`;
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (exited(c)) return;
      c!.kill(signal);
      if (!(await waitExit(c, signal === 'SIGKILL' ? 30_000 : 15_000))) {
        c!.kill('SIGKILL');
        await waitExit(c, 30_000);
      }
    },
    async restart() {
      await hub.kill('SIGTERM');
      port = 0;
      await spawnServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await hub.kill('SIGTERM');
      await services.release();
      if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(logDir, { recursive: true, force: true });
    },
    logTail(lines = 40) {
      return tail(logFile, lines);
    },
    get pid() {
      return (child as ChildProcess | null)?.pid ?? 0;
    },
  };
  return hub;
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * For `afterEach((t) => serverLogOnFailure(t, hub))`: when the test failed, attach the tail of the
 * server log to its report (node's test context has `passed` in afterEach since Node 20.14).
 */
export function serverLogOnFailure(context: unknown, ...hubs: (Hub | undefined)[]): void {
  const t = context as { passed?: boolean; diagnostic?: (message: string) => void };
  if (t.passed !== false || typeof t.diagnostic !== 'function') return;
  for (const h of hubs) if (h) t.diagnostic(`server log (${h.backend}, ${h.logFile}), last lines:\n${h.logTail(60)}`);
}

/** For `before`: run the setup; if it throws, rethrow with the tail of the server log in the message. */
export async function withServerLog<T>(hub: () => Hub | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const h = hub();
    if (!h) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    throw new Error(`${err.message}\nserver log (${h.backend}), last lines:\n${h.logTail(60)}`, { cause: err });
  }
}
