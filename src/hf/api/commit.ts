import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Request, Response } from 'express';
import { AppError, invalid, notFound } from '../../core/errors.js';
import { normalizeRepoPath } from '../../core/paths.js';
import type { RepoRecord } from '../../db/db.js';
import { decodedBody } from '../../http/body.js';
import { principalOf } from '../../http/repo-route.js';
import { formatPointer, isValidOid } from '../../lfs/pointer.js';
import type { CommitChange } from '../../repos/commit-service.js';
import { resolveRevision, revisionNotFound } from '../../repos/revisions.js';
import { metadataRefusal, README_MAX_BYTES, validateReadme } from '../../repos/readme-metadata.js';
import { globMatch, isLfsPath, lfsPatterns, matchCost } from '../gitattributes.js';
import { ndjsonLines } from '../ndjson.js';
import type { RepoObjects } from '../../git/store/repo-objects.js';
import { describeEntry, entryAt, findEntry, type PathEntry } from '../tree.js';
import { MAX_PATHS, splitRevPath, truthy, type HfContext } from './context.js';
import type { RepoApi } from './repo-routes.js';

const PR_REF = /^refs\/pr\/([1-9]\d{0,9})$/;

/** .gitattributes and .gitignore files larger than this are not read for patterns. */
const PATTERN_FILE_MAX_BYTES = 1 << 20;
/** Pattern-matching steps one preupload request may take (a few hundred ms of CPU at most). */
const PREUPLOAD_MATCH_BUDGET = 200_000_000;

/** `POST /api/{t}/{R}/preupload/{rev}` (which files go to LFS) and `POST …/commit/{rev}` (NDJSON commits, `create_pr`). */
export function commitRoutes(ctx: HfContext, api: RepoApi): void {
  api.route('post', 'preupload', 'read', (req, res, repo, rest) => preupload(ctx, req, res, repo, rest), { body: true });
  // A commit to a branch needs write access; opening a pull request or adding to one, read access
  // here and the rest in commit().
  const forPullRequest = (rest: string[], req: Request) => truthy((req.query as Record<string, unknown>).create_pr) || (rest.length > 0 && PR_REF.test(splitRevPath(rest).rev));
  api.route('post', 'commit', (rest, req) => (forPullRequest(rest, req) ? 'read' : 'write'), (req, res, repo, rest) => commit(ctx, req, res, repo, rest));
}

