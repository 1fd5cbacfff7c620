import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { normalizeRepoPath } from '../core/paths.js';
import type { Db, RepoRecord } from '../db/db.js';
import type { RefRecord, RefUpdate } from '../db/types.js';
import { serializeCommit } from '../git/objects/commit.js';
import { hashObject } from '../git/objects/hash.js';
import { serializeTree, type TreeEntry } from '../git/objects/tree.js';
import type { ObjectType } from '../git/objects/types.js';
import { refNameProblem } from '../git/refname.js';
import type { GitStore } from '../git/store/git-store.js';
import { formatPointer, isValidOid } from '../lfs/pointer.js';
import type { CommitService } from '../repos/commit-service.js';
import { ARCHIVE_PREFIX, archiveStamp } from './git-sync.js';
import { encodePath, readBoundedBytes, repoPath, TYPE_PLURAL, UpstreamError, type Upstream } from './upstream.js';

/**
 * History of a mirror whose upstream offers no git endpoint, from its REST API: each upstream tip
 * (branch, tag, and refs/pr/* when asked) becomes one synthetic local commit whose tree is the
 * upstream's tree, file for file. Commit ids cannot be reproduced from REST (no parents, committer
 * or exact message), so each synthetic commit carries an `Upstream-Commit: <sha>` trailer and the
 * pair is recorded in commit_map; the API answers with the upstream's id (src/mirror/service.ts).
 *
 * Every byte is verified before anything is stored: a regular file against its git blob id (sha1 of
 * "blob <size>\0" + bytes), an LFS pointer (written from the listing) against the listed blob id.
 * A file that does not verify fails the whole sync and nothing is committed. Objects, commits and
 * every ref change go through the commit service's single write path in one atomic ref update.
 */

export interface RestSyncOptions {
  store: GitStore;
  db: Db;
  commits: CommitService;
  upstream: Upstream;
  /** The mirror (its default branch is kept when the upstream has it). */
  repo: RepoRecord;
  /** `ns/name` on the upstream. */
  upstreamId: string;
  includePrs?: boolean;
  signal?: AbortSignal;
  log: Logger;
  limits?: Partial<typeof REST_LIMITS>;
  onProgress?: (p: { bytes: number; phase: string }) => void;
}

export interface RestSyncResult {
  method: 'rest';
  headTarget: string | null;
  refs: { name: string; oid: string }[];
  updated: { name: string; from: string | null; to: string | null; forced: boolean }[];
  /** Synthetic commits made by this sync, upstream id -> local id. */
  created: { upstream: string; local: string }[];
  /** Objects written and the bytes of the files fetched. */
  objects: number;
  packBytes: number;
}

/** Bounds of one REST sync (every upstream answer is bounded before it is read). */
export const REST_LIMITS = {
  /** Upstream tips (branches, tags, pull requests) one sync takes. */
  maxRefs: 1000,
  /** Entries of one tree listing (files and directories). */
  maxEntries: 200_000,
  /** One regular (non-LFS) file. */
  maxFileBytes: 100 * 1024 ** 2,
  /** Every regular file fetched by one sync together (they are held until the commit). */
  maxTotalBytes: 2 * 1024 ** 3,
  /** Downloads at once. */
  concurrency: 4,
};

const SHA1 = /^[0-9a-f]{40}$/;
const MAX_JSON_BYTES = 64 << 20;
const MAX_PAGES = 10_000;

interface UpstreamEntry {
  type: 'file' | 'directory';
  path: string;
  oid: string;
  size: number;
  lfs: { oid: string; size: number } | null;
}

interface UpstreamTip {
  name: string;
  sha: string;
}

/** The history method of a mirror whose commits are synthetic. */
export const REST_METHOD = 'rest';

