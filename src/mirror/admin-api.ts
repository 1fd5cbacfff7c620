import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { AppError, invalid } from '../core/errors.js';
import type { Db, MirrorRecord, RepoRecord, RepoType } from '../db/db.js';
import { repoLabel, type MirrorService } from './service.js';

const TYPES = ['model', 'dataset', 'space'] as const;
const PLURAL: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };

const globs = z.array(z.string().min(1).max(512)).max(200);
const registerBody = z.object({
  repo: z.string().min(3).max(200),
  type: z.enum(TYPES).default('model'),
  revision: z.string().min(1).max(255).nullish(),
  include: globs.default([]),
  exclude: globs.default([]),
  includePrs: z.boolean().default(false),
  /** git, rest or auto (the default); fixed at registration. */
  history: z.enum(['git', 'rest', 'auto']).optional(),
  download: z.boolean().default(false),
});
const downloadBody = z.object({ revision: z.string().min(1).max(255).nullish(), include: globs.optional(), exclude: globs.optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw invalid('BadRequest', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

/**
 * Mirrors for administrators: register an upstream repository, list mirrors, show one with the
 * state of each file, sync, download (all, a revision, chosen paths), detach. Everyone else finds
 * nothing here (404, as for any missing route).
 */
export function createMirrorAdminApi(deps: { db: Db; mirrors: MirrorService }): Router {
  const router = express.Router();
  const json = express.json({ limit: '64kb' });

  const requireAdmin = (res: Response): Principal => {
    res.locals.surface = 'hf';
    const p = res.locals.principal as Principal | null | undefined;
    if (!p?.user.isAdmin) throw new AppError('not_found', 'NotFound', 'not found');
    return p;
  };

  // history: how the history is fetched (git, rest or auto, as registered); historyMethod: how it came,
  // 'git' (the upstream's commits) or 'rest' (synthetic commits built from its REST API).
  const mirrorJson = async (repo: RepoRecord, m: MirrorRecord) => ({
    id: `${repo.namespace}/${repo.name}`,
    type: repo.type,
    upstream: m.upstreamUrl,
    upstreamId: m.upstreamId,
    source: m.source,
    state: m.state,
    lastError: m.lastError,
    revision: m.revision,
    include: m.include,
    exclude: m.exclude,
    includePrs: m.includePrs,
    refsFetchedAt: m.refsFetchedAt?.toISOString() ?? null,
    upstreamRevision: m.upstreamRevision,
    failedFiles: Object.keys(m.failures).length,
    defaultBranch: repo.defaultBranch,
    private: repo.private,
    history: m.history,
    historyMethod: (await deps.mirrors.historyMethod(repo)) ?? 'git',
  });

  async function load(req: Request): Promise<{ repo: RepoRecord; mirror: MirrorRecord }> {
    const type = PLURAL[String(req.params.plural)];
    if (!type) throw new AppError('not_found', 'NotFound', 'not found');
    const repo = await deps.db.repos.find(type, String(req.params.ns), String(req.params.name));
    const mirror = repo ? await deps.db.mirrors.get(repo.id) : null;
    if (!repo || !mirror) throw new AppError('not_found', 'MirrorNotFound', `${repoLabel({ type, namespace: String(req.params.ns), name: String(req.params.name) })} is not a mirror here`);
    return { repo, mirror };
  }

  router.get('/api/admin/mirrors', async (_req, res) => {
    requireAdmin(res);
    const out = [];
    for (const m of await deps.db.mirrors.list()) {
      const repo = await deps.db.repos.findById(m.repoId);
      if (repo) out.push(await mirrorJson(repo, m));
    }
    res.json(out);
  });

  router.post('/api/admin/mirrors', json, async (req, res) => {
    requireAdmin(res);
    const body = parse(registerBody, req.body);
    const { repo, mirror, jobs } = await deps.mirrors.register({ ...body, id: body.repo });
    res.status(201).json({ mirror: await mirrorJson(repo, mirror), jobs: jobs.map((j) => j.id) });
  });

  const one = '/api/admin/mirrors/:plural/:ns/:name';
  router.get(one, async (req, res) => {
    requireAdmin(res);
    const { repo, mirror } = await load(req);
    const revision = typeof req.query.revision === 'string' ? req.query.revision : mirror.revision;
    let files = null;
    let commit = null;
    try {
      ({ commit, files } = await deps.mirrors.fileStates(repo, revision));
    } catch (err) {
      if (!(err instanceof AppError && (err.code === 'RevisionNotFound' || err.code === 'EmptyRepository'))) throw err;
    }
    res.json({ ...(await mirrorJson(repo, mirror)), commit, files });
  });

  router.post(`${one}/sync`, json, async (req, res) => {
    requireAdmin(res);
    const { repo } = await load(req);
    const job = await deps.mirrors.enqueueSync(repo, { download: (req.body as { download?: unknown } | undefined)?.download === true });
    res.status(202).json({ job: job.id });
  });

  router.post(`${one}/download`, json, async (req, res) => {
    requireAdmin(res);
    const { repo, mirror } = await load(req);
    const body = parse(downloadBody, req.body);
    const job = await deps.mirrors.enqueueDownload(repo, { revision: body.revision ?? mirror.revision, include: body.include ?? mirror.include, exclude: body.exclude ?? mirror.exclude });
    res.status(202).json({ job: job.id });
  });

  router.post(`${one}/detach`, async (req, res) => {
    requireAdmin(res);
    const { repo } = await load(req);
    await deps.mirrors.detach(repo);
    res.json({ detached: `${repo.namespace}/${repo.name}` });
  });

  return router;
}
