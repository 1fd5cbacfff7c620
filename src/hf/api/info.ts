import type { Request, Response, Router } from 'express';
import { invalid, notFound } from '../../core/errors.js';
import type { RepoRecord } from '../../db/db.js';
import { can } from '../../auth/permissions.js';
import { principalOf } from '../../http/repo-route.js';
import { resolveRevision, shownCommit } from '../../repos/revisions.js';
import { repoInfoJson, checkExpand, infoFromSummary } from '../repo-json.js';
import { createListingService } from '../listing.js';
import type { ListingSort } from '../../db/db.js';
import type { Principal } from '../../auth/principal.js';
import { nameKey } from '../../core/names.js';
import { listParam, splitRevPath, truthy, type HfContext } from './context.js';
import { TYPE_OF_PLURAL, type RepoApi } from './repo-routes.js';

/**
 * Repo info (`GET /api/{t}/{R}`, `GET /api/{t}/{R}/revision/{rev}`) as model_info / dataset_info /
 * space_info read it; `auth-check[/write]`.
 */
export function infoRoutes(ctx: HfContext, api: RepoApi): void {
  api.route('get', '', 'read', (req, res, repo) => repoInfo(ctx, req, res, repo, 'HEAD'));
  api.route('get', 'revision', 'read', (req, res, repo, rest) => repoInfo(ctx, req, res, repo, splitRevPath(rest).rev));
  api.route(
    'get',
    'auth-check',
    (rest) => (rest[0] === 'write' ? 'write' : 'read'),
    async (req, res, repo) => {
      await ctx.assertContent(req, res, repo);
      res.json({ ok: true });
    },
  );
}

/** The repository's info at a revision (HEAD: the default branch; an empty repository has sha null). */
export async function repoInfo(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rev: string): Promise<void> {
  await ctx.deps.mirror?.refreshIfStale(repo, rev);
  const { deps } = ctx;
  const refs = await deps.store.refs(repo.id);
  const objects = await deps.store.objects(repo.id);
  const ids = (await deps.mirror?.commitIds?.(repo)) ?? null;
  let sha: string | null = null;
  if (refs.length > 0 || rev !== 'HEAD') sha = resolveRevision(refs, objects, rev, repo.defaultBranch, ids).oid;
  const expand = listParam(req, 'expand');
  checkExpand(repo.type, expand);
  const usedStorage = (await deps.db.repos.usedStorage([repo.id])).get(repo.id);
  const likes = (await deps.db.likes.counts([repo.id])).get(repo.id);
  const gated = await ctx.gated.mode(repo);
  const method = (await deps.mirror?.historyMethod?.(repo)) ?? null;
  const downloads = (await deps.downloads?.read([repo.id]))?.get(repo.id);
  const mirror = await deps.db.mirrors.get(repo.id);
  // A mirror: how its history came (method) and how it is fetched (history: git, rest or auto).
  const info = await repoInfoJson(repo, objects, sha, { blobs: truthy((req.query as Record<string, unknown>).blobs), expand, usedStorage, likes, gated, downloads, shownSha: sha && shownCommit(ids, sha), mirror: method && { method, history: mirror?.history ?? 'auto' } });
  // Imported from a Hugging Face cache snapshot: the upstream commit it was.
  if (mirror?.source === 'cache-import') info.importedFrom = { cacheSnapshot: mirror.upstreamRevision };
  res.json(info);
}

/**
 * `GET /api/models|datasets|spaces`: search, author, filter (tags, `license:X`, ...), pipeline_tag, library,
 * license, gated, sort (createdAt, id, lastModified, likes, downloads), direction, limit, cursor (`Link`
 * pagination), full. Visibility, narrowing, order and page are one query (src/hf/listing.ts); the page's
 * storage, likes, gating and downloads one query each.
 */
export function listingRoutes(ctx: HfContext, router: Router): void {
  const { deps } = ctx;
  const listing = createListingService({ db: deps.db, store: deps.store, log: deps.log });
  router.get('/api/:plural', async (req, res) => {
    res.locals.surface = 'hf';
    const type = TYPE_OF_PLURAL[String(req.params.plural)];
    if (!type) throw notFound('NotFound', `no route for ${req.path}`);
    const q = req.query as Record<string, string | undefined>;
    const filters = listParam(req, 'filter').slice(0, 20);
    // pipeline_tag=, library= and license= narrow like the tags the Hub derives for them.
    for (const [param, tag] of [['pipeline_tag', (v: string) => v], ['library', (v: string) => v], ['license', (v: string) => `license:${v}`]] as const) {
      for (const v of listParam(req, param).slice(0, 20)) filters.push(tag(v));
    }
    if (filters.some((f) => f.length > 200)) throw invalid('BadRequest', 'a filter value is longer than 200 characters');
    checkExpand(type, listParam(req, 'expand'));
    const sort = q.sort ?? 'createdAt';
    const limit = Math.min(Math.max(Number(q.limit) || 1000, 1), 1000);
    const offset = Math.max(Number(q.cursor) || 0, 0);
    // Counted downloads not yet written are written first, so that the database sorts by them too.
    if (sort === 'downloads') await deps.downloads?.flush();
    const principal = principalOf(res);
    const { items, more } = await listing.list({
      type,
      readable: readableNamespaces(principal),
      search: one(q.search).toLowerCase() || undefined,
      ...(one(q.author) ? { authorKey: nameKey(one(q.author)) } : {}),
      ...(q.gated !== undefined ? { gated: truthy(q.gated) } : {}),
      filters,
      sort: (SORTS as readonly string[]).includes(sort) ? (sort as ListingSort) : null,
      direction: q.direction === '1' ? 1 : -1,
      downloadsSince: deps.downloads?.recentSince() ?? 0,
      offset,
      limit,
    });
    // The query decided visibility; the one policy has the last word all the same.
    const repos = items.filter((x) => can(principal, x.repo, 'read'));
    const ids = repos.map((x) => x.repo.id);
    const usedStorage = await deps.db.repos.usedStorage(ids);
    const likes = await deps.db.likes.counts(ids);
    const gates = await deps.db.gated.modes(ids);
    const downloads = (await deps.downloads?.read(ids)) ?? new Map<string, { downloads: number; downloadsAllTime: number }>();
    const full = truthy(q.full);
    const out: Record<string, unknown>[] = [];
    for (const { repo, head } of repos) {
      const opts = { expand: [], usedStorage: usedStorage.get(repo.id), likes: likes.get(repo.id), gated: gates.get(repo.id) ?? false, downloads: downloads.get(repo.id) };
      const info = full ? await repoInfoJson(repo, await deps.store.objects(repo.id), head?.sha ?? null, { ...opts, blobs: false }) : infoFromSummary(repo, head, [], opts);
      if (!full) delete info.siblings;
      out.push(info);
    }
    if (more) ctx.linkNext(req, res, 'cursor', offset + limit);
    res.json(out);
  });
}

/** A query parameter's value given once ('' when absent or repeated). */
const one = (v: unknown): string => (typeof v === 'string' ? v : '');

const SORTS = ['createdAt', 'id', 'likes', 'downloads', 'lastModified'] as const;

/** The namespaces whose private repositories the caller may read (`can`: owner, organization member); null: all (site admin). */
function readableNamespaces(principal: Principal | null): string[] | null {
  if (!principal) return [];
  if (principal.user.isAdmin) return null;
  return [principal.user.name, ...principal.orgs.keys()];
}