export async function syncRestFromUpstream(opts: RestSyncOptions): Promise<RestSyncResult> {
  const { store, db, upstream, repo } = opts;
  const repoId = repo.id;
  const limits = { ...REST_LIMITS, ...opts.limits };
  const log = opts.log.child({ module: 'mirror-rest', repoId });
  const progress = opts.onProgress ?? (() => undefined);
  const api = (rest: string) => upstream.url(`api/${TYPE_PLURAL[repo.type]}/${opts.upstreamId}/${rest}`);
  const label = `${upstream.label}/${repoPath(repo.type, opts.upstreamId)}`;
  const started = new Date();

  // ---- refs ----
  progress({ bytes: 0, phase: 'refs' });
  const refsBody = await getJson(upstream, api(`refs${opts.includePrs ? '?include_prs=1' : ''}`), opts.signal, label);
  const tips: UpstreamTip[] = [];
  const take = (list: unknown, prefix: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw bad(label, `refs: ${prefix} is not a list`);
    for (const r of list as { ref?: unknown; name?: unknown; targetCommit?: unknown }[]) {
      const ref = typeof r?.ref === 'string' ? r.ref : typeof r?.name === 'string' ? `${prefix}${r.name}` : null;
      const sha = typeof r?.targetCommit === 'string' ? r.targetCommit : null;
      if (!ref || !ref.startsWith(prefix) || !sha || !SHA1.test(sha)) throw bad(label, `refs: a bad entry under ${prefix}`);
      const problem = refNameProblem(ref);
      if (problem) {
        log.warn({ ref: ref.slice(0, 300), problem }, 'upstream ref skipped');
        continue;
      }
      tips.push({ name: ref, sha });
      if (tips.length > limits.maxRefs) throw new AppError('too_large', 'UpstreamTooManyRefs', `upstream ${label} has more than ${limits.maxRefs} refs`);
    }
  };
  const body = refsBody as Record<string, unknown>;
  take(body.branches, 'refs/heads/');
  take(body.tags, 'refs/tags/');
  if (opts.includePrs) take(body.pullRequests, 'refs/pr/');
  const prefixes = ['refs/heads/', 'refs/tags/', ...(opts.includePrs ? ['refs/pr/'] : [])];
  const managed = (name: string) => prefixes.some((p) => name.startsWith(p));

  // ---- what is here ----
  const [local, objects, mapRows] = await Promise.all([store.refs(repoId), store.objects(repoId), db.commitMap.list(repoId)]);
  const toLocal = new Map(mapRows.filter((r) => objects.type(r.localSha) === 'commit').map((r) => [r.upstreamSha, r.localSha]));
  const localByName = new Map<string, RefRecord>(local.map((r) => [r.name, r]));

  // ---- one synthetic commit per upstream tip not mapped yet ----
  const newObjects = new Map<string, { type: ObjectType; data: Buffer }>();
  const created: RestSyncResult['created'] = [];
  let fetchedBytes = 0;
  // Branches first: a tip a branch and a tag share continues the branch's line.
  const order = [...tips].sort((a, b) => rank(a.name) - rank(b.name));
  for (const tip of order) {
    if (toLocal.has(tip.sha)) continue;
    opts.signal?.throwIfAborted();
    const entries = await listTree(upstream, api(`tree/${tip.sha}?recursive=true&expand=false`), opts.signal, label, limits.maxEntries);
    const meta = await commitMeta(upstream, api(`commits/${tip.sha}?limit=1`), tip.sha, opts.signal, log);
    progress({ bytes: fetchedBytes, phase: `files of ${tip.sha.slice(0, 12)}` });
    // File blobs: LFS pointers from the listing, others fetched (unless stored already) and verified.
    const blobs = new Map<string, Buffer | null>();
    const toFetch: UpstreamEntry[] = [];
    for (const e of entries) {
      if (e.type !== 'file') continue;
      if (e.lfs) {
        const pointer = formatPointer(e.lfs);
        const oid = hashObject('blob', pointer);
        if (oid !== e.oid) throw bad(label, `${e.path}: the LFS pointer of sha256:${e.lfs.oid} (${e.lfs.size} bytes) has blob id ${oid}, the listing says ${e.oid}`);
        blobs.set(e.oid, pointer);
      } else if (objects.type(e.oid) === 'blob' || blobs.has(e.oid) || newObjects.has(e.oid)) {
        blobs.set(e.oid, null);
      } else {
        if (e.size > limits.maxFileBytes) throw new AppError('too_large', 'UpstreamFileTooLarge', `upstream ${label}: ${e.path} is ${e.size} bytes, more than ${limits.maxFileBytes} for a file outside LFS`);
        blobs.set(e.oid, null);
        toFetch.push(e);
      }
    }
    const queue = [...toFetch];
    const worker = async () => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        opts.signal?.throwIfAborted();
        const url = upstream.url(`${repoPath(repo.type, opts.upstreamId)}/resolve/${tip.sha}/${encodePath(e.path)}`);
        const data = await getBytes(upstream, url, Math.min(limits.maxFileBytes, e.size), opts.signal, `${label}: ${e.path}`);
        const oid = hashObject('blob', data);
        if (oid !== e.oid) throw new AppError('unavailable', 'UpstreamBadContent', `upstream ${label} sent wrong bytes for ${e.path} at ${tip.sha}: blob id ${oid}, the listing says ${e.oid}; nothing was committed`);
        fetchedBytes += data.length;
        if (fetchedBytes > limits.maxTotalBytes) throw new AppError('too_large', 'UpstreamTooLarge', `upstream ${label}: the files outside LFS exceed ${limits.maxTotalBytes} bytes in one sync`);
        blobs.set(oid, data);
        progress({ bytes: fetchedBytes, phase: 'files' });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limits.concurrency, toFetch.length)) }, worker));
    for (const [oid, data] of blobs) if (data) newObjects.set(oid, { type: 'blob', data });

    const tree = buildTrees(entries, newObjects, label, log);
    // Linear: the synthetic commit follows the local commit of the ref it is for (none for a new ref).
    const parent = tip.name.startsWith('refs/tags/') ? null : (localByName.get(tip.name)?.oid ?? null);
    const parents = parent && parent !== toLocal.get(tip.sha) && objects.type(parent) === 'commit' ? [parent] : [];
    const ident = { name: meta.author, email: `${meta.author}@users.noreply.packhub`, timestamp: meta.timestamp, timezone: '+0000' };
    const message = `${meta.message.trimEnd() || `Upstream commit ${tip.sha}`}\n\nUpstream-Commit: ${tip.sha}\n`;
    const data = serializeCommit({ tree, parents, author: ident, committer: ident, message });
    const oid = hashObject('commit', data);
    newObjects.set(oid, { type: 'commit', data });
    toLocal.set(tip.sha, oid);
    created.push({ upstream: tip.sha, local: oid });
    log.info({ upstream: tip.sha, local: oid, files: entries.length, fetched: toFetch.length }, 'synthetic commit built');
  }

  // ---- refs: equal to the upstream's (mapped), old tips of forced moves archived ----
  const stamp = archiveStamp(started);
  const taken = new Set(local.map((r) => r.name));
  const archiveName = (name: string) => {
    for (let i = 1; ; i++) {
      const n = `${ARCHIVE_PREFIX}${i === 1 ? stamp : `${stamp}-${i}`}/${name.slice('refs/'.length)}`;
      if (!taken.has(n)) {
        taken.add(n);
        return n;
      }
    }
  };
  const wanted = new Map(tips.map((t) => [t.name, toLocal.get(t.sha)!]));
  const deletes: RefUpdate[] = [];
  const moves: RefUpdate[] = [];
  const archives: RefUpdate[] = [];
  const updated: RestSyncResult['updated'] = [];
  const parentOf = (oid: string) => (newObjects.get(oid) ? parentsIn(newObjects.get(oid)!.data) : objects.type(oid) === 'commit' ? objects.commit(oid).parents : []);
  for (const r of local) {
    if (!managed(r.name) || wanted.has(r.name)) continue;
    deletes.push({ name: r.name, oldOid: r.oid, newOid: null });
    archives.push({ name: archiveName(r.name), oldOid: null, newOid: r.oid, peeled: r.peeled });
    updated.push({ name: r.name, from: r.oid, to: null, forced: true });
  }
  for (const [name, oid] of wanted) {
    const l = localByName.get(name);
    if (l?.oid === oid) continue;
    const forced = !!l && (name.startsWith('refs/tags/') || !parentOf(oid).includes(l.oid));
    if (l && forced) archives.push({ name: archiveName(name), oldOid: null, newOid: l.oid, peeled: l.peeled });
    moves.push({ name, oldOid: l?.oid ?? null, newOid: oid, peeled: null });
    updated.push({ name, from: l?.oid ?? null, to: oid, forced });
  }
  const updates = [...deletes, ...moves, ...archives];

  const branches = tips.filter((t) => t.name.startsWith('refs/heads/')).map((t) => t.name.slice('refs/heads/'.length));
  const head = branches.includes(repo.defaultBranch) ? repo.defaultBranch : branches.includes('main') ? 'main' : (branches[0] ?? null);
  const result: RestSyncResult = {
    method: 'rest',
    headTarget: head ? `refs/heads/${head}` : null,
    refs: tips.map((t) => ({ name: t.name, oid: t.sha })),
    updated,
    created,
    objects: newObjects.size,
    packBytes: fetchedBytes,
  };
  if (updates.length === 0 && created.length === 0) return result;

  // The map first (so an id is never served unmapped), withdrawn if the commit does not happen.
  progress({ bytes: fetchedBytes, phase: 'commit' });
  await db.commitMap.add(created.map((c) => ({ repoId, upstreamSha: c.upstream, localSha: c.local, method: REST_METHOD })));
  try {
    const results = await opts.commits.writeObjects(repo, [...newObjects.values()], updates);
    const lost = results.find((r) => !r.ok);
    if (lost && !lost.ok) throw new AppError('conflict', 'MirrorRefsChanged', `refs of the mirrored repository changed during the sync from ${label} (${lost.name}: ${lost.reason}); nothing was changed, retry`);
  } catch (err) {
    await db.commitMap.remove(repoId, created.map((c) => c.upstream)).catch(() => undefined);
    throw err;
  }
  log.info({ upstream: label, refs: tips.length, created: created.length, updated: updated.length, bytes: fetchedBytes }, 'mirror REST sync');
  return result;
}

