import type { Request, Response, Router } from 'express';
import { invalid } from '../../core/errors.js';
import type { AccessRequestListItem } from '../../db/db.js';
import { can } from '../../auth/permissions.js';
import { isAccessStatus } from '../../community/gated.js';
import { principalOf } from '../../http/repo-route.js';
import { typePrefix } from '../repo-json.js';
import { userProfiles } from './accounts.js';
import { authRequired, forbiddenHf, type HfContext } from './context.js';
import { REPO_PREFIXES, type RepoApi } from './repo-routes.js';
import type { RepoRecord } from '../../db/db.js';

/** Access requests one page lists (`Link` pagination, `cursor`). */
const REQUESTS_PAGE = 1000;

/** A 24-hex id for a user, as the Hub's Mongo ObjectIds. */
const userObjectId = (id: number) => id.toString(16).padStart(24, '0');

/** A list item as huggingface_hub's `_list_access_requests` reads it; the email only when the user asked (not when granted). */
function requestJson(r: AccessRequestListItem, profile: { fullname: string; avatarUrl: string }) {
  return {
    user: {
      _id: userObjectId(r.userId),
      user: r.userName,
      fullname: profile.fullname,
      avatarUrl: profile.avatarUrl,
      type: 'user',
      ...(!r.granted && r.email ? { email: r.email } : {}),
    },
    status: r.status,
    timestamp: r.createdAt.toISOString(),
    ...(r.rejectionReason ? { rejectionReason: r.rejectionReason } : {}),
    fields: {},
  };
}

/**
 * Access requests of gated repositories, managed by the repository's writers (as on the Hub):
 * `GET /api/{t}/{R}/user-access-request/{pending|accepted|rejected}`, `POST …/user-access-request/handle`
 * (`{user, status, rejectionReason?}`) and `POST …/user-access-request/grant` (`{user}`).
 */
export function accessRequestRoutes(ctx: HfContext, api: RepoApi): void {
  /** The Hub's answer to a reader who may not manage requests; the body is parsed only after this. */
  const assertManager = (res: Response, repo: RepoRecord) => {
    const p = principalOf(res);
    if (can(p, repo, 'write')) return;
    if (!p) throw authRequired();
    throw forbiddenHf('You have read access but not the required permissions for this operation');
  };
  const userOf = (req: Request) => {
    const user = (req.body as Record<string, unknown> | undefined)?.user;
    if (typeof user !== 'string' || !user) throw invalid('BadRequest', 'user is required');
    return user;
  };

  api.route(
    'post',
    'user-access-request/handle',
    'read',
    async (req, res, repo) => {
      assertManager(res, repo);
      await ctx.parseBody(req, res);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (!isAccessStatus(body.status)) throw invalid('BadRequest', 'status must be one of pending, accepted, rejected');
      const reason = typeof body.rejectionReason === 'string' ? body.rejectionReason.slice(0, 1024) : null;
      await ctx.gated.handle(repo, userOf(req), body.status, reason);
      res.json({});
    },
    { exact: true },
  );
  api.route(
    'post',
    'user-access-request/grant',
    'read',
    async (req, res, repo) => {
      assertManager(res, repo);
      await ctx.parseBody(req, res);
      await ctx.gated.grant(repo, userOf(req));
      res.json({});
    },
    { exact: true },
  );
  api.route(
    'get',
    'user-access-request/:status',
    'read',
    async (req, res, repo) => {
      assertManager(res, repo);
      const status = String(req.params.status);
      if (!isAccessStatus(status)) throw invalid('BadRequest', 'status must be one of pending, accepted, rejected');
      const q = req.query as Record<string, unknown>;
      const limit = Math.min(Math.max(Number(q.limit) || REQUESTS_PAGE, 1), REQUESTS_PAGE);
      const offset = Math.max(Number(q.cursor) || 0, 0);
      const rows = await ctx.gated.list(repo, status, offset, limit + 1);
      if (rows.length > limit) ctx.linkNext(req, res, 'cursor', offset + limit);
      const page = rows.slice(0, limit);
      const profileOf = await userProfiles(ctx, req, page.map((r) => r.userName));
      res.json(page.map((r) => requestJson(r, profileOf(r.userName))));
    },
    { exact: true },
  );
}

/**
 * `POST /{prefix}{R}/ask-access`: the signed-in caller asks for access to a gated repository (the
 * Hub's web route; 'auto' accepts at once, 'manual' leaves the request pending). Answered with 303
 * to the repository's page, as on the Hub; `Accept: application/json` gets `{status}` instead.
 */
export function askAccessRoutes(ctx: HfContext, router: Router): void {
  for (const { prefix, type } of REPO_PREFIXES) {
    router.post(`${prefix}/:ns/:name/ask-access`, async (req, res) => {
      res.locals.surface = 'hf';
      const repo = await ctx.loadRepo(res, type, String(req.params.ns), String(req.params.name), 'read');
      const p = principalOf(res);
      if (!p) throw authRequired('You must be signed in to ask for access');
      const status = await ctx.gated.request(p, repo);
      if (req.accepts(['html', 'json']) === 'json') {
        res.json({ status });
        return;
      }
      res.redirect(303, `/${typePrefix(repo)}${repo.namespace}/${repo.name}`);
    });
  }
}
