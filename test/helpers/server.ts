import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import S3rver from 's3rver';
import { run } from './run.js';
import { tmpDir } from './git.js';

export type Backend = 'fs' | 's3';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PG_URL = process.env.PACKHUB_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Backends to run each suite against: PACKHUB_TEST_BACKENDS=fs,s3 (default both). */
export function backends(): Backend[] {
  return (process.env.PACKHUB_TEST_BACKENDS ?? 'fs,s3').split(',').map((b) => b.trim()).filter((b): b is Backend => b === 'fs' || b === 's3');
}

let s3: { server: S3rver; port: number; refs: number } | null = null;

async function startS3(): Promise<number> {
  if (!s3) {
    const dir = tmpDir('s3rver');
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, resetOnClose: true });
    const addr = (await server.run()) as unknown as { port: number };
    s3 = { server, port: addr.port, refs: 0 };
  }
  s3.refs++;
  return s3.port;
}

async function stopS3(): Promise<void> {
  if (s3 && --s3.refs === 0) {
    await s3.server.close();
    s3 = null;
  }
}

export interface Hub {
  url: string;
  port: number;
  backend: Backend;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Run the admin CLI with the hub's configuration. */
  cli(args: string[]): Promise<string>;
  /** Create a user with a write token (and a read token); returns credentials. */
  user(name: string, opts?: { admin?: boolean }): Promise<{ name: string; token: string; readToken: string }>;
  repo(id: string, opts?: { private?: boolean; type?: 'model' | 'dataset' | 'space' }): Promise<void>;
  /** http://user:token@host:port */
  authUrl(user: { name: string; token: string }): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  logTail(lines?: number): string;
  /** The server process id (for RSS readings in benchmarks). */
  readonly pid: number;
}

const TSX = ['--import', 'tsx'];

/** Start a real packhub server process on an ephemeral port. */
export async function startHub(opts: { backend: Backend; env?: NodeJS.ProcessEnv }): Promise<Hub> {
  const dataDir = tmpDir(`hub-${opts.backend}`);
  const logFile = path.join(dataDir, 'server.log');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PACKHUB_PORT: '0',
    PACKHUB_HOST: '127.0.0.1',
    PACKHUB_DATA_DIR: dataDir,
    PACKHUB_LOG_LEVEL: 'info',
    ...opts.env,
  };
  let schema: string | null = null;
  if (opts.backend === 's3') {
    const port = await startS3();
    schema = `packhub_t_${crypto.randomBytes(6).toString('hex')}`;
    Object.assign(env, {
      PACKHUB_DATABASE_URL: `${PG_URL}?schema=${schema}`,
      PACKHUB_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      PACKHUB_S3_BUCKET: `packhub-${crypto.randomBytes(4).toString('hex')}`,
      PACKHUB_S3_ACCESS_KEY_ID: 'S3RVER',
      PACKHUB_S3_SECRET_ACCESS_KEY: 'S3RVER',
      PACKHUB_S3_FORCE_PATH_STYLE: 'true',
    });
  }

  let child: ChildProcess | null = null;
  let port = 0;
  const spawnServer = () =>
    new Promise<void>((resolve, reject) => {
      const out = fs.openSync(logFile, 'a');
      child = spawn(process.execPath, [...TSX, path.join(ROOT, 'src/cli.ts'), 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', out] });
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`packhub did not start in 30 s:\n${tail(logFile)}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        fs.appendFileSync(logFile, d);
        if (port) return;
        buf += d.toString();
        const m = /"port":(\d+).*"msg":"packhub listening"/.exec(buf);
        if (m) {
          port = Number(m[1]);
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        if (!port) {
          clearTimeout(timer);
          reject(new Error(`packhub exited with ${code} before listening:\n${tail(logFile)}`));
        }
      });
    });
  await spawnServer();

  const waitExit = () =>
    new Promise<void>((resolve) => {
      const c = child as ChildProcess | null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
    });

  const cli = async (args: string[]) => {
    const r = await run(process.execPath, [...TSX, path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, env });
    if (r.code !== 0) throw new Error(`packhub ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

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
      await cli(['user', 'create', name, ...(o.admin ? ['--admin'] : [])]);
      const token = (await cli(['token', 'create', name, '--scope', 'write'])).trim().split('\n').pop()!;
      const readToken = (await cli(['token', 'create', name, '--scope', 'read'])).trim().split('\n').pop()!;
      return { name, token, readToken };
    },
    async repo(id, o = {}) {
      await cli(['repo', 'create', id, ...(o.private ? ['--private'] : []), ...(o.type ? ['--type', o.type] : [])]);
    },
    authUrl(u) {
      return `http://${u.name}:${u.token}@127.0.0.1:${port}`;
    },
    async kill(signal = 'SIGKILL') {
      (child as ChildProcess | null)?.kill(signal);
      await waitExit();
    },
    async restart() {
      await hub.kill('SIGTERM');
      port = 0;
      await spawnServer();
    },
    async stop() {
      await hub.kill('SIGTERM');
      if (schema) {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
      if (opts.backend === 's3') await stopS3();
      fs.rmSync(dataDir, { recursive: true, force: true });
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
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
