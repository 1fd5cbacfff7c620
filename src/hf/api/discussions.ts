import type { Request, Response } from 'express';
import { invalid } from '../../core/errors.js';
import type { RepoRecord } from '../../db/db.js';
import { eventComment } from '../../community/events.js';
import { eventJson, summaryJson } from '../../community/json.js';
import type { ThreadEvent } from '../../community/service.js';
import { principalOf } from '../../http/repo-route.js';
import { truthy, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

const ONE_OF = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid('BadRequest', `"${name}" must be one of [${allowed.join(', ')}]`);
};

/**
 * Discussions and pull requests, as the Hub's clients call them (`community.py`):
 * `GET|POST /api/{t}/{R}/discussions`, `GET …/discussions/{num}[?diff=1]`, and the actions
 * `POST …/discussions/{num}/comment|title|status|merge`, `…/comment/{id}/edit|hide`.
 */
export function discussionRoutes(ctx: HfContext, api: RepoApi): void {
  const { community } = ctx;
  const num = (req: Request) => (/^[1-9]\d{0,9}$/.test(String(req.params.num)) ? Number(req.params.num) : 0);
  const body = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
  /** Tells the event bus (webhooks) after a write; never fails the write. */
  const emit = (req: Request, repo: RepoRecord, scope: 'discussion' | 'discussion.comment', action: 'create' | 'update', n: number, comment?: ThreadEvent, authorId?: number) =>
    ctx.deps.events?.emit({ domain: 'discussion', scope, action, repo, num: n, ...(comment ? { comment: eventComment(comment, authorId ?? null) } : {}), origin: ctx.base(req) });

  api.route(
    'get',
    'discussions',
    'read',
    async (req, res, repo) => {
      const q = req.query as Record<string, unknown>;
      const page = Number(q.p ?? 0);
      if (!Number.isSafeInteger(page) || page < 0) throw invalid('BadRequest', '"p" must be a page number (0, 1, ...)');
      const list = await community.list(repo, {
        type: ONE_OF('type', q.type, ['all', 'discussion', 'pull_request'] as const, 'all'),
        status: ONE_OF('status', q.status, ['all', 'open', 'closed'] as const, 'all'),
        ...(typeof q.author === 'string' && q.author ? { author: q.author } : {}),
        page,
      });
      res.json({ discussions: list.items.map((d) => summaryJson(repo, d)), count: list.count, start: list.start });
    },
    { exact: true },
  );

  /** Writes need a signed-in participant; the body is parsed only then (nothing is parsed for strangers). */
  const participantBody = async (req: Request, res: Response) => {
    community.participant(principalOf(res));
    await ctx.parseBody(req, res);
  };

  api.route(
    'post',
    'discussions',
    'read',
    async (req, res, repo) => {
      await participantBody(req, res);
      const b = body(req);
      if (truthy(b.pullRequest)) await ctx.assertNotMirror(repo);
      const d = await community.create(repo, principalOf(res), { title: b.title, description: b.description, pullRequest: truthy(b.pullRequest) });
      emit(req, repo, 'discussion', 'create', d.num);
      res.json({ ...summaryJson(repo, d), url: `${ctx.repoUrl(req, repo)}/discussions/${d.num}` });
    },
    { exact: true },
  );

  api.route('get', 'discussions/:num', 'read', (req, res, repo) => details(ctx, req, res, repo, num(req)), { exact: true });

  const action = (sub: string, run: (req: Request, res: Response, repo: RepoRecord) => Promise<unknown>) =>
    api.route(
      'post',
      `discussions/:num/${sub}`,
      'read',
      async (req, res, repo) => {
        await participantBody(req, res);
        res.json(await run(req, res, repo));
      },
      { exact: true },
    );

  const userId = (res: Response) => principalOf(res)!.user.id;
  action('comment', async (req, res, repo) => {
    const e = await community.comment(repo, principalOf(res), num(req), body(req).comment);
    emit(req, repo, 'discussion.comment', 'create', num(req), e, userId(res));
    return { newMessage: eventJson(e) };
  });
  action('title', async (req, res, repo) => {
    const e = await community.rename(repo, principalOf(res), num(req), body(req).title);
    emit(req, repo, 'discussion', 'update', num(req));
    return { newTitle: eventJson(e) };
  });
  action('status', async (req, res, repo) => {
    const e = await community.setStatus(repo, principalOf(res), num(req), body(req).status, body(req).comment);
    emit(req, repo, 'discussion', 'update', num(req));
    return { newStatus: eventJson(e) };
  });
  action('merge', async (req, res, repo) => {
    await ctx.assertNotMirror(repo);
    const d = await community.merge(repo, principalOf(res), num(req), body(req).comment);
    emit(req, repo, 'discussion', 'update', d.num);
    return summaryJson(repo, d);
  });
  action('comment/:id/edit', async (req, res, repo) => {
    const e = await community.editComment(repo, principalOf(res), num(req), String(req.params.id), body(req).content);
    emit(req, repo, 'discussion.comment', 'update', num(req), e);
    return { updatedComment: eventJson(e) };
  });
  action('comment/:id/hide', async (req, res, repo) => {
    const e = await community.hideComment(repo, principalOf(res), num(req), String(req.params.id));
    emit(req, repo, 'discussion.comment', 'update', num(req), e);
    return { updatedComment: eventJson(e) };
  });
}

/** A discussion with its events; a pull request also with its base, merge commit, conflicting files and (diff=1) diff. */
async function details(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, num: number): Promise<void> {
  const { community } = ctx;
  const d = await community.get(repo, num);
  const events = (await community.thread(repo, d)).map(eventJson);
  const out: Record<string, unknown> = { ...summaryJson(repo, d), events };
  if (d.isPullRequest) {
    const state = await community.pullRequestState(repo, d);
    out.changes = { base: state.base, ...(state.mergeCommitId ? { mergeCommitId: state.mergeCommitId } : {}) };
    out.filesWithConflicts = state.filesWithConflicts;
    // The diff shows file content: on a gated repository only to callers with access (the thread itself stays public).
    if (truthy((req.query as Record<string, unknown>).diff) && (await ctx.canReadContent(res, repo))) out.diff = await community.diff(repo, d);
  }
  res.json(out);
}