const rank = (name: string) => (name.startsWith('refs/heads/') ? 0 : name.startsWith('refs/tags/') ? 1 : 2);

function parentsIn(commit: Buffer): string[] {
  const out: string[] = [];
  for (const line of commit.toString('utf8').split('\n')) {
    if (line === '') break;
    if (line.startsWith('parent ')) out.push(line.slice(7));
  }
  return out;
}

const bad = (label: string, what: string) => new GitFormatError(`upstream ${label} sent a bad answer: ${what}`);

/**
 * The trees of a listing (every file 100644: the listing has no modes), stored in `out`; the root
 * tree's id. A built directory whose id differs from the listed one is logged (an executable or a
 * symlink upstream): the files are the same.
 */
function buildTrees(entries: UpstreamEntry[], out: Map<string, { type: ObjectType; data: Buffer }>, label: string, log: Logger): string {
  type Dir = { files: Map<string, string>; dirs: Map<string, Dir> };
  const root: Dir = { files: new Map(), dirs: new Map() };
  const listedDirs = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'directory') {
      listedDirs.set(e.path, e.oid);
      continue;
    }
    const parts = e.path.split('/');
    let d = root;
    for (const part of parts.slice(0, -1)) {
      let next = d.dirs.get(part);
      if (!next) {
        if (d.files.has(part)) throw bad(label, `${e.path}: ${part} is both a file and a directory`);
        next = { files: new Map(), dirs: new Map() };
        d.dirs.set(part, next);
      }
      d = next;
    }
    const name = parts[parts.length - 1]!;
    if (d.dirs.has(name) || d.files.has(name)) throw bad(label, `${e.path} is listed twice`);
    d.files.set(name, e.oid);
  }
  const write = (d: Dir, prefix: string): string => {
    const list: TreeEntry[] = [];
    for (const [name, oid] of d.files) list.push({ mode: '100644', name, oid });
    for (const [name, sub] of d.dirs) list.push({ mode: '40000', name, oid: write(sub, prefix ? `${prefix}/${name}` : name) });
    const data = serializeTree(list);
    const oid = hashObject('tree', data);
    out.set(oid, { type: 'tree', data });
    const listed = prefix ? listedDirs.get(prefix) : undefined;
    if (listed && listed !== oid) log.warn({ path: prefix, listed, built: oid }, 'a rebuilt directory differs from the upstream one (file modes are not listed)');
    return oid;
  };
  return write(root, '');
}

