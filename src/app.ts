import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Request, type Response } from 'express';
import type { Config } from './core/config.js';
import { AppError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { Db, RepoRecord } from './db/db.js';
import { GatedService } from './community/gated.js';
import { baseUrl, principalOf } from './http/repo-route.js';
import type { BlobStore } from './storage/blob-store.js';
import { createAuthenticate } from './auth/passport.js';
import { createUiApi } from './auth/ui-api.js';
import { createAdminApi } from './auth/admin-api.js';
import { createJobsAdminApi } from './jobs/admin-api.js';
import { createMirror, type MirrorService } from './mirror/index.js';
import { createMirrorAdminApi } from './mirror/admin-api.js';
import { createImport } from './import/index.js';
import { createImportAdminApi } from './import/admin-api.js';
import { createOverviewApi } from './admin/overview.js';
import { createJobEngine } from './jobs/index.js';
import type { JobEngine } from './jobs/engine.js';
import { createGitRouter } from './git/http.js';
import type { PushCheck } from './git/receive-pack.js';
import { Compactor } from './git/store/compactor.js';
import { GitStore } from './git/store/git-store.js';
import { bodyIdleTimeout } from './http/body-timeout.js';
import { errorHandler } from './http/error-handler.js';
import { logRequest } from './http/request-log.js';
import { createLane } from './http/lane.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { createRepoService } from './repos/repo-service.js';
import { ContentStore } from './lfs/content-store.js';
import { createLfsRouter } from './lfs/http.js';
import { createPossession, verifyUploaded } from './lfs/possession.js';
import { createHfRouter } from './hf/http.js';
import { CommitService } from './repos/commit-service.js';
import { createQuotaService } from './repos/quota-service.js';
import { createLfsPushCheck } from './lfs/push-check.js';
import { createReadmePushCheck } from './repos/readme-metadata.js';
import { serveUi } from './ui-serve.js';
import { EventBus } from './community/events.js';
import { WEBHOOK_JOB, WebhookService } from './community/webhooks.js';
import type { LfsRecords } from './lfs/records.js';
import { DownloadCounter } from './repos/downloads.js';
import { createListingService } from './hf/listing.js';

export interface AppDeps {
  config: Readonly<Config>;
  db: Db;
  blobs: BlobStore;
  lfs: LfsRecords;
  /** Signs self-authorising transfer URLs; shared by every replica. */
  secret: string;
  log: Logger;
}

export interface App {
  app: Express;
  /** The server's request listener: the download lane (src/http/lane.ts), else the application. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  store: GitStore;
  compactor: Compactor;
  metrics: Metrics;
  /** The job engine (handlers registered, not started: the server starts and closes it). */
  jobs: JobEngine;
  mirrors: MirrorService;
  /** Download counts: the server writes what is pending when it closes. */
  downloads: DownloadCounter;
  /** Where the server listens, for links in webhook payloads when PACKHUB_PUBLIC_URL is not set (the server tells it). */
  setListeningOrigin(origin: string): void;
}

/**
 * What a stranger may reach when anonymous reads are off: the web UI's page shell (the same page for
 * every path, holding no data) and its assets, and the routes that sign in or register. No content
 * route (API, resolve/raw, git, LFS) is among them.
 */
function isSignInPath(req: express.Request): boolean {
  const p = req.path;
  if (p.startsWith('/assets/')) return true;
  if (['/ui-api/login', '/ui-api/registration', '/ui-api/register', '/ui-api/me'].includes(p)) return true;
  const page = (req.method === 'GET' || req.method === 'HEAD') && req.accepts(['json', 'html']) === 'html';
  return page && !p.startsWith('/api/') && !p.startsWith('/ui-api/') && !/\/(resolve|raw)\/|\.git(\/|$)|\/info\/(refs|lfs)|\/git-(upload|receive)-pack$/.test(p);
}

/** The one place the HTTP application is assembled, in this order: request id, log, auth, routes, errors. */
export function createApp(deps: AppDeps): App {
  const { config, db, blobs, lfs, log } = deps;
  const store = new GitStore(db, blobs, config.cacheDir, config.cacheMaxBytes, log.child({ module: 'git-store' }));
  const compactor = new Compactor(store, db, blobs, { ...config.compaction, unreachableGraceMs: config.gc.graceMs, tmpDir: path.join(config.cacheDir, 'tmp') }, log.child({ module: 'compactor' }));
  store.onNewPack = (repoId) => compactor.schedule(repoId);
  const repos = createRepoService(db);
  const content = new ContentStore(blobs, config.accelRedirectPrefix);
  const possession = createPossession({ records: lfs, content, findRepo: (id) => db.repos.findById(id) });
  const quotas = createQuotaService(db, config.quotas);
  const pushChecks: PushCheck[] = [createLfsPushCheck(lfs), createReadmePushCheck()];

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    logRequest(log, req, res);
    next();
  });

  const metrics = createMetrics();
  const jobs = createJobEngine({ db, log: log.child({ module: 'jobs' }), registry: metrics.registry, ...config.jobs });
  const mirror = createMirror({ config, db, store, content, records: lfs, jobs, log, registry: metrics.registry });
  pushChecks.push(mirror.pushCheck);
  // Writes tell the event bus once committed; webhooks turn events into delivery jobs.
  const events = new EventBus(log.child({ module: 'events' }));
  let listeningOrigin = `http://${config.host}:${config.port}`;
  const webhooks = new WebhookService({ db, jobs, settings: config.webhooks, origin: () => config.publicUrl ?? listeningOrigin, log: log.child({ module: 'webhooks' }) });
  const webhookKind = webhooks.jobKind();
  jobs.register(WEBHOOK_JOB, webhookKind.handler, webhookKind.options);
  events.subscribe((e) => webhooks.onEvent(e));
  // Listings show the new head at once (a listing would also rebuild the summary on its own).
  const listing = createListingService({ db, store, log: log.child({ module: 'listing' }) });
  store.onRefsUpdated = (repoId, updates) => {
    events.emit({ domain: 'repo', scope: 'repo.content', action: 'update', repoId, updatedRefs: updates.map((u) => ({ ref: u.name, oldSha: u.oldOid, newSha: u.newOid })) });
    void listing.refresh(repoId);
  };
  void listing.warm();
  app.use(bodyIdleTimeout(config.bodyIdleTimeoutMs));
  app.use(metrics.middleware);
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await Promise.all([db.ping(), blobs.ping()]);
      res.json({ status: 'ready' });
    } catch (err) {
      log.warn({ err }, 'not ready');
      res.status(503).json({ status: 'unavailable' });
    }
  });

  // Which clients' error format applies, decided before anything can fail (authentication included).
  app.use((req, res, next) => {
    const p = req.path;
    res.locals.surface = p.startsWith('/api/') || /\/(resolve|raw)\//.test(p) ? 'hf' : p.includes('/info/lfs/') || p.startsWith('/lfs/') ? 'lfs' : /\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(p) ? 'git' : 'ui';
    next();
  });
  app.use(createAuthenticate(db, deps.secret));
  if (!config.allowAnonymousRead) {
    // Transfer URLs carry their own grant; everything else needs credentials.
    app.use((req, res, next) => {
      if (res.locals.principal || req.path.startsWith('/lfs/') || isSignInPath(req)) return next();
      res.locals.surface = req.path.includes('/info/lfs/') ? 'lfs' : 'git';
      next(new AppError('unauthenticated', 'Unauthenticated', 'Authentication required'));
    });
  }
  const downloads = new DownloadCounter(db.downloads, log.child({ module: 'downloads' }));
  const commits = new CommitService(store, path.join(config.cacheDir, 'tmp'), { maxObjectBytes: config.maxObjectBytes });
  const hf = createHfRouter({
    db,
    repos,
    store,
    commits,
    content,
    lfs,
    publicUrl: config.publicUrl,
    lfsThreshold: config.lfsThreshold,
    quotas,
    commitLimits: config.hfCommit,
    log: log.child({ module: 'hf' }),
    verifyUploaded: (repo, principal, oid, size) => verifyUploaded(possession, repo, principal, oid, size),
    mirror: mirror.service.enabled ? mirror.hooks : null,
    events,
    webhooks,
    downloads,
  });
  // File downloads first: the most frequent requests, matched before any other router's routes.
  app.use(hf.files);
  app.use(createUiApi({ db, secret: deps.secret, registration: config.registration }));
  app.use(createAdminApi({ db }));
  app.use(createJobsAdminApi({ jobs }));
  app.use(createMirrorAdminApi({ db, mirrors: mirror.service }));
  app.use(createOverviewApi({ config, db, jobs }));
  // Gated repositories: git fetches and LFS downloads need access to the content (the HF routes ask the same service).
  const gated = new GatedService(db);
  const contentGate = (req: Request, res: Response, repo: RepoRecord) =>
    gated.assertContent(principalOf(res), repo, `${baseUrl(req, config.publicUrl)}/${repo.type === 'model' ? '' : `${repo.type}s/`}${repo.namespace}/${repo.name}`);
  app.use(createImportAdminApi({ imports: createImport({ config, db, store, content, records: lfs, commits, jobs, log }) }));
  app.use(hf.api);
  app.use(createLfsRouter({ repos, records: lfs, content, secret: deps.secret, publicUrl: config.publicUrl, proxyUploadBytes: config.lfsProxyUploadBytes, quotas, possession, contentGate, log: log.child({ module: 'lfs' }) }));
  app.use(
    createGitRouter({
      repos,
      store,
      tmpDir: path.join(config.cacheDir, 'tmp'),
      maxPushBytes: config.maxPushBytes,
      maxObjectBytes: config.maxObjectBytes,
      pushChecks,
      quotas,
      metrics,
      contentGate,
      log: log.child({ module: 'git' }),
    }),
  );

  // The web UI (built by `npm run build`): index at /, hashed assets under /assets.
  // Sent with its Content-Security-Policy and the other security headers (src/ui-serve.ts).
  serveUi(app, config, fileURLToPath(new URL('../ui/dist', import.meta.url)));

  app.use((req, _res, next) => next(new AppError('not_found', 'NotFound', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  const lane = createLane({ db, log, metrics, idleMs: config.bodyIdleTimeoutMs, anonymousRead: config.allowAnonymousRead, surface: 'hf', route: hf.lane });
  return {
    app,
    handle: (req, res) => {
      if (!lane(req, res)) app(req, res);
    },
    store,
    compactor,
    metrics,
    jobs,
    mirrors: mirror.service,
    downloads,
    setListeningOrigin: (origin) => {
      listeningOrigin = origin;
    },
  };
}
