import { invalid } from '../../core/errors.js';
import type { RepoRecord } from '../../db/db.js';
import type { RepoObjects } from '../../git/store/repo-objects.js';
import { shownCommit } from '../../repos/revisions.js';
import { describeEntries, entryAt, lastCommitsOf, walkTree, walkTreeAfter, type HfEntry, type PathEntry } from '../tree.js';
import { MAX_PATHS, splitRevPath, truthy, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

/** Entries per page of an expanded tree listing (the Hub's page size for expand=true). */
const EXPANDED_PAGE = 50;

/**
 * Entries with the commit that last changed each: one history walk for all of them (see
 * lastCommitsOf). A REST-synced mirror's synthetic commits are shown by their upstream ids.
 */
async function withLastCommit(ctx: HfContext, repo: RepoRecord, objects: RepoObjects, commitOid: string, entries: HfEntry[]): Promise<HfEntry[]> {
  const [last, ids] = await Promise.all([lastCommitsOf(objects, commitOid, entries.map((e) => e.path)), ctx.deps.mirror?.commitIds?.(repo) ?? null]);
  return entries.map((e) => {
    const c = last.get(e.path);
    return { ...e, lastCommit: c && { ...c, id: shownCommit(ids, c.id) } };
  });
}

/** `GET /api/{t}/{R}/tree/{rev}[/{path}]` (list_repo_tree, `Link` pagination) and `POST …/paths-info/{rev}`. */
export function treeRoutes(ctx: HfContext, api: RepoApi): void {
  api.route('get', 'tree', 'read', async (req, res, repo, rest) => {
    const { rev, path } = splitRevPath(rest);
    const { oid, objects } = await ctx.resolveAt(repo, rev);
    const q = req.query as Record<string, unknown>;
    const normalized = path.replace(/\/+$/, '');
    const expand = truthy(q.expand);
    // Pages of expanded entries (each needs history) hold at most 50, as on the Hub; a larger limit gets 50.
    const limit = Math.min(Math.max(Number(q.limit) || (expand ? EXPANDED_PAGE : 1000), 1), expand ? EXPANDED_PAGE : 10_000);
    // The cursor the Link header carries: `<offset>.<base64url of the page's last path>`; the walk
    // resumes after that path (a plain offset, or a path no longer there, counts from the start).
    const cursor = /^(\d{1,9})(?:\.([A-Za-z0-9_-]{1,8192}))?$/.exec(String(q.cursor ?? ''));
    const offset = cursor ? Number(cursor[1]) : 0;
    const recursive = truthy(q.recursive);
    // Each walk stops one entry past the page: enough to know whether there is a next one.
    const listed =
      (cursor?.[2] ? walkTreeAfter(objects, oid, normalized, recursive, Buffer.from(cursor[2], 'base64url').toString(), limit + 1) : null) ??
      walkTree(objects, oid, normalized, recursive, offset + limit + 1).slice(offset);
    const page = listed.slice(0, limit);
    let entries = await describeEntries(objects, page);
    if (expand) entries = await withLastCommit(ctx, repo, objects, oid, entries);
    if (listed.length > limit) ctx.linkNext(req, res, 'cursor', `${offset + limit}.${Buffer.from(page.at(-1)!.path).toString('base64url')}`);
    res.json(entries);
  });

  api.route(
    'post',
    'paths-info',
    'read',
    async (req, res, repo, rest) => {
      const { rev } = splitRevPath(rest);
      const { oid, objects } = await ctx.resolveAt(repo, rev);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const paths = [body.paths].flat().filter((p): p is string => typeof p === 'string');
      if (paths.length > MAX_PATHS) throw invalid('BadRequest', `paths-info takes at most ${MAX_PATHS} paths`);
      const found: (PathEntry & { path: string })[] = [];
      for (const p of paths) {
        const clean = p.replace(/^\/+|\/+$/g, '');
        const e = entryAt(objects, oid, clean);
        if (e) found.push({ path: clean, ...e });
      }
      const out = await describeEntries(objects, found);
      res.json(truthy(body.expand) ? await withLastCommit(ctx, repo, objects, oid, out) : out);
    },
    { body: true },
  );
}