/** An upstream answer read whole as JSON (bounded). */
async function getJson(upstream: Upstream, url: string, signal: AbortSignal | undefined, label: string): Promise<unknown> {
  return (await getJsonPage(upstream, url, signal, label)).body;
}

async function getJsonPage(upstream: Upstream, url: string, signal: AbortSignal | undefined, label: string): Promise<{ body: unknown; next: string | null }> {
  const res = await upstream.request(url, { headers: { accept: 'application/json' }, signal });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new UpstreamError(`upstream ${label} answered ${res.status} for ${new URL(url).pathname}`, res.status, false);
  }
  const text = (await readBoundedBytes(res, MAX_JSON_BYTES, label)).toString('utf8');
  try {
    return { body: JSON.parse(text) as unknown, next: nextLink(res.headers.get('link'), upstream) };
  } catch {
    throw bad(label, `${new URL(url).pathname} is not JSON`);
  }
}

/** `Link: <url>; rel="next"`, kept on the upstream (a Link naming another host is read as a path and query there). */
function nextLink(header: string | null, upstream: Upstream): string | null {
  if (!header) return null;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  if (!m) return null;
  const u = new URL(m[1]!, upstream.baseUrl);
  return u.origin === upstream.origin ? u.toString() : `${upstream.origin}${u.pathname}${u.search}`;
}

