import type { Request, Response, Router } from 'express';
import { AppError, invalid } from '../../core/errors.js';
import type { RepoRecord, RepoType } from '../../db/db.js';
import { canCreateIn, type RepoAction } from '../../auth/permissions.js';
import { isGateMode } from '../../community/gated.js';
import { principalOf } from '../../http/repo-route.js';
import type { CommitChange } from '../../repos/commit-service.js';
import { validateNewName } from '../../repos/repo-service.js';
import { defaultGitattributes } from '../gitattributes.js';
import { hfRepoId, typePrefix } from '../repo-json.js';
import { authRequired, forbiddenHf, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

/** Repository lifecycle: `POST /api/repos/create`, `DELETE /api/repos/delete`, `POST /api/repos/move`. */
export function repoLifecycleRoutes(ctx: HfContext, router: Router): void {
  const { deps } = ctx;

  router.post('/api/repos/create', ctx.json, async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw authRequired('You must be authenticated to create a repository');
    if (p.scope !== 'write') throw forbiddenHf('this token is read-only');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    if (!['model', 'dataset', 'space'].includes(type)) throw invalid('BadRequest', `invalid repo type ${String(body.type)}`);
    let name = typeof body.name === 'string' ? body.name : '';
    let namespace = typeof body.organization === 'string' && body.organization ? body.organization : p.user.name;
    if (name.includes('/')) [namespace, name] = name.split('/', 2) as [string, string];
    if (!canCreateIn(p, namespace)) throw forbiddenHf(`You don't have the rights to create a repository under ${namespace}`);
    const isPrivate = body.visibility === 'private' || body.private === true;
    let repo: RepoRecord;
    try {
      repo = await deps.repos.create({ type, namespace, name, private: isPrivate });
    } catch (err) {
      if (err instanceof AppError && err.code === 'RepoExists') {
        const existing = (await deps.repos.find({ type, namespace, name }))!;
        res.status(409).setHeader('X-Error-Code', 'RepoExists');
        res.setHeader('X-Error-Message', `You already created this ${type} repo`);
        res.json({ error: `You already created this ${type} repo`, url: ctx.repoUrl(req, existing) });
        return;
      }
      throw err;
    }
    const changes: CommitChange[] = [{ kind: 'put', path: '.gitattributes', content: Buffer.from(defaultGitattributes(type)) }];
    for (const f of Array.isArray(body.files) ? (body.files as { path?: string; content?: string; encoding?: string }[]) : []) {
      if (typeof f.path !== 'string' || typeof f.content !== 'string') continue;
      changes.push({ kind: 'put', path: f.path, content: Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8') });
    }
    try {
      await deps.commits.commit(repo, { ref: `refs/heads/${repo.defaultBranch}`, changes, message: 'initial commit', author: ctx.author(p) });
    } catch (err) {
      await deps.db.repos.delete(repo.id);
      await ctx.removeStoredData(repo.id);
      throw err;
    }
    res.json({ url: ctx.repoUrl(req, repo), name: hfRepoId(repo), id: repo.id.replace(/-/g, '').slice(0, 24) });
  });

  /** The repository a delete names in its body: `{name, organization, type}`, name possibly `ns/name`. */
  const repoFromBody = async (req: Request, res: Response, action: RepoAction) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const p = principalOf(res);
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    let name = String(body.name ?? '');
    let ns = typeof body.organization === 'string' && body.organization ? body.organization : (p?.user.name ?? '');
    if (name.includes('/')) [ns, name] = name.split('/', 2) as [string, string];
    return ctx.loadRepo(res, type, ns, name, action);
  };

  router.delete('/api/repos/delete', ctx.json, async (req, res) => {
    const repo = await repoFromBody(req, res, 'admin');
    await deps.db.repos.delete(repo.id);
    await ctx.removeStoredData(repo.id);
    res.json({ deleted: hfRepoId(repo) });
  });

  router.post('/api/repos/move', ctx.json, async (req, res) => {
    res.locals.surface = 'hf';
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    const from = String(body.fromRepo ?? '').split('/');
    const to = String(body.toRepo ?? '').split('/');
    if (from.length !== 2 || to.length !== 2 || !from[0] || !from[1] || !to[0] || !to[1]) throw invalid('BadRequest', 'fromRepo and toRepo must be namespace/name');
    const [fromNs, fromName] = from as [string, string];
    const [toNs, toName] = to as [string, string];
    const repo = await ctx.loadRepo(res, type, fromNs, fromName, 'admin');
    const p = principalOf(res)!;
    validateNewName({ type, namespace: toNs, name: toName });
    if (!canCreateIn(p, toNs)) throw forbiddenHf(`You don't have the rights to move a repository to ${toNs}`);
    const taken = await deps.repos.find({ type, namespace: toNs, name: toName });
    // A change of letter case only is a move onto itself.
    if (taken && taken.id !== repo.id) throw new AppError('conflict', 'RepoExists', `A ${type} repository called ${toNs}/${toName} already exists`);
    await deps.repos.move(repo, { namespace: toNs, name: toName });
    res.json({ url: `${ctx.base(req)}/${typePrefix(repo)}${toNs}/${toName}` });
  });
}

/** `PUT /api/{t}/{R}/settings`: visibility (`private` or `visibility`) and `gated` (false, 'auto' or 'manual'). */
export function repoSettingsRoutes(ctx: HfContext, api: RepoApi): void {
  api.route(
    'put',
    'settings',
    'admin',
    async (req, res, repo) => {
      const body = (req.body ?? {}) as { private?: boolean; visibility?: string; gated?: unknown };
      if (body.gated !== undefined && body.gated !== null && !isGateMode(body.gated)) throw invalid('BadRequest', `gated must be false, "auto" or "manual"`);
      const patch: { private?: boolean } = {};
      if (typeof body.private === 'boolean') patch.private = body.private;
      if (body.visibility === 'private' || body.visibility === 'public') patch.private = body.visibility === 'private';
      const updated = Object.keys(patch).length ? await ctx.deps.db.repos.update(repo.id, patch) : repo;
      if (isGateMode(body.gated)) await ctx.gated.setMode(repo, body.gated);
      res.json({ private: updated.private, gated: await ctx.gated.mode(repo) });
    },
    { body: true },
  );
}
