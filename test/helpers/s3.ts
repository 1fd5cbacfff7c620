import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './cleanup.js';
import { tmpDir } from './git.js';

/**
 * s3rver (an S3-compatible server from npm) in a child process on an ephemeral port, shared by every
 * hub of one test file and stopped when the last one lets go. A child process so that it gets the
 * `--openssl-legacy-provider` it needs for paged listings whatever NODE_OPTIONS the test runs with.
 */
export interface S3 {
  endpoint: string;
  port: number;
  /** Create a bucket (s3rver does not check signatures, so a plain PUT does it). */
  createBucket(name: string): Promise<void>;
  /** Give back this reference; the server stops when none is left. */
  release(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const CHILD = `
import S3rver from 's3rver';
const s = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1], resetOnClose: true });
const a = await s.run();
process.stdout.write(JSON.stringify({ s3rverPort: a.port }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0), () => process.exit(1)));
`;

let shared: { child: ChildProcess; port: number; dir: string; refs: number } | null = null;
let starting: Promise<void> | null = null;

async function launch(): Promise<void> {
  const dir = tmpDir('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--input-type=module', '-e', CHILD, dir], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"s3rverPort":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${err}`));
    });
  });
  shared = { child, port, dir, refs: 0 };
  // s3rver dying under a suite shows as refused connections in packhub's log; say why it died.
  const mine = shared;
  child.once('exit', (code, signal) => {
    if (mine.refs > 0 && shared === mine) process.stderr.write(`s3rver exited (${signal ?? code}) while in use; its stderr:\n${err.slice(-4000)}\n`);
  });
}

export async function startS3(): Promise<S3> {
  if (!shared) {
    starting ??= launch().finally(() => (starting = null));
    await starting;
  }
  const s = shared!;
  s.refs++;
  const endpoint = `http://127.0.0.1:${s.port}`;
  let released = false;
  return {
    endpoint,
    port: s.port,
    async createBucket(name) {
      const res = await fetch(`${endpoint}/${name}`, { method: 'PUT' });
      if (res.status !== 200) throw new Error(`s3rver: creating bucket ${name} answered ${res.status}: ${await res.text()}`);
    },
    async release() {
      if (released) return;
      released = true;
      if (--s.refs > 0 || shared !== s) return;
      shared = null;
      await new Promise<void>((resolve) => {
        if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
        const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000);
        s.child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        s.child.kill('SIGTERM');
      });
      fs.rmSync(s.dir, { recursive: true, force: true });
    },
  };
}
