import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createTwoFilesPatch } from 'diff';
import type { Request, Response } from 'express';
import { AppError, invalid } from '../../core/errors.js';
import type { RepoRecord } from '../../db/db.js';
import { serializeCommit } from '../../git/objects/commit.js';
import { hashObject } from '../../git/objects/hash.js';
import { serializeTag } from '../../git/objects/tag.js';
import type { RepoObjects } from '../../git/store/repo-objects.js';
import { isValidRefName } from '../../git/refname.js';
import { principalOf } from '../../http/repo-route.js';
import { parsePointer } from '../../lfs/pointer.js';
import { resolveRevision, revisionNotFound, shownCommit } from '../../repos/revisions.js';
import { iso } from '../repo-json.js';
import { diffTrees } from '../tree.js';
import { listParam, splitRevPath, truthy, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

/** Files larger than this are listed in a commit's diff by size only. */
const DIFF_MAX_BYTES = 256 << 10;
/** Time one file's diff may take, and all of a commit's (a diff that runs out is sent as null). */
const DIFF_FILE_MS = 250;
const DIFF_TOTAL_MS = 2000;
/** Files one compare answer lists. */
const COMPARE_MAX_FILES = 10_000;

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Branch and tag names git's own commands refuse: HEAD (it would shadow HEAD) and any part starting with '-' (an option). */
const shadowsGit = (name: string) => name === 'HEAD' || name.split('/').some((part) => part.startsWith('-'));

/**
 * Refs and history: `commits/{rev}`, `refs`, `branch/{name}` (create, delete), `tag/{rev}` (create) and
 * `tag/{name}` (delete), `super-squash/{branch}`, and packhub's `compare/{a}..{b}` and `commit-diff/{rev}`.
 */
export function refsRoutes(ctx: HfContext, api: RepoApi): void {
  api.route('get', 'commits', 'read', (req, res, repo, rest) => commits(ctx, req, res, repo, rest));
  api.route('get', 'refs', 'read', (req, res, repo) => refsList(ctx, req, res, repo));
  api.route(['post', 'delete'], 'branch', 'write', (req, res, repo, rest) => branch(ctx, req, res, repo, rest), { body: true });
  api.route(['post', 'delete'], 'tag', 'write', (req, res, repo, rest) => tag(ctx, req, res, repo, rest), { body: true });
  api.route('post', 'super-squash', 'write', (req, res, repo, rest) => superSquash(ctx, req, res, repo, rest), { body: true });
  api.route('get', 'compare', 'read', (_req, res, repo, rest) => compare(ctx, res, repo, rest));
  // A diff shows file content: gated like resolve (compare lists paths only, metadata as the tree).
  api.route('get', 'commit-diff', 'read', async (req, res, repo, rest) => {
    await ctx.assertContent(req, res, repo);
    await commitDiff(ctx, res, repo, rest);
  });
}

async function commits(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { rev } = splitRevPath(rest);
  const { oid, objects } = await ctx.resolveAt(repo, rev);
  const ids = (await ctx.deps.mirror?.commitIds?.(repo)) ?? null;
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
  if ((page + 1) * limit < ordered.length) ctx.linkNext(req, res, 'p', page + 1);
  const formatted = listParam(req, 'expand').includes('formatted');
  res.json(
    slice.map(({ oid: id, c }) => {
      const [title = '', ...body] = c.message.replace(/\n$/, '').split('\n');
      const message = body.join('\n').replace(/^\n+/, '');
      return {
        id: shownCommit(ids, id),
        title,
        message,
        authors: [{ user: c.author.name, avatar: null }],
        date: iso(new Date(c.committer.timestamp * 1000)),
        ...(formatted ? { formatted: { title: escapeHtml(title), message: escapeHtml(message) } } : {}),
      };
    }),
  );
}

async function refsList(ctx: HfContext, req: Request, res: Response, repo: RepoRecord): Promise<void> {
  const [refs, ids] = await Promise.all([ctx.deps.store.refs(repo.id), ctx.deps.mirror?.commitIds?.(repo) ?? null]);
  // A REST-synced mirror's refs name its synthetic commits: shown by their upstream ids, as `sha` is.
  const pick = (prefix: string) =>
    refs.filter((r) => r.name.startsWith(prefix)).map((r) => ({ name: r.name.slice(prefix.length), ref: r.name, targetCommit: shownCommit(ids, r.peeled ?? r.oid) }));
  res.json({
    branches: pick('refs/heads/'),
    converts: pick('refs/convert/'),
    tags: pick('refs/tags/'),
    ...(truthy((req.query as Record<string, unknown>).include_prs) ? { pullRequests: pick('refs/pr/') } : {}),
  });
}

async function branch(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { store } = ctx.deps;
  const name = rest.map((s) => decodeURIComponent(s)).join('/');
  const ref = `refs/heads/${name}`;
  if (!isValidRefName(ref) || shadowsGit(name)) throw invalid('BadRequest', `Invalid branch name: ${name}`);
  const refs = await store.refs(repo.id);
  const existing = refs.find((r) => r.name === ref);
  if (req.method === 'DELETE') {
    if (name === repo.defaultBranch) throw new AppError('forbidden', 'Forbidden', `Cannot delete refs/heads/${name}`);
    if (!existing) throw revisionNotFound(name);
    const [r] = await store.commit(repo.id, null, [{ name: ref, oldOid: existing.oid, newOid: null }], true);
    if (!r!.ok) throw new AppError('conflict', 'ConcurrentUpdate', r!.reason);
    res.json({ deleted: ref });
    return;
  }
  const body = (req.body ?? {}) as { startingPoint?: string; overwrite?: boolean; emptyBranch?: boolean };
  if (existing && !body.overwrite) throw new AppError('conflict', 'RefExists', `Reference ${ref} already exists`);
  const objects = await store.objects(repo.id);
  const target = resolveRevision(refs, objects, body.startingPoint ?? 'HEAD', repo.defaultBranch).oid;
  const [r] = await store.commit(repo.id, null, [{ name: ref, oldOid: existing?.oid ?? null, newOid: target }], true);
  if (!r!.ok) throw new AppError('conflict', 'RefExists', `Reference ${ref} could not be created: ${r!.reason}`);
  res.json({ ref, targetCommit: target });
}

async function tag(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { store, commits: commitService } = ctx.deps;
  const refs = await store.refs(repo.id);
  if (req.method === 'DELETE') {
    const name = rest.map((s) => decodeURIComponent(s)).join('/');
    if (!isValidRefName(`refs/tags/${name}`) || shadowsGit(name)) throw invalid('BadRequest', `Invalid tag name: '${name}'`);
    const existing = refs.find((r) => r.name === `refs/tags/${name}`);
    if (!existing) throw revisionNotFound(name);
    const [r] = await store.commit(repo.id, null, [{ name: existing.name, oldOid: existing.oid, newOid: null }], true);
    if (!r!.ok) throw new AppError('conflict', 'ConcurrentUpdate', r!.reason);
    res.json({ deleted: existing.name });
    return;
  }
  const { rev } = splitRevPath(rest);
  const body = (req.body ?? {}) as { tag?: string; message?: string };
  const name = String(body.tag ?? '');
  const ref = `refs/tags/${name}`;
  // As the Hub checks: the revision first (404 RevisionNotFound), then the name (400), then existence (409).
  const objects = await store.objects(repo.id);
  const target = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
  if (!name || !isValidRefName(ref) || shadowsGit(name)) throw invalid('BadRequest', `Invalid tag name: '${name}'`);
  if (refs.some((r) => r.name === ref)) throw new AppError('conflict', 'RefExists', `Tag ${name} already exists`);
  const p = principalOf(res)!;
  let oid = target;
  const toStore = [];
  if (body.message) {
    const data = serializeTag({
      object: target,
      type: 'commit',
      tag: name,
      tagger: { ...ctx.author(p), timestamp: Math.floor(Date.now() / 1000), timezone: '+0000' },
      message: body.message.endsWith('\n') ? body.message : `${body.message}\n`,
    });
    oid = hashObject('tag', data);
    toStore.push({ type: 'tag' as const, data });
  }
  const [r] = await commitService.writeObjects(repo, toStore, [{ name: ref, oldOid: null, newOid: oid, peeled: oid === target ? null : target }]);
  if (!r!.ok) throw new AppError('conflict', 'RefExists', `Tag ${name} could not be created: ${r!.reason}`);
  res.json({ ref, targetCommit: target });
}

/** Replace a branch's history with one commit holding its current tree. */
async function superSquash(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { store, commits: commitService } = ctx.deps;
  const branchName = rest.map((x) => decodeURIComponent(x)).join('/') || repo.defaultBranch;
  const ref = `refs/heads/${branchName}`;
  const refs = await store.refs(repo.id);
  const current = refs.find((r) => r.name === ref);
  if (!current) throw revisionNotFound(branchName);
  const objects = await store.objects(repo.id);
  const tree = objects.commit(current.oid).tree;
  const p = principalOf(res)!;
  const ident = { ...ctx.author(p), timestamp: Math.floor(Date.now() / 1000), timezone: '+0000' };
  const message = String((req.body as { message?: string } | undefined)?.message ?? 'Super-squash branch');
  const data = serializeCommit({ tree, parents: [], author: ident, committer: ident, message: message.endsWith('\n') ? message : `${message}\n` });
  const oid = hashObject('commit', data);
  const [r] = await commitService.writeObjects(repo, [{ type: 'commit', data }], [{ name: ref, oldOid: current.oid, newOid: oid }]);
  if (!r!.ok) throw new AppError('precondition', 'ParentCommitMismatch', 'The branch was updated since you opened this page. Please refresh and try again.');
  res.json({ commitId: oid });
}

/**
 * `commit-diff/<rev>` (packhub's, for the web UI): a commit and what it changed against its first
 * parent, with a unified diff for text files (binary, LFS and large files by id and size only).
 */
async function commitDiff(ctx: HfContext, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const rev = rest.map((x) => decodeURIComponent(x)).join('/');
  const refs = await ctx.deps.store.refs(repo.id);
  const objects = await ctx.deps.store.objects(repo.id);
  // A REST-synced mirror: upstream ids in and out, as everywhere else in the API.
  const ids = (await ctx.deps.mirror?.commitIds?.(repo)) ?? null;
  const oid = resolveRevision(refs, objects, rev, repo.defaultBranch, ids).oid;
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
  res.json({ id: shownCommit(ids, oid), parents: c.parents.map((p) => shownCommit(ids, p)), title: c.message.split('\n')[0], message: c.message, author: c.author.name, date: new Date(c.author.timestamp * 1000).toISOString(), files });
}

/** `compare/<base>..<head>`: the files that differ, as JSON. */
async function compare(ctx: HfContext, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const spec = rest.map((x) => decodeURIComponent(x)).join('/');
  const m = /^(.+?)\.\.(.+)$/.exec(spec);
  if (!m) throw invalid('BadRequest', 'compare needs <base>..<head>');
  const refs = await ctx.deps.store.refs(repo.id);
  const objects = await ctx.deps.store.objects(repo.id);
  const ids = (await ctx.deps.mirror?.commitIds?.(repo)) ?? null;
  const a = resolveRevision(refs, objects, m[1]!, repo.defaultBranch, ids).oid;
  const b = resolveRevision(refs, objects, m[2]!, repo.defaultBranch, ids).oid;
  // At most COMPARE_MAX_FILES (the walk stops there); `truncated` says there are more.
  const files = diffTrees(objects, objects.commit(a).tree, objects.commit(b).tree, '', [], COMPARE_MAX_FILES + 1);
  res.json({ base: shownCommit(ids, a), head: shownCommit(ids, b), files: files.slice(0, COMPARE_MAX_FILES), ...(files.length > COMPARE_MAX_FILES ? { truncated: true } : {}) });
}
