import express, { type Router } from 'express';
import { accountRoutes } from './api/accounts.js';
import { collectionRoutes } from './api/collections.js';
import { commitRoutes } from './api/commit.js';
import { createHfContext, type HfContext, type HfDeps } from './api/context.js';
import { discussionRoutes } from './api/discussions.js';
import { accessRequestRoutes, askAccessRoutes } from './api/gated.js';
import { infoRoutes, listingRoutes } from './api/info.js';
import { likeRoutes, userLikesRoutes } from './api/likes.js';
import { lfsFilesRoutes } from './api/lfs-files.js';
import { refsRoutes } from './api/refs.js';
import { mountRepoApi } from './api/repo-routes.js';
import { repoLifecycleRoutes, repoSettingsRoutes } from './api/repos.js';
import { resolveLane, resolveRoutes } from './api/resolve.js';
import { treeRoutes } from './api/tree.js';
import { webhookRoutes } from './api/webhooks.js';

export type { HfDeps } from './api/context.js';

/**
 * The Hugging Face Hub-compatible API: one module per resource under ./api, each a thin adapter over
 * the services, all sharing one context (repository lookup and permission check, URLs, body parsing)
 * and one error style (AppErrors rendered for the `hf` surface by src/http/error-handler.ts).
 */
export function createHfRouter(deps: HfDeps): { files: Router; api: Router; lane: ReturnType<typeof resolveLane> } {
  const router = express.Router();
  const ctx = createHfContext(deps);
  router.use('/api', (_req, res, next) => {
    res.locals.surface = 'hf';
    next();
  });

  accountRoutes(ctx, router);
  repoLifecycleRoutes(ctx, router);
  collectionRoutes(ctx, router);
  listingRoutes(ctx, router);
  userLikesRoutes(ctx, router);
  webhookRoutes(ctx, router, deps.webhooks);
  // Per-repo routes: /api/{models|datasets|spaces}/:ns/:name/<op>...
  mountRepoApi(ctx, router, (api) => {
    infoRoutes(ctx, api);
    treeRoutes(ctx, api);
    commitRoutes(ctx, api);
    refsRoutes(ctx, api);
    repoSettingsRoutes(ctx, api);
    discussionRoutes(ctx, api);
    likeRoutes(ctx, api);
    accessRequestRoutes(ctx, api);
    lfsFilesRoutes(ctx, api);
  });
  askAccessRoutes(ctx, router);
  return { files: fileRouter(ctx), api: router, lane: resolveLane(ctx) };
}

/**
 * File downloads (`resolve`, `raw`): most of a hub's requests (the Python client asks for every file
 * of a snapshot one by one). Most never reach Express (the download lane, src/http/lane.ts, takes
 * them with `lane`); those it leaves are mounted ahead of every other router, where no other route's
 * pattern is tried first. Their patterns never name `/api/` or `/ui-api/` paths.
 */
function fileRouter(ctx: HfContext): Router {
  const files = express.Router();
  files.use((req, _res, next) => (req.path.startsWith('/api/') || req.path.startsWith('/ui-api/') ? next('router') : next()));
  resolveRoutes(ctx, files);
  return files;
}
