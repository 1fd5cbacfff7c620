import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';

/**
 * What a running server uses, written into its data dir at start (`server.json`), so that the admin
 * CLI, started with its own environment, can tell whether it would open the same database. Secrets
 * (a database password) are never written.
 */
export interface DeploymentRecord {
  database: string;
  storage: string;
  pid: number;
  startedAt: string;
}

const FILE = 'server.json';

/** The database, as people read it and as two configurations compare: no password. */
export function describeDatabase(db: Config['database']): string {
  if (db.kind === 'sqlite') return `sqlite:${db.file}`;
  const u = new URL(db.url);
  u.password = '';
  return u.toString();
}

export function describeStorage(s: Config['storage']): string {
  return s.kind === 'fs' ? `fs:${s.root}` : `s3:${s.s3.endpoint ?? 'aws'}/${s.s3.bucket}${s.s3.prefix ? `/${s.s3.prefix}` : ''}`;
}

export function writeDeployment(config: Readonly<Config>): void {
  const record: DeploymentRecord = { database: describeDatabase(config.database), storage: describeStorage(config.storage), pid: process.pid, startedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(config.dataDir, FILE), `${JSON.stringify(record, null, 2)}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * For the CLI: which database it opens, and whether the server of the same data dir uses another.
 * `mismatch` is set when a server recorded a different database; `running` when that server's
 * process is alive on this machine.
 */
export function checkDeployment(config: Readonly<Config>): { database: string; mismatch: DeploymentRecord | null; running: boolean } {
  const database = describeDatabase(config.database);
  let recorded: DeploymentRecord | null = null;
  try {
    recorded = JSON.parse(fs.readFileSync(path.join(config.dataDir, FILE), 'utf8')) as DeploymentRecord;
  } catch {
    recorded = null;
  }
  if (!recorded || recorded.database === database) return { database, mismatch: null, running: false };
  return { database, mismatch: recorded, running: alive(recorded.pid) };
}
