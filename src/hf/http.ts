import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createTwoFilesPatch } from 'diff';
import express, { type Request, type Response, type Router } from 'express';
import { AppError, invalid, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { normalizeRepoPath } from '../core/paths.js';
import type { Db, RepoRecord, RepoType } from '../db/db.js';
import { can, canCreateIn, type RepoAction } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { isValidRefName } from '../git/refname.js';
import { serializeTag } from '../git/objects/tag.js';
import { hashObject } from '../git/objects/hash.js';
import type { GitStore } from '../git/store/git-store.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { decodedBody } from '../http/body.js';
import { baseUrl, principalOf } from '../http/repo-route.js';
import type { ContentStore } from '../lfs/content-store.js';
import { parseRange, serveObject } from '../lfs/http.js';
import { formatPointer, isValidOid, parsePointer } from '../lfs/pointer.js';
import type { LfsRecords } from '../lfs/records.js';
import type { CommitChange, CommitService } from '../repos/commit-service.js';
import { resolveRevision, revisionNotFound } from '../repos/revisions.js';
import { validateNewName, type RepoService } from '../repos/repo-service.js';
import { defaultGitattributes, globMatch, isLfsPath, lfsPatterns, matchCost } from './gitattributes.js';
import { ndjsonLines } from './ndjson.js';
import type { QuotaService } from '../repos/quota-service.js';
import { hfRepoId, iso, repoInfoJson, typePrefix } from './repo-json.js';
import { describeEntries, describeEntry, diffTrees, entryAt, lastCommitsOf, walkTree, type HfEntry, type PathEntry } from './tree.js';
import { serializeCommit } from '../git/objects/commit.js';

export interface HfDeps {
  db: Db;
  repos: RepoService;
  store: GitStore;
  commits: CommitService;
  content: ContentStore;
  lfs: LfsRecords;
  publicUrl?: string;
  /** Files of this size and more that arrive inline are stored in LFS (default 1 MiB). */
  lfsThreshold: number;
  /** Bounds of one NDJSON commit: decompressed bytes, bytes per line, operations. */
  commitLimits: { maxBytes: number; maxLineBytes: number; maxOperations: number };
  quotas: QuotaService;
  /** Link an `lfsFile` line's object if the committer possesses it (src/lfs/possession.ts); its size. */
  verifyUploaded(repo: RepoRecord, principal: Principal, oid: string, size: number | null): Promise<number>;
  log: Logger;
}

const PLURAL: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };
const truthy = (v: unknown) => v === 'true' || v === 'True' || v === '1' || v === true;
const repoNotFound = (principal: Principal | null) =>
  new AppError(principal ? 'not_found' : 'unauthenticated', 'RepoNotFound', 'Repository Not Found');

function listParam(req: Request, name: string): string[] {
  const q = req.query as Record<string, unknown>;
  const vals = [q[name], q[`${name}[]`]].flat().filter((v): v is string => typeof v === 'string');
  return vals;
}

/** Split a raw (still percent-encoded) path tail into a revision and a file path. */
function splitRevPath(segments: string[]): { rev: string; path: string } {
  if (segments.length === 0) throw invalid('BadRequest', 'revision missing');
  const dec = segments.map((s) => decodeURIComponent(s));
  let n = 1;
  if (dec[0] === 'refs' && (dec[1] === 'pr' || dec[1] === 'convert') && dec.length >= 3) n = 3;
  return { rev: dec.slice(0, n).join('/'), path: dec.slice(n).join('/') };
}

function rawTail(req: Request, prefixSegments: number): string[] {
  const raw = req.originalUrl.split('?')[0]!.split('/').slice(1);
  return raw.slice(prefixSegments).filter((s, i, all) => s !== '' || i < all.length - 1);
}

