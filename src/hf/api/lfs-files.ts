import { invalid } from '../../core/errors.js';
import { can } from '../../auth/permissions.js';
import { principalOf } from '../../http/repo-route.js';
import { isValidOid } from '../../lfs/pointer.js';
import { LfsFilesService, MAX_DELETIONS } from '../../repos/lfs-files.js';
import { iso } from '../repo-json.js';
import { authRequired, forbiddenHf, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

/** LFS files one page lists (`Link` pagination, `cursor`). */
const LFS_FILES_PAGE = 1000;

/**
 * LFS file management (huggingface_hub `list_lfs_files`, `permanently_delete_lfs_files`):
 * `GET /api/{t}/{R}/lfs-files`, one entry per LFS object of the repository, for its readers; and
 * `POST /api/{t}/{R}/lfs-files/batch` with `{"deletions": {"sha": [fileOid, ...], "rewriteHistory": true}}`,
 * for its owners and admins.
 */
export function lfsFilesRoutes(ctx: HfContext, api: RepoApi): void {
  const { deps } = ctx;
  const service = new LfsFilesService({ db: deps.db, store: deps.store, commits: deps.commits });

  api.route(
    'get',
    'lfs-files',
    'read',
    async (req, res, repo) => {
      const q = req.query as Record<string, unknown>;
      const limit = Math.min(Math.max(Math.trunc(Number(q.limit)) || LFS_FILES_PAGE, 1), LFS_FILES_PAGE);
      const offset = Math.max(Math.trunc(Number(q.cursor)) || 0, 0);
      const files = await service.list(repo);
      if (files.length > offset + limit) ctx.linkNext(req, res, 'cursor', offset + limit);
      res.json(
        files.slice(offset, offset + limit).map((f) => ({
          fileOid: f.oid,
          oid: f.oid,
          size: f.size,
          pushedAt: iso(f.pushedAt),
          filename: f.filename,
          ref: f.ref,
          commits: f.commits,
        })),
      );
    },
    { exact: true },
  );

  api.route(
    'post',
    'lfs-files/batch',
    'read',
    async (req, res, repo) => {
      const p = principalOf(res);
      if (!can(p, repo, 'admin')) {
        if (!p) throw authRequired();
        throw forbiddenHf(p.scope !== 'write' ? 'this token is read-only' : `Only the owners and admins of ${repo.namespace}/${repo.name} may delete its LFS files`);
      }
      await ctx.assertNotMirror(repo);
      await ctx.parseBody(req, res);
      const deletions = (req.body as Record<string, unknown> | undefined)?.deletions as Record<string, unknown> | undefined;
      if (!deletions || typeof deletions !== 'object' || Array.isArray(deletions)) throw invalid('BadRequest', 'deletions is required');
      const sha = deletions.sha;
      if (!Array.isArray(sha) || sha.length === 0) throw invalid('BadRequest', 'deletions.sha must be a non-empty list of file oids');
      if (sha.length > MAX_DELETIONS) throw invalid('BadRequest', `at most ${MAX_DELETIONS} files may be deleted per request`);
      if (!sha.every((s): s is string => typeof s === 'string' && isValidOid(s))) throw invalid('BadRequest', 'deletions.sha must hold sha256 file oids');
      const rewrite = deletions.rewriteHistory;
      if (rewrite !== undefined && rewrite !== null && typeof rewrite !== 'boolean') throw invalid('BadRequest', 'deletions.rewriteHistory must be a boolean');
      const deleted = await service.delete(repo, sha, { rewriteHistory: rewrite !== false });
      res.json({ deleted });
    },
    { exact: true },
  );
}