async function preupload(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { deps } = ctx;
  const { rev } = splitRevPath(rest);
  // As of the repository's row read for this request (the JS client asks once per 100 files).
  const { refs, objects } = await deps.store.snapshot(repo);
  let head: string | null = null;
  try {
    head = resolveRevision(refs, objects, rev, repo.defaultBranch).oid;
  } catch (err) {
    if (refs.length > 0) throw err;
  }
  const body = (req.body ?? {}) as { files?: { path?: string; size?: number; sample?: string }[]; gitAttributes?: string; gitIgnore?: string };
  if (!Array.isArray(body.files)) throw invalid('BadRequest', 'files must be an array');
  if (body.files.length > MAX_PATHS) throw invalid('BadRequest', `preupload takes at most ${MAX_PATHS} files`);
  const entryOf = head ? entryFinder(objects, head) : () => null;
  const readAt = (p: string) => {
    const e = entryOf(p);
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
  // matchCost is linear in the path's length: its two terms are summed over the patterns once.
  const costFixed = allPatterns.reduce((sum, pat) => sum + matchCost(pat, ''), 0);
  const costPerChar = allPatterns.reduce((sum, pat) => sum + matchCost(pat, 'x'), 0) - costFixed;
  let work = 0;
  let slice = 0;
  const files: { path: string; uploadMode: string; shouldIgnore: boolean; oid: string | null }[] = [];
  for (const f of body.files) {
    const path = normalizeRepoPath(String(f?.path ?? ''));
    const cost = costFixed + costPerChar * path.length;
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
      const e = entryOf(path);
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

/**
 * entryAt for many paths of one commit: the commit is read once and each folder found once (only
 * folders the commit has are remembered, so what is kept is bounded by the repository, not the request).
 */
function entryFinder(objects: RepoObjects, commitOid: string): (path: string) => PathEntry | null {
  const folders = new Map<string, PathEntry>([['', { mode: '40000', oid: objects.commit(commitOid).tree }]]);
  const lookup = (path: string, parent: PathEntry | null): PathEntry | null => {
    const e = parent && parent.mode === '40000' ? findEntry(objects.tree(parent.oid), path.slice(path.lastIndexOf('/') + 1)) : undefined;
    return e ? { mode: e.mode, oid: e.oid } : null;
  };
  const folder = (path: string): PathEntry | null => {
    const known = folders.get(path);
    if (known) return known;
    const e = lookup(path, folder(path.slice(0, Math.max(path.lastIndexOf('/'), 0))));
    if (e) folders.set(path, e);
    return e;
  };
  return (path) => (path ? lookup(path, folder(path.slice(0, Math.max(path.lastIndexOf('/'), 0)))) : folders.get('')!);
}

async function commit(ctx: HfContext, req: Request, res: Response, repo: RepoRecord, rest: string[]): Promise<void> {
  const { deps } = ctx;
  const { rev } = splitRevPath(rest);
  const createPr = truthy((req.query as Record<string, unknown>).create_pr);
  const prTarget = PR_REF.exec(rev);
  // Opening a pull request needs read access only (and a write-scope token); adding to one, its
  // author or a writer; a branch, a writer (checked by the route).
  if (createPr) ctx.community.participant(principalOf(res));
  else if (prTarget) await ctx.community.assertMayCommitToPr(principalOf(res), repo, Number(prTarget[1]));
  if (createPr || prTarget) await ctx.assertNotMirror(repo);
  const p = principalOf(res)!;
  const refs = await deps.store.refs(repo.id);
  const objects = await deps.store.objects(repo.id);
  // Commits move branches, and an existing pull request's refs/pr/N (the clients add to a pull request
  // so); tags and other refs never. A pull request is opened only with create_pr=1.
  if (!createPr && rev.startsWith('refs/') && !rev.startsWith('refs/heads/') && !prTarget) {
    throw invalid('BadRequest', `${rev} is not a branch: commits go to branches or to an open pull request's refs/pr/N (create_pr=1 opens one)`);
  }
  let ref = rev.startsWith('refs/') ? rev : `refs/heads/${rev}`;
  const exists = refs.some((r) => r.name === ref);
  if (!exists && !(refs.length === 0 && ref === `refs/heads/${repo.defaultBranch}`) && !createPr) {
    // Committing to a commit id or tag is not possible; a missing branch is a missing revision.
    throw revisionNotFound(rev);
  }
  // A pull request's base is a branch: a commit id, a tag or a missing branch is a missing revision.
  const prBase = createPr ? (rev.startsWith('refs/heads/') ? rev : `refs/heads/${rev}`) : null;
  const prBaseHead = prBase ? refs.find((r) => r.name === prBase)?.oid : undefined;
  if (prBase && !prBaseHead) throw revisionNotFound(rev);
  const changes: CommitChange[] = [];
  const lfsAdds: string[] = [];
  let quotaLeft = await deps.quotas.remaining(repo);
  type Header = { summary?: string; description?: string; parentCommit?: string };
  let header = null as Header | null;
  const limits = deps.commitLimits;
  let operations = 0;
  let readme: Buffer | null = null;
  for await (const line of ndjsonLines(decodedBody(req, limits.maxBytes, 'the commit payload'), limits.maxLineBytes)) {
    const { key, value } = (line ?? {}) as { key?: string; value?: Record<string, unknown> };
    if (!value || typeof value !== 'object') throw invalid('BadRequest', `commit line '${key}' has no value`);
    if (key === 'header') {
      header = value as Header;
      continue;
    }
    if (!header) throw invalid('BadRequest', 'the first line of a commit must be its header');
    if (++operations > limits.maxOperations) throw new AppError('too_large', 'PayloadTooLarge', `a commit holds at most ${limits.maxOperations} operations`);
    // deletedFolder names its folder with a trailing '/' (`old_dir/`), as the Python client sends it.
    const rawPath = String(value.path ?? '');
    const path = normalizeRepoPath(key === 'deletedFolder' && rawPath !== '/' ? rawPath.replace(/\/+$/, '') : rawPath);
    if (key === 'file') {
      const content = Buffer.from(String(value.content ?? ''), value.encoding === 'base64' ? 'base64' : 'utf8');
      if (path === 'README.md') readme = content;
      if (content.length > quotaLeft) throw deps.quotas.exceeded(repo, content.length, quotaLeft);
      quotaLeft -= content.length;
      if (content.length >= deps.lfsThreshold) {
        // Large inline files go to LFS and are committed as pointers.
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
  // README.md metadata is checked here as on the Hub (the JS client never calls validate-yaml first).
  if (readme && readme.length <= README_MAX_BYTES) {
    const report = validateReadme(readme.toString('utf8'), repo.type);
    if (report.errors.length) throw invalid('InvalidMetadata', metadataRefusal(report));
  }

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
    startFrom = header.parentCommit ? resolveRevision(refs, objects, header.parentCommit, repo.defaultBranch).oid : prBaseHead!;
    // The pull request's row takes its number (shared with discussions and refs/pr/N) first.
    const pr = await ctx.community.openForCommit(repo, p, { title: header.summary, description: header.description, baseRef: prBase!, startOid: startFrom });
    prNum = pr.num;
    ref = `refs/pr/${prNum}`;
  }
  // Track paths committed as LFS pointers in .gitattributes, as the Hub does.
  const current = exists ? await headOf() : (startFrom ?? null);
  const attrsEntry = current ? entryAt(objects, current, '.gitattributes') : null;
  const attrsText = attrsEntry ? objects.read(attrsEntry.oid).data.toString('utf8') : '';
  const patterns = lfsPatterns(attrsText);
  const untracked = lfsAdds.filter((path) => !isLfsPath(patterns, path));
  if (untracked.length && !changes.some((c) => c.kind === 'put' && c.path === '.gitattributes')) {
    const add = untracked.map((path) => `${path.replace(/ /g, '[[:space:]]')} filter=lfs diff=lfs merge=lfs -text\n`).join('');
    changes.push({ kind: 'put', path: '.gitattributes', content: Buffer.from(`${attrsText}${attrsText && !attrsText.endsWith('\n') ? '\n' : ''}${add}`) });
  }
  const message = header.description ? `${header.summary}\n\n${header.description}` : header.summary;
  let result: { commitOid: string };
  try {
    result = await deps.commits.commit(repo, {
      ref,
      changes,
      message,
      author: ctx.author(p),
      expectedHead: !createPr ? header.parentCommit : undefined,
      startFrom,
      allowEmpty: true,
    });
  } catch (err) {
    if (prNum) await ctx.community.abandon(repo, prNum);
    throw err;
  }
  if (prNum) deps.events?.emit({ domain: 'discussion', scope: 'discussion', action: 'create', repo, num: prNum, origin: ctx.base(req) });
  const url = ctx.repoUrl(req, repo);
  res.json({
    success: true,
    commitOid: result.commitOid,
    commitUrl: `${url}/commit/${result.commitOid}`,
    hookOutput: '',
    ...(prNum ? { pullRequestUrl: `${url}/discussions/${prNum}` } : {}),
  });
}