export function createHfRouter(deps: HfDeps): Router {
  const router = express.Router();
  // Body limits count decompressed bytes (body-parser inflates before it counts).
  const json = express.json({ limit: SMALL_BODY_BYTES });
  const repoJson = express.json({ limit: REPO_BODY_BYTES });
  const repoForm = express.urlencoded({ extended: false, limit: REPO_BODY_BYTES, parameterLimit: MAX_PATHS + 16 });
  /** Parse a JSON or form body, only once the caller may use the route (nothing is parsed for strangers). */
  const parseBody = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      repoJson(req, res, (err?: unknown) => (err ? reject(err) : repoForm(req, res, (err2?: unknown) => (err2 ? reject(err2) : resolve()))));
    });
  router.use('/api', (_req, res, next) => {
    res.locals.surface = 'hf';
    next();
  });

  const base = (req: Request) => baseUrl(req, deps.publicUrl);
  const repoUrl = (req: Request, repo: RepoRecord) => `${base(req)}/${typePrefix(repo)}${hfRepoId(repo)}`;
  const author = (p: Principal) => ({ name: p.user.name, email: p.user.email ?? `${p.user.name}@users.noreply.packhub` });

  async function loadRepo(res: Response, type: RepoType, ns: string, name: string, action: RepoAction): Promise<RepoRecord> {
    res.locals.surface = 'hf';
    const principal = principalOf(res);
    const repo = await deps.repos.find({ type, namespace: ns, name });
    if (!repo || !can(principal, repo, 'read')) throw repoNotFound(principal);
    if (action !== 'read' && !can(principal, repo, action)) {
      if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
      throw new AppError('forbidden', 'Forbidden', principal.scope !== 'write' ? 'this token is read-only' : `You don't have the rights to write to ${hfRepoId(repo)}`);
    }
    return repo;
  }

  async function resolveAt(repo: RepoRecord, rev: string) {
    const [refs, objects] = await Promise.all([deps.store.refs(repo.id), deps.store.objects(repo.id)]);
    const { oid } = resolveRevision(refs, objects, rev, repo.defaultBranch);
    return { oid, refs, objects };
  }

  // ---- accounts ----------------------------------------------------------------------------
  router.get('/api/quota/:namespace', async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    const ns = String(req.params.namespace);
    if (!p) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    if (!p.user.isAdmin && p.user.name !== ns && !p.orgs.has(ns)) throw new AppError('forbidden', 'Forbidden', `You may not see the storage use of ${ns}`);
    res.json(await deps.quotas.report(ns));
  });

  router.get('/api/whoami-v2', (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw new AppError('unauthenticated', 'Unauthenticated', 'Invalid credentials in Authorization header');
    res.json({
      type: 'user',
      id: String(p.user.id),
      name: p.user.name,
      fullname: p.user.name,
      email: p.user.email,
      emailVerified: !!p.user.email,
      isPro: false,
      canPay: false,
      orgs: [...p.orgs].map(([name, role]) => ({ type: 'org', name, fullname: name, roleInOrg: role })),
      auth: { type: 'access_token', accessToken: { displayName: `token-${p.tokenId}`, role: p.scope, createdAt: iso(p.user.createdAt) } },
    });
  });

  router.post('/api/validate-yaml', json, (_req, res) => {
    res.json({ errors: [], warnings: [] });
  });

  // ---- repo create / delete / move ------------------------------------------------------------
  router.post('/api/repos/create', json, async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw new AppError('unauthenticated', 'Unauthenticated', 'You must be authenticated to create a repository');
    if (p.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this token is read-only');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    if (!['model', 'dataset', 'space'].includes(type)) throw invalid('BadRequest', `invalid repo type ${String(body.type)}`);
    let name = typeof body.name === 'string' ? body.name : '';
    let namespace = typeof body.organization === 'string' && body.organization ? body.organization : p.user.name;
    if (name.includes('/')) [namespace, name] = name.split('/', 2) as [string, string];
    if (!canCreateIn(p, namespace)) throw new AppError('forbidden', 'Forbidden', `You don't have the rights to create a repository under ${namespace}`);
    const isPrivate = body.visibility === 'private' || body.private === true;
    let repo: RepoRecord;
    try {
      repo = await deps.repos.create({ type, namespace, name, private: isPrivate });
    } catch (err) {
      if (err instanceof AppError && err.code === 'RepoExists') {
        const existing = (await deps.repos.find({ type, namespace, name }))!;
        res.status(409).setHeader('X-Error-Code', 'RepoExists');
        res.setHeader('X-Error-Message', `You already created this ${type} repo`);
        res.json({ error: `You already created this ${type} repo`, url: repoUrl(req, existing) });
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
      await deps.commits.commit(repo, { ref: `refs/heads/${repo.defaultBranch}`, changes, message: 'initial commit', author: author(p) });
    } catch (err) {
      await deps.db.repos.delete(repo.id);
      await removeStoredData(repo.id);
      throw err;
    }
    res.json({ url: repoUrl(req, repo), name: hfRepoId(repo), id: repo.id.replace(/-/g, '').slice(0, 24) });
  });

  /** The repository is gone (its rows deleted): its packs are garbage. A failure here leaves garbage, not a broken repository. */
  const removeStoredData = async (repoId: string) => {
    try {
      await deps.store.deleteRepository(repoId);
    } catch (err) {
      deps.log.warn({ err, repoId }, 'could not remove the packs of a deleted repository');
    }
  };

  const repoFromBody = async (req: Request, res: Response, action: RepoAction) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const p = principalOf(res);
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    let name = String(body.name ?? '');
    let ns = typeof body.organization === 'string' && body.organization ? body.organization : (p?.user.name ?? '');
    if (name.includes('/')) [ns, name] = name.split('/', 2) as [string, string];
    return loadRepo(res, type, ns, name, action);
  };

  router.delete('/api/repos/delete', json, async (req, res) => {
    const repo = await repoFromBody(req, res, 'admin');
    await deps.db.repos.delete(repo.id);
    await removeStoredData(repo.id);
    res.json({ deleted: hfRepoId(repo) });
  });

  router.post('/api/repos/move', json, async (req, res) => {
    res.locals.surface = 'hf';
    const body = (req.body ?? {}) as Record<string, unknown>;
    const type = (typeof body.type === 'string' ? body.type : 'model') as RepoType;
    const from = String(body.fromRepo ?? '').split('/');
    const to = String(body.toRepo ?? '').split('/');
    if (from.length !== 2 || to.length !== 2 || !from[0] || !from[1] || !to[0] || !to[1]) throw invalid('BadRequest', 'fromRepo and toRepo must be namespace/name');
    const [fromNs, fromName] = from as [string, string];
    const [toNs, toName] = to as [string, string];
    const repo = await loadRepo(res, type, fromNs, fromName, 'admin');
    const p = principalOf(res)!;
    validateNewName({ type, namespace: toNs, name: toName });
    if (!canCreateIn(p, toNs)) throw new AppError('forbidden', 'Forbidden', `You don't have the rights to move a repository to ${toNs}`);
    if (await deps.repos.find({ type, namespace: toNs, name: toName })) throw new AppError('conflict', 'RepoExists', `A ${type} repository called ${toNs}/${toName} already exists`);
    await deps.repos.move(repo, { namespace: toNs, name: toName });
    res.json({ url: `${base(req)}/${typePrefix(repo)}${toNs}/${toName}` });
  });

  // ---- listing -------------------------------------------------------------------------------
  router.get('/api/:plural', async (req, res) => {
    res.locals.surface = 'hf';
    const type = PLURAL[String(req.params.plural)];
    if (!type) throw notFound('NotFound', `no route for ${req.path}`);
    const q = req.query as Record<string, string | undefined>;
    const principal = principalOf(res);
    const search = (q.search ?? '').toLowerCase();
    const authorFilter = q.author;
    const filters = listParam(req, 'filter');
    let repos = (await deps.db.repos.list({ type, ...(authorFilter ? { namespace: authorFilter } : {}) })).filter((r) => can(principal, r, 'read'));
    if (search) repos = repos.filter((r) => hfRepoId(r).toLowerCase().includes(search));
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
      const info = await repoInfoJson(r, objects, sha, { blobs: false, expand: [], siblings: truthy(q.full), usedStorage });
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
      total = repos.length;
      items = [];
      for (const r of repos.slice(offset, offset + limit)) items.push(await infoOf(r));
    } else {
      const all: Record<string, unknown>[] = [];
      for (const r of repos) {
        const info = await infoOf(r);
        if (filters.length && !filters.every((f) => (info.tags as string[]).includes(f))) continue;
        all.push(info);
      }
      if (['lastModified', 'createdAt', 'id'].includes(sort)) all.sort(byKey((x) => String(x[sort])));
      total = all.length;
      items = all.slice(offset, offset + limit);
    }
    if (offset + limit < total) {
      const next = new URL(`${base(req)}${req.originalUrl}`);
      next.searchParams.set('cursor', String(offset + limit));
      res.setHeader('Link', `<${next.toString()}>; rel="next"`);
    }
    res.json(items);
  });

  // ---- per-repo API --------------------------------------------------------------------------
  router.all('/api/:plural/:ns{/:name}{/*rest}', async (req, res) => {
    const type = PLURAL[String(req.params.plural)];
    if (!type) throw notFound('NotFound', `no route for ${req.path}`);
    const ns = String(req.params.ns);
    if (req.params.name === undefined) throw repoNotFound(principalOf(res));
    const name = String(req.params.name);
    const tail = rawTail(req, 4);
    const op = tail[0] ?? '';
    const rest = tail.slice(1);
    const method = req.method;
    const withBody = async (action: RepoAction) => {
      const repo = await loadRepo(res, type, ns, name, action);
      await parseBody(req, res);
      return repo;
    };

    if (op === '' && method === 'GET') return repoInfo(req, res, await loadRepo(res, type, ns, name, 'read'), 'HEAD');
    if (op === 'revision' && method === 'GET') return repoInfo(req, res, await loadRepo(res, type, ns, name, 'read'), splitRevPath(rest).rev);
    if (op === 'tree' && method === 'GET') return tree(req, res, await loadRepo(res, type, ns, name, 'read'), rest);
    if (op === 'paths-info' && method === 'POST') return pathsInfo(req, res, await withBody('read'), rest);
    if (op === 'preupload' && method === 'POST') return preupload(req, res, await withBody('read'), rest);
    if (op === 'commit' && method === 'POST') return commit(req, res, await loadRepo(res, type, ns, name, 'write'), rest);
    if (op === 'commits' && method === 'GET') return commits(req, res, await loadRepo(res, type, ns, name, 'read'), rest);
    if (op === 'refs' && method === 'GET') return refsList(req, res, await loadRepo(res, type, ns, name, 'read'));
    if (op === 'branch' && (method === 'POST' || method === 'DELETE')) return branch(req, res, await withBody('write'), rest);
    if (op === 'tag' && (method === 'POST' || method === 'DELETE')) return tag(req, res, await withBody('write'), rest);
    if (op === 'super-squash' && method === 'POST') return superSquash(req, res, await withBody('write'), rest);
    if (op === 'compare' && method === 'GET') return compare(req, res, await loadRepo(res, type, ns, name, 'read'), rest);
    if (op === 'commit-diff' && method === 'GET') return commitDiff(res, await loadRepo(res, type, ns, name, 'read'), rest);
    if (op === 'settings' && method === 'PUT') return settings(req, res, await withBody('admin'));
    if (op === 'auth-check' && method === 'GET') {
      await loadRepo(res, type, ns, name, rest[0] === 'write' ? 'write' : 'read');
      res.json({ ok: true });
      return;
    }
    // The repo must exist for the caller before anything else is said about the route.
    await loadRepo(res, type, ns, name, 'read');
    throw notFound('NotFound', `${method} ${req.path} is not supported by packhub`);
  });

  async function repoInfo(req: Request, res: Response, repo: RepoRecord, rev: string) {
    const refs = await deps.store.refs(repo.id);
    const objects = await deps.store.objects(repo.id);
    let sha: string | null = null;
    if (refs.length > 0 || rev !== 'HEAD') sha = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
    const expand = listParam(req, 'expand');
    const usedStorage = (await deps.db.repos.usedStorage([repo.id])).get(repo.id);
    res.json(await repoInfoJson(repo, objects, sha, { blobs: truthy((req.query as Record<string, unknown>).blobs), expand, usedStorage }));
  }

  /** Entries with the commit that last changed each: one history walk for all of them (see lastCommitsOf). */
  async function withLastCommit(objects: RepoObjects, commitOid: string, entries: HfEntry[]): Promise<HfEntry[]> {
    const last = await lastCommitsOf(objects, commitOid, entries.map((e) => e.path));
    return entries.map((e) => ({ ...e, lastCommit: last.get(e.path) }));
  }

  async function tree(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const { rev, path } = splitRevPath(rest);
    const { oid, objects } = await resolveAt(repo, rev);
    const q = req.query as Record<string, unknown>;
    const normalized = path.replace(/\/+$/, '');
    const expand = truthy(q.expand);
    // Pages of expanded entries (each needs history) hold at most 50, as on the Hub; a larger limit gets 50.
    const limit = Math.min(Math.max(Number(q.limit) || (expand ? EXPANDED_PAGE : 1000), 1), expand ? EXPANDED_PAGE : 10_000);
    const offset = Math.max(Number(q.cursor) || 0, 0);
    // The walk stops one entry past the page: enough to know whether there is a next one.
    const listed = walkTree(objects, oid, normalized, truthy(q.recursive), offset + limit + 1);
    const total = listed.length;
    let entries = await describeEntries(objects, listed.slice(offset, offset + limit));
    if (expand) entries = await withLastCommit(objects, oid, entries);
    if (offset + limit < total) {
      const next = new URL(`${base(req)}${req.originalUrl}`);
      next.searchParams.set('cursor', String(offset + limit));
      res.setHeader('Link', `<${next.toString()}>; rel="next"`);
    }
    res.json(entries);
  }

  async function pathsInfo(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const { rev } = splitRevPath(rest);
    const { oid, objects } = await resolveAt(repo, rev);
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
    res.json(truthy(body.expand) ? await withLastCommit(objects, oid, out) : out);
  }

  async function preupload(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const { rev } = splitRevPath(rest);
    const refs = await deps.store.refs(repo.id);
    const objects = await deps.store.objects(repo.id);
    let head: string | null = null;
    try {
      head = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
    } catch (err) {
      if (refs.length > 0) throw err;
    }
    const body = (req.body ?? {}) as { files?: { path?: string; size?: number; sample?: string }[]; gitAttributes?: string; gitIgnore?: string };
    if (!Array.isArray(body.files)) throw invalid('BadRequest', 'files must be an array');
    if (body.files.length > MAX_PATHS) throw invalid('BadRequest', `preupload takes at most ${MAX_PATHS} files`);
    const readAt = (p: string) => {
      if (!head) return '';
      const e = entryAt(objects, head, p);
      return e && e.mode !== '40000' && objects.size(e.oid) <= PATTERN_FILE_MAX_BYTES ? objects.read(e.oid).data.toString('utf8') : '';
    };
    const patterns = lfsPatterns(`${readAt('.gitattributes')}\n${typeof body.gitAttributes === 'string' ? body.gitAttributes : ''}`);
    const ignore = `${readAt('.gitignore')}\n${typeof body.gitIgnore === 'string' ? body.gitIgnore : ''}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .flatMap((l) => [l.replace(/\/$/, ''), `${l.replace(/\/$/, '')}/**`]);
    // Matching costs files x patterns: bounded per request, and done in slices so other requests run.
    const allPatterns = [...patterns.map((x) => x.pattern), ...ignore];
    let work = 0;
    let slice = 0;
    const files: { path: string; uploadMode: string; shouldIgnore: boolean; oid: string | null }[] = [];
    for (const f of body.files) {
      const path = normalizeRepoPath(String(f?.path ?? ''));
      const cost = allPatterns.reduce((sum, pat) => sum + matchCost(pat, path), 0);
      work += cost;
      slice += cost;
      if (work > PREUPLOAD_MATCH_BUDGET) throw invalid('BadRequest', 'too many files and patterns in one preupload request: send fewer files per request');
      if (slice > 1_000_000) {
        slice = 0;
        await yieldToEventLoop();
      }
      const size = Number(f.size ?? 0);
      const lfs = size > 0 && (size >= deps.lfsThreshold || isLfsPath(patterns, path));
      let oid: string | null = null;
      if (head) {
        const e = entryAt(objects, head, path);
        if (e && e.mode !== '40000') {
          const d = describeEntry(objects, path, e);
          oid = lfs ? (d.lfs?.oid ?? null) : d.lfs ? null : d.oid;
        }
      }
      const shouldIgnore = ignore.some((pat) => globMatch(pat, path));
      files.push({ path, uploadMode: lfs ? 'lfs' : 'regular', shouldIgnore, oid });
    }
    res.json({ files, commitOid: head });
  }

  async function commit(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const { rev } = splitRevPath(rest);
    const p = principalOf(res)!;
    const createPr = truthy((req.query as Record<string, unknown>).create_pr);
    const refs = await deps.store.refs(repo.id);
    const objects = await deps.store.objects(repo.id);
    // Commits move branches, and an existing pull request's refs/pr/N (the clients add to a pull request
    // so); tags and other refs never. A pull request is opened only with create_pr=1.
    if (!createPr && rev.startsWith('refs/') && !rev.startsWith('refs/heads/') && !/^refs\/pr\/[1-9]\d*$/.test(rev)) {
      throw invalid('BadRequest', `${rev} is not a branch: commits go to branches or to an open pull request's refs/pr/N (create_pr=1 opens one)`);
    }
    let ref = rev.startsWith('refs/') ? rev : `refs/heads/${rev}`;
    const exists = refs.some((r) => r.name === ref);
    if (!exists && !(refs.length === 0 && ref === `refs/heads/${repo.defaultBranch}`) && !createPr) {
      // Committing to a commit id or tag is not possible; a missing branch is a missing revision.
      throw revisionNotFound(rev);
    }
    const changes: CommitChange[] = [];
    const lfsAdds: string[] = [];
    let quotaLeft = await deps.quotas.remaining(repo);
    type Header = { summary?: string; description?: string; parentCommit?: string };
    let header = null as Header | null;
    const limits = deps.commitLimits;
    let operations = 0;
    for await (const line of ndjsonLines(decodedBody(req, limits.maxBytes, 'the commit payload'), limits.maxLineBytes)) {
      const { key, value } = (line ?? {}) as { key?: string; value?: Record<string, unknown> };
      if (!value || typeof value !== 'object') throw invalid('BadRequest', `commit line '${key}' has no value`);
      if (key === 'header') {
        header = value as Header;
        continue;
      }
      if (!header) throw invalid('BadRequest', 'the first line of a commit must be its header');
      if (++operations > limits.maxOperations) throw new AppError('too_large', 'PayloadTooLarge', `a commit holds at most ${limits.maxOperations} operations`);
      const path = normalizeRepoPath(String(value.path ?? ''));
      if (key === 'file') {
        const content = Buffer.from(String(value.content ?? ''), value.encoding === 'base64' ? 'base64' : 'utf8');
        if (content.length > quotaLeft) throw deps.quotas.exceeded(repo, content.length, quotaLeft);
        quotaLeft -= content.length;
        if (content.length >= deps.lfsThreshold) {
          // Large inline files go to LFS and are committed as pointers.
          const crypto = await import('node:crypto');
          const { Readable } = await import('node:stream');
          const oid = crypto.createHash('sha256').update(content).digest('hex');
          if ((await deps.lfs.objectSize(oid)) !== content.length) {
            await deps.content.receive(oid, content.length, Readable.from([content]));
            await deps.lfs.recordObject(oid, content.length);
          }
          await deps.lfs.link(repo.id, oid);
          changes.push({ kind: 'put', path, content: formatPointer({ oid, size: content.length }) });
          lfsAdds.push(path);
        } else changes.push({ kind: 'put', path, content });
      } else if (key === 'lfsFile') {
        const oid = String(value.oid ?? '');
        if (!isValidOid(oid)) throw invalid('BadRequest', `invalid LFS oid for ${path}`);
        const size = await deps.verifyUploaded(repo, p, oid, typeof value.size === 'number' ? value.size : null);
        changes.push({ kind: 'put', path, content: formatPointer({ oid, size }) });
        lfsAdds.push(path);
      } else if (key === 'deletedFile') {
        const e = entryAt(objects, await headOf(), path);
        if (!e) throw notFound('EntryNotFound', `A file with this name doesn't exist: ${path}`);
        changes.push({ kind: e.mode === '40000' ? 'deleteFolder' : 'delete', path });
      } else if (key === 'deletedFolder') {
        changes.push({ kind: 'deleteFolder', path });
      } else if (key === 'copyFile') {
        const from = normalizeRepoPath(String(value.srcPath ?? value.from ?? ''));
        changes.push({ kind: 'copy', from, to: normalizeRepoPath(String(value.destPath ?? value.path ?? '')) });
      } else {
        throw invalid('BadRequest', `unknown commit operation '${key}'`);
      }
    }
    if (!header || typeof header.summary !== 'string') throw invalid('BadRequest', 'the commit header needs a summary');

    async function headOf(): Promise<string> {
      const r = refs.find((x) => x.name === ref);
      if (r) return r.oid;
      const base = refs.find((x) => x.name === (rev.startsWith('refs/') ? rev : `refs/heads/${rev}`));
      if (base) return base.oid;
      throw revisionNotFound(rev);
    }

    let startFrom: string | null | undefined;
    let prNum: number | null = null;
    if (createPr) {
      const nums = refs.filter((r) => r.name.startsWith('refs/pr/')).map((r) => Number(r.name.slice(8)));
      prNum = (nums.length ? Math.max(...nums) : 0) + 1;
      startFrom = header.parentCommit ?? resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
      ref = `refs/pr/${prNum}`;
    }
    // Track paths committed as LFS pointers in .gitattributes, as the Hub does.
    const current = exists ? await headOf() : startFrom ?? null;
    const attrsEntry = current ? entryAt(objects, current, '.gitattributes') : null;
    const attrsText = attrsEntry ? objects.read(attrsEntry.oid).data.toString('utf8') : '';
    const patterns = lfsPatterns(attrsText);
    const untracked = lfsAdds.filter((path) => !isLfsPath(patterns, path));
    if (untracked.length && !changes.some((c) => c.kind === 'put' && c.path === '.gitattributes')) {
      const add = untracked.map((path) => `${path.replace(/ /g, '[[:space:]]')} filter=lfs diff=lfs merge=lfs -text\n`).join('');
      changes.push({ kind: 'put', path: '.gitattributes', content: Buffer.from(`${attrsText}${attrsText && !attrsText.endsWith('\n') ? '\n' : ''}${add}`) });
    }
    const message = header.description ? `${header.summary}\n\n${header.description}` : header.summary;
    const result = await deps.commits.commit(repo, {
      ref,
      changes,
      message,
      author: author(p),
      expectedHead: !createPr ? header.parentCommit : undefined,
      startFrom,
      allowEmpty: true,
    });
    const url = repoUrl(req, repo);
    res.json({
      success: true,
      commitOid: result.commitOid,
      commitUrl: `${url}/commit/${result.commitOid}`,
      hookOutput: '',
      ...(prNum ? { pullRequestUrl: `${url}/discussions/${prNum}` } : {}),
    });
  }

  async function commits(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const { rev } = splitRevPath(rest);
    const { oid, objects } = await resolveAt(repo, rev);
    // git log order: newest first by committer date, each commit once.
    const seen = new Set<string>([oid]);
    const queue = [{ oid, c: objects.commit(oid) }];
    const ordered: { oid: string; c: ReturnType<RepoObjects['commit']> }[] = [];
    while (queue.length) {
      // A long history is read in slices, letting other requests run in between.
      if (ordered.length % 256 === 255) await yieldToEventLoop();
      queue.sort((a, b) => b.c.committer.timestamp - a.c.committer.timestamp);
      const cur = queue.shift()!;
      ordered.push(cur);
      for (const p of cur.c.parents) {
        if (!seen.has(p) && objects.has(p)) {
          seen.add(p);
          queue.push({ oid: p, c: objects.commit(p) });
        }
      }
    }
    const q = req.query as Record<string, unknown>;
    const limit = Math.min(Math.max(Number(q.limit) || 50, 1), 1000);
    const page = Math.max(Number(q.p) || 0, 0);
    const slice = ordered.slice(page * limit, page * limit + limit);
    res.setHeader('X-Total-Count', String(ordered.length));
    if ((page + 1) * limit < ordered.length) {
      const next = new URL(`${base(req)}${req.originalUrl}`);
      next.searchParams.set('p', String(page + 1));
      res.setHeader('Link', `<${next.toString()}>; rel="next"`);
    }
    const formatted = listParam(req, 'expand').includes('formatted');
    res.json(
      slice.map(({ oid: id, c }) => {
        const [title = '', ...body] = c.message.replace(/\n$/, '').split('\n');
        const message = body.join('\n').replace(/^\n+/, '');
        return {
          id,
          title,
          message,
          authors: [{ user: c.author.name, avatar: null }],
          date: iso(new Date(c.committer.timestamp * 1000)),
          ...(formatted ? { formatted: { title: escapeHtml(title), message: escapeHtml(message) } } : {}),
        };
      }),
    );
  }

  async function refsList(req: Request, res: Response, repo: RepoRecord) {
    const refs = await deps.store.refs(repo.id);
    const pick = (prefix: string) =>
      refs.filter((r) => r.name.startsWith(prefix)).map((r) => ({ name: r.name.slice(prefix.length), ref: r.name, targetCommit: r.peeled ?? r.oid }));
    res.json({
      branches: pick('refs/heads/'),
      converts: pick('refs/convert/'),
      tags: pick('refs/tags/'),
      ...(truthy((req.query as Record<string, unknown>).include_prs) ? { pullRequests: pick('refs/pr/') } : {}),
    });
  }

  async function branch(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const name = rest.map((s) => decodeURIComponent(s)).join('/');
    const ref = `refs/heads/${name}`;
    if (!isValidRefName(ref) || shadowsGit(name)) throw invalid('BadRequest', `Invalid branch name: ${name}`);
    const refs = await deps.store.refs(repo.id);
    const existing = refs.find((r) => r.name === ref);
    if (req.method === 'DELETE') {
      if (name === repo.defaultBranch) throw new AppError('forbidden', 'Forbidden', `Cannot delete refs/heads/${name}`);
      if (!existing) throw revisionNotFound(name);
      const [r] = await deps.store.commit(repo.id, null, [{ name: ref, oldOid: existing.oid, newOid: null }], true);
      if (!r!.ok) throw new AppError('conflict', 'ConcurrentUpdate', r!.reason);
      res.json({ deleted: ref });
      return;
    }
    const body = (req.body ?? {}) as { startingPoint?: string; overwrite?: boolean; emptyBranch?: boolean };
    if (existing && !body.overwrite) throw new AppError('conflict', 'RefExists', `Reference ${ref} already exists`);
    const objects = await deps.store.objects(repo.id);
    const target = resolveRevision(refs, objects, body.startingPoint ?? 'HEAD', repo.defaultBranch).oid;
    const [r] = await deps.store.commit(repo.id, null, [{ name: ref, oldOid: existing?.oid ?? null, newOid: target }], true);
    if (!r!.ok) throw new AppError('conflict', 'RefExists', `Reference ${ref} could not be created: ${r!.reason}`);
    res.json({ ref, targetCommit: target });
  }

  async function tag(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const refs = await deps.store.refs(repo.id);
    if (req.method === 'DELETE') {
      const name = rest.map((s) => decodeURIComponent(s)).join('/');
      if (!isValidRefName(`refs/tags/${name}`) || shadowsGit(name)) throw invalid('BadRequest', `Invalid tag name: '${name}'`);
      const existing = refs.find((r) => r.name === `refs/tags/${name}`);
      if (!existing) throw revisionNotFound(name);
      const [r] = await deps.store.commit(repo.id, null, [{ name: existing.name, oldOid: existing.oid, newOid: null }], true);
      if (!r!.ok) throw new AppError('conflict', 'ConcurrentUpdate', r!.reason);
      res.json({ deleted: existing.name });
      return;
    }
    const { rev } = splitRevPath(rest);
    const body = (req.body ?? {}) as { tag?: string; message?: string };
    const name = String(body.tag ?? '');
    const ref = `refs/tags/${name}`;
    if (!name || !isValidRefName(ref) || shadowsGit(name)) throw invalid('BadRequest', `Invalid tag name: '${name}'`);
    if (refs.some((r) => r.name === ref)) throw new AppError('conflict', 'RefExists', `Tag ${name} already exists`);
    const objects = await deps.store.objects(repo.id);
    const target = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
    const p = principalOf(res)!;
    let oid = target;
    const toStore = [];
    if (body.message) {
      const data = serializeTag({
        object: target,
        type: 'commit',
        tag: name,
        tagger: { ...author(p), timestamp: Math.floor(Date.now() / 1000), timezone: '+0000' },
        message: body.message.endsWith('\n') ? body.message : `${body.message}\n`,
      });
      oid = hashObject('tag', data);
      toStore.push({ type: 'tag' as const, data });
    }
    const [r] = await deps.commits.writeObjects(repo, toStore, [{ name: ref, oldOid: null, newOid: oid, peeled: oid === target ? null : target }]);
    if (!r!.ok) throw new AppError('conflict', 'RefExists', `Tag ${name} could not be created: ${r!.reason}`);
    res.json({ ref, targetCommit: target });
  }

  /** Replace a branch's history with one commit holding its current tree. */
  async function superSquash(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const branchName = rest.map((x) => decodeURIComponent(x)).join('/') || repo.defaultBranch;
    const ref = `refs/heads/${branchName}`;
    const refs = await deps.store.refs(repo.id);
    const current = refs.find((r) => r.name === ref);
    if (!current) throw revisionNotFound(branchName);
    const objects = await deps.store.objects(repo.id);
    const tree = objects.commit(current.oid).tree;
    const p = principalOf(res)!;
    const ident = { ...author(p), timestamp: Math.floor(Date.now() / 1000), timezone: '+0000' };
    const message = String((req.body as { message?: string } | undefined)?.message ?? 'Super-squash branch');
    const data = serializeCommit({ tree, parents: [], author: ident, committer: ident, message: message.endsWith('\n') ? message : `${message}\n` });
    const oid = hashObject('commit', data);
    const [r] = await deps.commits.writeObjects(repo, [{ type: 'commit', data }], [{ name: ref, oldOid: current.oid, newOid: oid }]);
    if (!r!.ok) throw new AppError('precondition', 'ParentCommitMismatch', 'The branch was updated since you opened this page. Please refresh and try again.');
    res.json({ commitId: oid });
  }

  /**
   * `commit-diff/<rev>` (packhub's, for the web UI): a commit and what it changed against its first
   * parent, with a unified diff for text files (binary, LFS and large files by id and size only).
   */
  async function commitDiff(res: Response, repo: RepoRecord, rest: string[]) {
    const rev = rest.map((x) => decodeURIComponent(x)).join('/');
    const refs = await deps.store.refs(repo.id);
    const objects = await deps.store.objects(repo.id);
    const oid = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
    const c = objects.commit(oid);
    const parent = c.parents[0] && objects.has(c.parents[0]) ? c.parents[0] : null;
    const side = (blob: string | null) => {
      if (!blob) return null;
      const size = objects.size(blob);
      if (size > DIFF_MAX_BYTES) return { oid: blob, size, text: null };
      const data = objects.read(blob).data;
      const pointer = size < 1024 ? parsePointer(data) : null;
      const binary = !!pointer || data.subarray(0, 8000).includes(0);
      return { oid: blob, size, lfs: pointer ? { oid: pointer.oid, size: pointer.size } : undefined, text: binary ? null : data.toString('utf8') };
    };
    // Diffing is bounded in time (per file and in all), and other requests run between files.
    const deadline = Date.now() + DIFF_TOTAL_MS;
    const files = [];
    for (const f of diffTrees(objects, parent ? objects.commit(parent).tree : null, c.tree, '', [], 300)) {
      await yieldToEventLoop();
      const a = side(f.oldOid);
      const b = side(f.newOid);
      const textual = (a === null || a.text !== null) && (b === null || b.text !== null);
      const timeout = Math.min(DIFF_FILE_MS, deadline - Date.now());
      const patch = textual && timeout > 0 ? createTwoFilesPatch(`a/${f.path}`, `b/${f.path}`, a?.text ?? '', b?.text ?? '', undefined, undefined, { context: 3, timeout }) : undefined;
      files.push({
        path: f.path,
        status: f.status,
        old: a && { oid: a.oid, size: a.size, lfs: a.lfs },
        new: b && { oid: b.oid, size: b.size, lfs: b.lfs },
        diff: patch ? patch.split('\n').slice(2).join('\n') : null,
      });
    }
    res.json({ id: oid, parents: c.parents, title: c.message.split('\n')[0], message: c.message, author: c.author.name, date: new Date(c.author.timestamp * 1000).toISOString(), files });
  }

  /** `compare/<base>..<head>`: the files that differ, as JSON. */
  async function compare(req: Request, res: Response, repo: RepoRecord, rest: string[]) {
    const spec = rest.map((x) => decodeURIComponent(x)).join('/');
    const m = /^(.+?)\.\.(.+)$/.exec(spec);
    if (!m) throw invalid('BadRequest', 'compare needs <base>..<head>');
    const refs = await deps.store.refs(repo.id);
    const objects = await deps.store.objects(repo.id);
    const a = resolveRevision(refs, objects, m[1]!, repo.defaultBranch).oid;
    const b = resolveRevision(refs, objects, m[2]!, repo.defaultBranch).oid;
    // At most COMPARE_MAX_FILES (the walk stops there); `truncated` says there are more.
    const files = diffTrees(objects, objects.commit(a).tree, objects.commit(b).tree, '', [], COMPARE_MAX_FILES + 1);
    res.json({ base: a, head: b, files: files.slice(0, COMPARE_MAX_FILES), ...(files.length > COMPARE_MAX_FILES ? { truncated: true } : {}) });
  }

  async function settings(req: Request, res: Response, repo: RepoRecord) {
    const body = (req.body ?? {}) as { private?: boolean; visibility?: string };
    const patch: { private?: boolean } = {};
    if (typeof body.private === 'boolean') patch.private = body.private;
    if (body.visibility === 'private' || body.visibility === 'public') patch.private = body.visibility === 'private';
    const updated = Object.keys(patch).length ? await deps.db.repos.update(repo.id, patch) : repo;
    res.json({ private: updated.private, gated: false });
  }

  // ---- downloads -------------------------------------------------------------------------------
  for (const [prefix, type] of [['', 'model'], ['/datasets', 'dataset'], ['/spaces', 'space']] as [string, RepoType][]) {
    for (const kind of ['resolve', 'raw'] as const) {
      router.get(`${prefix}/:ns/:name/${kind}/*rest`, (req, res) => download(req, res, type, kind, prefix ? 4 : 3));
      router.head(`${prefix}/:ns/:name/${kind}/*rest`, (req, res) => download(req, res, type, kind, prefix ? 4 : 3));
    }
  }

  async function download(req: Request, res: Response, type: RepoType, kind: 'resolve' | 'raw', skip: number) {
    res.locals.surface = 'hf';
    const repo = await loadRepo(res, type, String(req.params.ns), String(req.params.name), 'read');
    const { rev, path } = splitRevPath(rawTail(req, skip));
    const { oid: commitOid, objects } = await resolveAt(repo, rev);
    res.setHeader('X-Repo-Commit', commitOid);
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox").setHeader('X-Content-Type-Options', 'nosniff'); // user content: never run in the hub's origin
    const clean = path.replace(/^\/+/, '');
    const e = clean ? entryAt(objects, commitOid, clean) : null;
    if (!e || e.mode === '40000' || e.mode === '160000') throw notFound('EntryNotFound', 'Entry not found');
    // Large files stream from the pack when stored whole (never held in memory); LFS pointers are small.
    const size = objects.size(e.oid);
    // A delta is resolved into a cached file and streamed from there (deps.store.streamBlob): never held whole either.
    const streamed = size >= 1 << 20 ? await deps.store.streamBlob(objects, e.oid) : null;
    const blob = streamed ? null : objects.read(e.oid).data;
    const pointer = kind === 'resolve' && blob && blob.length < 1024 ? parsePointer(blob) : null;
    res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(clean.split('/').pop()!)}`);
    if (pointer) {
      res.setHeader('X-Linked-Etag', `"${pointer.oid}"`);
      res.setHeader('X-Linked-Size', String(pointer.size));
      const linked = await deps.lfs.linked(repo.id, [pointer.oid]);
      if (!linked.has(pointer.oid)) throw notFound('EntryNotFound', `the LFS object of ${clean} is not stored on this hub`);
      if (deps.content.blobs.presignGet) {
        res.setHeader('ETag', `"${pointer.oid}"`);
        res.redirect(302, await deps.content.blobs.presignGet(`lfs/${pointer.oid.slice(0, 2)}/${pointer.oid.slice(2, 4)}/${pointer.oid}`, 3600));
        return;
      }
      await serveObject(deps.content, req, res, pointer.oid, pointer.size);
      return;
    }
    res.setHeader('ETag', `"${e.oid}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    res.type('application/octet-stream');
    const range = size === 0 ? null : parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.status(416).setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    if (range) res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : size));
    if (req.method === 'HEAD') res.end();
    else if (blob) res.end(range ? blob.subarray(range.start, range.end + 1) : blob);
    else await pipeline(streamed!.stream(), byteRange(range), res);
  }

  return router;
}

