import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import type { OpenedDb } from '../db/typeorm-db.js';
import { GitStore } from '../git/store/git-store.js';
import { createJobEngine } from '../jobs/index.js';
import { waitForJob } from '../jobs/cli.js';
import { ContentStore } from '../lfs/content-store.js';
import { CommitService } from '../repos/commit-service.js';
import { createBlobStore } from '../storage/index.js';
import { createImport } from './index.js';

export const IMPORT_USAGE = `  packhub import scan DIR [--namespace NS] [--dry-run] [--wait]
                                                       make repositories of the models on disk under DIR (vendor/name
                                                       folders, Hugging Face cache folders); DIR must be inside
                                                       PACKHUB_IMPORT_ROOTS; the server runs the job; --dry-run
                                                       lists what would be imported; --wait follows the job
`;

export interface ImportCliDeps {
  config: Readonly<Config>;
  withDb<T>(fn: (db: OpenedDb) => Promise<T>): Promise<T>;
  usageError(message: string): Error;
}

/**
 * `packhub import scan ...`: queues the scan on the server's database (the server's job engine runs
 * it, with the server's PACKHUB_IMPORT_ROOTS); `--wait` (implied by `--dry-run`) prints its log as
 * it runs and exits non-zero unless it completes.
 */
export async function importCommand(sub: string | undefined, args: string[], deps: ImportCliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { namespace: { type: 'string' }, 'dry-run': { type: 'boolean' }, wait: { type: 'boolean' } } });
  if (sub !== 'scan' || positionals.length !== 1) throw deps.usageError(`usage:\n${IMPORT_USAGE}`);
  const { config } = deps;
  const dir = path.resolve(positionals[0]!);
  return deps.withDb(async (db) => {
    const blobs = await createBlobStore(config.storage);
    const log = createLogger('warn', process.stderr);
    const store = new GitStore(db, blobs, config.cacheDir, 64 << 20, log);
    const jobs = createJobEngine({ db, log, ...config.jobs });
    const imports = createImport({ config, db, store, content: new ContentStore(blobs), records: db.lfs, commits: new CommitService(store, path.join(config.cacheDir, 'tmp'), { maxObjectBytes: config.maxObjectBytes }), jobs, log });
    const job = await imports.enqueueScan({ dir, namespace: values.namespace ?? null, dryRun: !!values['dry-run'], userId: null });
    process.stdout.write(`import job ${job.id} (${values['dry-run'] ? 'dry run of ' : ''}${job.dir})\n`);
    if (!values.wait && !values['dry-run']) return 0;
    const ended = await waitForJob(db, job.id, { tty: !!process.stdout.isTTY, out: process.stdout });
    return ended.state === 'completed' ? 0 : 1;
  });
}
