import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../core/config.js';
import type { Principal } from '../auth/principal.js';
import type { Db, RepoType } from '../db/db.js';
import type { JobEngine } from '../jobs/engine.js';

/** How many recent jobs, failures and updated repositories the overview lists. */
const RECENT = 10;

/** The upstream hub as an operator may see it: never the token, only whether one is set; no userinfo in the URL. */
export function upstreamStatus(config: Readonly<Config>) {
  const u = config.upstream;
  if (!u) return null;
  let url = u.url;
  try {
    const parsed = new URL(u.url);
    parsed.username = '';
    parsed.password = '';
    url = parsed.toString().replace(/\/+$/, '');
  } catch {
    /* the config checked it is a URL */
  }
  return { url, tokenSet: !!u.token, pullThrough: u.proxy, allow: u.allow, deny: u.deny, ttlMs: u.ttlMs, resyncMs: u.resyncMs, concurrency: u.concurrency };
}

/**
 * The operator's dashboard data: GET /api/admin/overview (what the hub holds and does) and
 * GET /api/admin/settings (how it is configured, without secrets). For anyone but an administrator
 * the routes are absent: the request goes on and gets the same 404 as any missing route.
 */
export function createOverviewApi(deps: { config: Readonly<Config>; db: Db; jobs: JobEngine }): Router {
  const { config, db, jobs } = deps;
  const router = express.Router();
  router.use(['/api/admin/overview', '/api/admin/settings'], (_req: Request, res: Response, next: NextFunction) => {
    const p = res.locals.principal as Principal | null | undefined;
    if (!p?.user.isAdmin) return next('router');
    res.locals.surface = 'hf';
    next();
  });

  /** Bytes stored in total and per namespace, packs apart from LFS objects: a fixed number of queries, whatever the number of repositories. */
  async function storage() {
    const repos = await db.repos.list();
    const [used, live, usage] = await Promise.all([db.repos.usedStorage(), db.packs.liveTotals(), db.quotas.usageByNamespace()]);
    const byNamespace = new Map<string, { namespace: string; repos: number; packBytes: number; lfsBytes: number; totalBytes: number; privateBytes: number; publicBytes: number }>();
    /** When each repository last changed: its newest pack (every push and commit adds one), else its row. */
    const changedAt = new Map<string, Date>();
    let packBytes = 0;
    let totalBytes = 0;
    for (const r of repos) {
      const packs = live.get(r.id)?.bytes ?? 0;
      const newest = live.get(r.id)?.newestAt;
      changedAt.set(r.id, newest && newest > r.updatedAt ? newest : r.updatedAt);
      const total = used.get(r.id) ?? 0;
      packBytes += packs;
      totalBytes += total;
      const ns = byNamespace.get(r.namespace) ?? { namespace: r.namespace, repos: 0, packBytes: 0, lfsBytes: 0, totalBytes: 0, privateBytes: 0, publicBytes: 0 };
      ns.repos++;
      ns.packBytes += packs;
      ns.lfsBytes += Math.max(0, total - packs);
      ns.totalBytes += total;
      byNamespace.set(r.namespace, ns);
    }
    for (const ns of byNamespace.values()) Object.assign(ns, usage.get(ns.namespace) ?? { privateBytes: 0, publicBytes: 0 });
    const namespaces = [...byNamespace.values()].sort((a, b) => b.totalBytes - a.totalBytes || a.namespace.localeCompare(b.namespace));
    return { repos, changedAt, storage: { packBytes, lfsBytes: Math.max(0, totalBytes - packBytes), totalBytes, namespaces } };
  }

  router.get('/api/admin/overview', async (_req, res) => {
    const { repos, changedAt, storage: stored } = await storage();
    const counts: Record<RepoType, number> = { model: 0, dataset: 0, space: 0 };
    for (const r of repos) counts[r.type]++;
    const mirrorStates: Record<string, number> = { new: 0, syncing: 0, synced: 0, failed: 0 };
    const mirrors = await db.mirrors.list();
    for (const m of mirrors) mirrorStates[m.state] = (mirrorStates[m.state] ?? 0) + 1;
    const [running, queued, failed, recent, gcDone, gcRunning, gcQueued] = await Promise.all([
      jobs.list({ state: 'running', limit: 100 }),
      jobs.list({ state: 'queued', limit: 100 }),
      jobs.list({ state: 'failed', limit: RECENT }),
      jobs.list({ limit: RECENT }),
      jobs.list({ kind: 'storage.gc', state: 'completed', limit: 1 }),
      jobs.list({ kind: 'storage.gc', state: 'running', limit: 1 }),
      jobs.list({ kind: 'storage.gc', state: 'queued', limit: 1 }),
    ]);
    // The last garbage collection's report (a job's result): what it reclaimed, what waits for its grace period.
    const lastGc = gcDone[0];
    const at = (id: string) => changedAt.get(id)!.getTime();
    const updated = [...repos]
      .sort((a, b) => at(b.id) - at(a.id))
      .slice(0, RECENT)
      .map((r) => ({ id: `${r.namespace}/${r.name}`, type: r.type, private: r.private, updatedAt: changedAt.get(r.id)!.toISOString(), mirror: mirrors.some((m) => m.repoId === r.id) }));
    res.json({
      repos: { models: counts.model, datasets: counts.dataset, spaces: counts.space },
      storage: stored,
      mirrors: { total: mirrors.length, byState: mirrorStates },
      jobs: { running: running.length, queued: queued.length, active: [...running, ...queued], failed },
      recent: { jobs: recent, repos: updated },
      upstream: upstreamStatus(config),
      gc: {
        intervalMs: config.gc.intervalMs,
        graceMs: config.gc.graceMs,
        active: gcRunning[0] ?? gcQueued[0] ?? null,
        last: lastGc ? { id: lastGc.id, finishedAt: lastGc.finishedAt!.toISOString(), ...(lastGc.result ?? {}) } : null,
      },
    });
  });

  router.get('/api/admin/settings', async (_req, res) => {
    const { storage: stored } = await storage();
    res.json({
      storage: {
        backend: config.storage.kind,
        ...(config.storage.kind === 's3' ? { bucket: config.storage.s3.bucket, endpoint: config.storage.s3.endpoint ?? null, prefix: config.storage.s3.prefix } : {}),
        usedBytes: stored.totalBytes,
        packBytes: stored.packBytes,
        lfsBytes: stored.lfsBytes,
      },
      database: config.database.kind,
      upstream: upstreamStatus(config),
      registration: config.registration,
      anonymousRead: config.allowAnonymousRead,
      quotas: { privateBytes: config.quotas.privateBytes, publicBytes: config.quotas.publicBytes },
      limits: { lfsThresholdBytes: config.lfsThreshold, maxPushBytes: config.maxPushBytes, maxObjectBytes: config.maxObjectBytes },
      jobs: config.jobs,
    });
  });
  return router;
}