/** Files larger than this are listed in a commit's diff by size only. */
const DIFF_MAX_BYTES = 256 << 10;
/** Time one file's diff may take, and all of a commit's (a diff that runs out is sent as null). */
const DIFF_FILE_MS = 250;
/** Files one compare answer lists. */
const COMPARE_MAX_FILES = 10_000;
const DIFF_TOTAL_MS = 2000;
/** Bodies of repo create/delete/move and the like; of per-repo JSON and form requests (paths-info, preupload). */
const SMALL_BODY_BYTES = 1 << 20;
const REPO_BODY_BYTES = 8 << 20;
/** Paths one paths-info request may name; files one preupload request may name. */
const MAX_PATHS = 10_000;
/** Entries per page of an expanded tree listing (the Hub's page size for expand=true). */
const EXPANDED_PAGE = 50;
/** .gitattributes and .gitignore files larger than this are not read for patterns. */
const PATTERN_FILE_MAX_BYTES = 1 << 20;
/** Pattern-matching steps one preupload request may take (a few hundred ms of CPU at most). */
const PREUPLOAD_MATCH_BUDGET = 200_000_000;

/** Passes through bytes [start, end] of a stream (all of them without a range). */
function byteRange(range: { start: number; end: number } | null): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const from = pos;
      pos += chunk.length;
      if (!range) return cb(null, chunk);
      const a = Math.max(range.start - from, 0);
      const b = Math.min(range.end + 1 - from, chunk.length);
      cb(null, a < b ? chunk.subarray(a, b) : undefined);
    },
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Branch and tag names git's own commands refuse: HEAD (it would shadow HEAD) and any part starting with '-' (an option). */
const shadowsGit = (name: string) => name === 'HEAD' || name.split('/').some((part) => part.startsWith('-'));
