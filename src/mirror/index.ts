import path from 'node:path';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import type { PushCheck } from '../git/receive-pack.js';
import type { GitStore } from '../git/store/git-store.js';
import type { MirrorHooks } from '../hf/api/context.js';
import type { JobEngine } from '../jobs/engine.js';
import type { ContentStore } from '../lfs/content-store.js';
import type { LfsRecords } from '../lfs/records.js';
import { CommitService } from '../repos/commit-service.js';
import { syncGitFromUpstream } from './git-sync.js';
import { syncRestFromUpstream } from './rest-sync.js';
import { LfsFills } from './lfs-fill.js';
import { MirrorService } from './service.js';
import { Upstream } from './upstream.js';

export { MirrorService } from './service.js';

export interface MirrorDeps {
  config: Readonly<Config>;
  db: Db;
  store: GitStore;
  content: ContentStore;
  records: LfsRecords;
  jobs: JobEngine;
  log: Logger;
  registry?: Registry;
}

/**
 * The mirror of the configured upstream hub, assembled: its HTTP client, the LFS fills (part files
 * under the cache dir, outside its temp dir, so a restart resumes them), the git sync, and the
 * service with its job kinds registered on the engine.
 */
export function createMirror(deps: MirrorDeps): { service: MirrorService; hooks: MirrorHooks; pushCheck: PushCheck } {
  const { config, log } = deps;
  const up = config.upstream;
  const requests = deps.registry
    ? new Counter({ name: 'packhub_upstream_requests_total', help: 'Requests to the upstream hub by outcome (HTTP status, or network)', labelNames: ['outcome'] as const, registers: [deps.registry] })
    : null;
  const upstream = up ? new Upstream(up.url, up.token, log.child({ module: 'upstream' }), { observe: (outcome) => requests?.inc({ outcome }) }) : null;
  const fills = upstream ? new LfsFills({ content: deps.content, records: deps.records, upstream, partsDir: path.join(config.cacheDir, 'mirror-parts'), log: log.child({ module: 'lfs-fill' }) }) : null;
  const service = new MirrorService({
    db: deps.db,
    store: deps.store,
    records: deps.records,
    upstream,
    config: up,
    fills,
    jobs: deps.jobs,
    log: log.child({ module: 'mirror' }),
    restSync: upstream
      ? (o) => syncRestFromUpstream({ ...o, store: deps.store, db: deps.db, upstream, commits: new CommitService(deps.store, path.join(config.cacheDir, 'tmp'), { maxObjectBytes: config.maxObjectBytes }), limits: { maxFileBytes: config.maxObjectBytes } })
      : null,
    gitSync: async (o) => syncGitFromUpstream({ ...o, username: o.token && upstream ? await upstream.whoami() : null, store: deps.store, db: deps.db, tmpDir: path.join(config.cacheDir, 'tmp'), limits: { maxObjectBytes: config.maxObjectBytes, maxPackBytes: config.mirrorMaxPackBytes } }),
  });
  const hooks: MirrorHooks = {
    pullThrough: (type, ns, name) => service.pullThrough(type, ns, name),
    refreshIfStale: (repo, rev) => service.refreshIfStale(repo, rev),
    readOnlyReason: (repo) => service.readOnlyReason(repo),
    remoteObject: (repo, commit, p, pointer) => service.remoteObject(repo, commit, p, pointer),
    commitIds: (repo) => service.commitIds(repo),
    historyMethod: (repo) => service.historyMethod(repo),
  };
  // Pushes to a mirror are refused, every ref, with the reason.
  const pushCheck: PushCheck = () => ({
    async check(ctx) {
      const repo = await deps.db.repos.findById(ctx.repoId);
      const reason = repo ? await service.readOnlyReason(repo) : null;
      return new Map(reason ? ctx.commands.map((c) => [c.ref, reason] as const) : []);
    },
  });
  return { service, hooks, pushCheck };
}