/** Every entry of a recursive tree listing, page after page, checked. */
async function listTree(upstream: Upstream, first: string, signal: AbortSignal | undefined, label: string, maxEntries: number): Promise<UpstreamEntry[]> {
  const out: UpstreamEntry[] = [];
  const seen = new Set<string>();
  let url: string | null = first;
  for (let page = 0; url; page++) {
    if (page >= MAX_PAGES) throw bad(label, `the tree listing has more than ${MAX_PAGES} pages`);
    const { body, next } = await getJsonPage(upstream, url, signal, label);
    if (!Array.isArray(body)) throw bad(label, 'the tree listing is not a list');
    for (const raw of body as Record<string, unknown>[]) {
      const e = parseEntry(raw, label);
      if (seen.has(e.path)) throw bad(label, `${e.path} is listed twice`);
      seen.add(e.path);
      out.push(e);
      if (out.length > maxEntries) throw new AppError('too_large', 'UpstreamTooManyFiles', `upstream ${label} lists more than ${maxEntries} entries`);
    }
    url = next;
  }
  return out;
}

function parseEntry(raw: Record<string, unknown>, label: string): UpstreamEntry {
  const type = raw?.type;
  if (type !== 'file' && type !== 'directory') throw bad(label, `a tree entry of type ${JSON.stringify(String(type)).slice(0, 40)}`);
  if (typeof raw.path !== 'string') throw bad(label, 'a tree entry without a path');
  let path: string;
  try {
    path = normalizeRepoPath(raw.path);
  } catch {
    throw bad(label, `a tree entry with a bad path ${JSON.stringify(raw.path.slice(0, 200))}`);
  }
  if (path !== raw.path) throw bad(label, `a tree entry with a bad path ${JSON.stringify(raw.path.slice(0, 200))}`);
  const oid = raw.oid;
  if (typeof oid !== 'string' || !SHA1.test(oid)) throw bad(label, `${path}: a bad oid`);
  const size = typeof raw.size === 'number' && Number.isSafeInteger(raw.size) && raw.size >= 0 ? raw.size : null;
  if (size === null) throw bad(label, `${path}: a bad size`);
  let lfs: UpstreamEntry['lfs'] = null;
  if (raw.lfs && typeof raw.lfs === 'object') {
    const l = raw.lfs as Record<string, unknown>;
    if (typeof l.oid !== 'string' || !isValidOid(l.oid) || typeof l.size !== 'number' || !Number.isSafeInteger(l.size) || l.size < 0) throw bad(label, `${path}: bad LFS details`);
    lfs = { oid: l.oid, size: l.size };
  }
  return { type, path, oid, size, lfs };
}

/** Message, author and date of an upstream commit (the commits listing's first entry), or stand-ins when it does not say. */
async function commitMeta(upstream: Upstream, url: string, sha: string, signal: AbortSignal | undefined, log: Logger): Promise<{ message: string; author: string; timestamp: number }> {
  const fallback = { message: '', author: 'upstream', timestamp: Math.floor(Date.now() / 1000) };
  try {
    const { body } = await getJsonPage(upstream, url, signal, upstream.label);
    const c = Array.isArray(body) ? (body[0] as Record<string, unknown> | undefined) : undefined;
    if (!c || c.id !== sha) return fallback;
    const title = typeof c.title === 'string' ? c.title : '';
    const message = typeof c.message === 'string' ? c.message : '';
    const authors = Array.isArray(c.authors) ? (c.authors as { user?: unknown }[]) : [];
    const user = typeof authors[0]?.user === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/.test(authors[0].user) ? authors[0].user : 'upstream';
    const at = typeof c.date === 'string' ? Date.parse(c.date) : NaN;
    const text = [title, message.trim()].filter(Boolean).join('\n\n').replace(/\0/g, '').slice(0, 64 * 1024);
    return { message: text, author: user, timestamp: Number.isNaN(at) ? fallback.timestamp : Math.floor(at / 1000) };
  } catch (err) {
    if (signal?.aborted) throw err;
    log.warn({ sha, err: (err as Error).message }, 'upstream commit details unavailable');
    return fallback;
  }
}

/** A file's bytes from the upstream (`resolve`), refused past `max` bytes. */
async function getBytes(upstream: Upstream, url: string, max: number, signal: AbortSignal | undefined, what: string): Promise<Buffer> {
  const res = await upstream.request(url, { signal });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new UpstreamError(`upstream answered ${res.status} for ${what}`, res.status, false);
  }
  return readBoundedBytes(res, max, what);
}

