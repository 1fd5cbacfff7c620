import { parseArgs } from 'node:util';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { OpenedDb } from '../db/typeorm-db.js';
import type { MirrorHistory, RepoRecord, RepoType } from '../db/db.js';
import { MIRROR_HISTORIES } from '../db/mirror-db.js';
import { GitStore } from '../git/store/git-store.js';
import { createJobEngine } from '../jobs/index.js';
import { waitForJob } from '../jobs/cli.js';
import { ContentStore } from '../lfs/content-store.js';
import { createBlobStore } from '../storage/index.js';
import { createMirror } from './index.js';

export const MIRROR_USAGE = `  packhub mirror add REPO [--type T] [--revision R] [--include GLOB]... [--exclude GLOB]... [--prs]
                     [--history git|rest|auto] [--download] [--wait]
                                                       register REPO of the upstream hub (PACKHUB_UPSTREAM_URL) and
                                                       sync its history (--history: by git only, by the REST API as
                                                       synthetic commits, or auto: git, else REST; fixed once added);
                                                       --download also fetches its files
  packhub mirror sync REPO [--type T] [--download] [--wait]   fetch what changed upstream
  packhub mirror download REPO [--type T] [--revision R] [--include GLOB]... [--exclude GLOB]... [--wait]
                                                       fetch the large files of a revision (all, or those matching)
  packhub mirror list [--json]                         mirrors with their state
  packhub mirror detach REPO [--type T]                make a mirror an ordinary, writable repository
`;

export interface MirrorCliDeps {
  config: Readonly<Config>;
  withDb<T>(fn: (db: OpenedDb) => Promise<T>): Promise<T>;
  usageError(message: string): Error;
}

/**
 * `packhub mirror ...`: works on the server's database (the server's job engine runs what is queued
 * here); `--wait` follows the jobs and exits non-zero unless they complete.
 */
export async function mirrorCommand(sub: string | undefined, args: string[], deps: MirrorCliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      type: { type: 'string', default: 'model' },
      revision: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      prs: { type: 'boolean' },
      history: { type: 'string' },
      download: { type: 'boolean' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const type = values.type as RepoType;
  if (!['model', 'dataset', 'space'].includes(type)) throw deps.usageError('--type is model, dataset or space');
  const history = values.history as MirrorHistory | undefined;
  if (history !== undefined && !MIRROR_HISTORIES.includes(history)) throw deps.usageError('--history is git, rest or auto');
  const repoArg = () => {
    if (positionals.length !== 1) throw deps.usageError(`usage: packhub mirror ${sub} REPO [--type T] ...`);
    return positionals[0]!;
  };
  const { config } = deps;

  return deps.withDb(async (db) => {
    const blobs = await createBlobStore(config.storage);
    const log = createLogger('warn', process.stderr);
    const store = new GitStore(db, blobs, config.cacheDir, 64 << 20, log);
    const jobs = createJobEngine({ db, log, ...config.jobs });
    const { service } = createMirror({ config, db, store, content: new ContentStore(blobs), records: db.lfs, jobs, log });
    const find = async (id: string): Promise<RepoRecord> => {
      const [ns, name] = id.split('/');
      const repo = ns && name ? await db.repos.find(type, ns, name) : null;
      if (!repo || !(await db.mirrors.get(repo.id))) throw new AppError('not_found', 'MirrorNotFound', `${type} ${id} is not a mirror here`);
      return repo;
    };
    /** Follows a job; a sync that queued a download is followed into the download. */
    const follow = async (jobId: string, repo: RepoRecord): Promise<number> => {
      const tty = !!process.stderr.isTTY;
      let job = await waitForJob(db, jobId, { tty, out: process.stderr });
      if (job.state === 'completed' && job.kind === 'mirror.sync' && job.params.download === true) {
        const next = (await db.jobs.list({ kind: 'mirror.download', repoId: repo.id, limit: 5 })).find((j) => j.createdAt >= job.createdAt);
        if (next) job = await waitForJob(db, next.id, { tty, out: process.stderr });
      }
      process.stdout.write(`${job.id} ${job.kind} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
      return job.state === 'completed' ? 0 : 1;
    };

    if (sub === 'add') {
      const { repo, jobs: queued } = await service.register({
        type,
        id: repoArg(),
        revision: values.revision ?? null,
        include: values.include ?? [],
        exclude: values.exclude ?? [],
        includePrs: !!values.prs,
        history,
        download: !!values.download,
      });
      process.stdout.write(`registered ${type} ${repo.namespace}/${repo.name}; sync job ${queued[0]!.id}\n`);
      return values.wait ? follow(queued[0]!.id, repo) : 0;
    }
    if (sub === 'sync') {
      const repo = await find(repoArg());
      const job = await service.enqueueSync(repo, { download: !!values.download });
      process.stdout.write(`sync job ${job.id}\n`);
      return values.wait ? follow(job.id, repo) : 0;
    }
    if (sub === 'download') {
      const repo = await find(repoArg());
      const m = (await db.mirrors.get(repo.id))!;
      const job = await service.enqueueDownload(repo, { revision: values.revision ?? m.revision, include: values.include ?? m.include, exclude: values.exclude ?? m.exclude });
      process.stdout.write(`download job ${job.id}\n`);
      return values.wait ? follow(job.id, repo) : 0;
    }
    if (sub === 'list') {
      const rows = [];
      for (const m of await db.mirrors.list()) {
        const repo = await db.repos.findById(m.repoId);
        if (!repo) continue;
        const method = await service.historyMethod(repo);
        rows.push({ type: repo.type, id: `${repo.namespace}/${repo.name}`, source: m.source, state: m.state, history: m.history, historyMethod: method, refsFetchedAt: m.refsFetchedAt, lastError: m.lastError, failedFiles: Object.keys(m.failures).length });
      }
      if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      // history: as registered; an auto mirror also says how its history came, e.g. `auto (rest)`.
      else for (const r of rows) process.stdout.write(`${r.type}\t${r.id}\t${r.state}\t${r.source}\t${r.history === 'auto' ? `auto (${r.historyMethod})` : r.history}\t${r.refsFetchedAt?.toISOString() ?? 'never synced'}${r.lastError ? `\t${r.lastError}` : ''}\n`);
      return 0;
    }
    if (sub === 'detach') {
      const repo = await find(repoArg());
      await service.detach(repo);
      process.stdout.write(`${type} ${repo.namespace}/${repo.name} is an ordinary repository now\n`);
      return 0;
    }
    throw deps.usageError(`usage:\n${MIRROR_USAGE}`);
  });
}
