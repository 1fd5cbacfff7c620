import type { Router } from 'express';
import { notFound } from '../../core/errors.js';
import { can } from '../../auth/permissions.js';
import { principalOf } from '../../http/repo-route.js';
import { hfRepoId } from '../repo-json.js';
import { userProfiles } from './accounts.js';
import type { HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

/** Likers one page lists (`Link` pagination, `cursor`). */
const LIKERS_PAGE = 1000;

/** `POST|DELETE /api/{t}/{R}/like` (the caller's like) and `GET /api/{t}/{R}/likers`. */
export function likeRoutes(ctx: HfContext, api: RepoApi): void {
  const { deps } = ctx;
  api.route(
    'post',
    'like',
    'read',
    async (_req, res, repo) => {
      const p = ctx.community.participant(principalOf(res));
      await deps.db.likes.like(p.user.id, repo.id);
      res.json({ liked: true });
    },
    { exact: true },
  );
  api.route(
    'delete',
    'like',
    'read',
    async (_req, res, repo) => {
      const p = ctx.community.participant(principalOf(res));
      await deps.db.likes.unlike(p.user.id, repo.id);
      res.json({ liked: false });
    },
    { exact: true },
  );
  api.route(
    'get',
    'likers',
    'read',
    async (req, res, repo) => {
      const q = req.query as Record<string, unknown>;
      const limit = Math.min(Math.max(Number(q.limit) || LIKERS_PAGE, 1), LIKERS_PAGE);
      const offset = Math.max(Number(q.cursor) || 0, 0);
      const rows = await deps.db.likes.likers(repo.id, offset, limit + 1);
      if (rows.length > limit) ctx.linkNext(req, res, 'cursor', offset + limit);
      const page = rows.slice(0, limit);
      const profileOf = await userProfiles(ctx, req, page.map((r) => r.userName));
      res.json(page.map((r) => ({ user: r.userName, ...profileOf(r.userName), type: 'user' })));
    },
    { exact: true },
  );
}

/** `GET /api/users/{user}/likes`: the public repositories a user liked, newest first (likes of private ones never show). */
export function userLikesRoutes(ctx: HfContext, router: Router): void {
  const { deps } = ctx;
  router.get('/api/users/:user/likes', async (req, res) => {
    res.locals.surface = 'hf';
    const user = await deps.db.users.findByName(String(req.params.user));
    if (!user) throw notFound('UserNotFound', 'User not found');
    const out = [];
    for (const like of await deps.db.likes.ofUser(user.id)) {
      const repo = await deps.db.repos.findById(like.repoId);
      if (!repo || repo.private || !can(principalOf(res), repo, 'read')) continue;
      out.push({ createdAt: like.createdAt.toISOString(), repo: { name: hfRepoId(repo), type: repo.type } });
    }
    res.json(out);
  });
}
