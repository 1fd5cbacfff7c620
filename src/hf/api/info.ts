import type { Request, Response, Router } from 'express';
import { invalid, notFound } from '../../core/errors.js';
import type { RepoRecord } from '../../db/db.js';
import { can } from '../../auth/permissions.js';
import { principalOf } from '../../http/repo-route.js';
import { resolveRevision, shownCommit } from '../../repos/revisions.js';
import { hfRepoId, iso, repoInfoJson, checkExpand, filterTags } from '../repo-json.js';
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
 * license, sort (createdAt, id, lastModified, likes, downloads), direction, limit, cursor (`Link` pagination), full.
 */
export function listingRoutes(ctx: HfContext, router: Router): void {
  const { deps } = ctx;
  router.get('/api/:plural', async (req, res) => {
    res.locals.surface = 'hf';
    const type = TYPE_OF_PLURAL[String(req.params.plural)];
    if (!type) throw notFound('NotFound', `no route for ${req.path}`);
    const q = req.query as Record<string, string | undefined>;
    const principal = principalOf(res);
    const search = (q.search ?? '').toLowerCase();
    const authorFilter = q.author;
    const filters = listParam(req, 'filter').slice(0, 20);
    // pipeline_tag=, library= and license= narrow like the tags the Hub derives for them.
    for (const [param, tag] of [['pipeline_tag', (v: string) => v], ['library', (v: string) => v], ['license', (v: string) => `license:${v}`]] as const) {
      for (const v of listParam(req, param).slice(0, 20)) filters.push(tag(v));
    }
    if (filters.some((f) => f.length > 200)) throw invalid('BadRequest', 'a filter value is longer than 200 characters');
    checkExpand(type, listParam(req, 'expand'));
    let repos = (await deps.db.repos.list({ type, ...(authorFilter ? { namespace: authorFilter } : {}) })).filter((r) => can(principal, r, 'read'));
    if (search) repos = repos.filter((r) => hfRepoId(r).toLowerCase().includes(search));
    const gatedFilter = q.gated;
    const gates = await ctx.gated.modes(repos);
    // list_models(gated=True): 'auto' and 'manual' only; gated=False: ungated only.
    if (gatedFilter !== undefined) repos = repos.filter((r) => (gates.get(r.id) !== false) === truthy(gatedFilter));
    const likes = await deps.db.likes.counts(repos.map((r) => r.id));
    const downloads = (await deps.downloads?.read(repos.map((r) => r.id))) ?? new Map<string, { downloads: number; downloadsAllTime: number }>();
    const dl = (id: string) => downloads.get(id)?.downloads ?? 0;
    const infoOf = async (r: RepoRecord) => {
      const refs = await deps.store.refs(r.id);
      const objects = await deps.store.objects(r.id);
      let sha: string | null = null;
      try {
        sha = resolveRevision(refs, objects, 'HEAD', r.defaultBranch).oid;
      } catch {
        sha = null;
      }
      const usedStorage = (await deps.db.repos.usedStorage([r.id])).get(r.id);
      const info = await repoInfoJson(r, objects, sha, { blobs: false, expand: [], siblings: truthy(q.full), usedStorage, likes: likes.get(r.id), gated: gates.get(r.id) ?? false, downloads: downloads.get(r.id) });
      if (!truthy(q.full)) delete info.siblings;
      return info;
    };
    const sort = q.sort ?? 'createdAt';
    const dir = q.direction === '1' ? 1 : -1;
    const byKey = <T,>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : 0);
    const limit = Math.min(Math.max(Number(q.limit) || 1000, 1), 1000);
    const offset = Math.max(Number(q.cursor) || 0, 0);
    let items: Record<string, unknown>[];
    let total: number;
    if (!filters.length && sort !== 'lastModified') {
      // Sorted and paged by what the database knows: only the page's repositories are read.
      if (sort === 'createdAt') repos.sort(byKey((r) => iso(r.createdAt)));
      else if (sort === 'id') repos.sort(byKey((r) => hfRepoId(r)));
      else if (sort === 'likes') repos.sort((a, b) => dir * ((likes.get(a.id) ?? 0) - (likes.get(b.id) ?? 0)) || (hfRepoId(a) < hfRepoId(b) ? -1 : 1));
      else if (sort === 'downloads') repos.sort((a, b) => dir * (dl(a.id) - dl(b.id)) || (hfRepoId(a) < hfRepoId(b) ? -1 : 1));
      total = repos.length;
      items = [];
      for (const r of repos.slice(offset, offset + limit)) items.push(await infoOf(r));
    } else {
      const all: Record<string, unknown>[] = [];
      for (const r of repos) {
        const info = await infoOf(r);
        if (filters.length) {
          const tags = filterTags(info);
          if (!filters.every((f) => tags.has(f))) continue;
        }
        all.push(info);
      }
      if (['lastModified', 'createdAt', 'id'].includes(sort)) all.sort(byKey((x) => String(x[sort])));
      else if (sort === 'likes' || sort === 'downloads') all.sort((a, b) => dir * (Number(a[sort]) - Number(b[sort])) || (String(a.id) < String(b.id) ? -1 : 1));
      total = all.length;
      items = all.slice(offset, offset + limit);
    }
    if (offset + limit < total) ctx.linkNext(req, res, 'cursor', offset + limit);
    res.json(items);
  });
}
