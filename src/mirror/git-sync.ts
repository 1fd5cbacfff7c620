import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import type { RefRecord, RefUpdate } from '../db/types.js';
import { ingestPack, peeledOf, type IngestedPack } from '../git/ingest-pack.js';
import { isHiddenRef } from '../git/protocol/refs-advertisement.js';
import { refNameProblem } from '../git/refname.js';
import type { GitStore } from '../git/store/git-store.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { GitUpstream } from './git-client.js';
import type { UpstreamRef } from './git-wire.js';

export interface GitSyncResult {
  protocol: 2 | 0;
  /** Upstream HEAD symref target, e.g. 'refs/heads/main' (null: not advertised). */
  headTarget: string | null;
  /** Upstream refs now mirrored (heads, tags, and refs/pr/* when asked). */
  refs: { name: string; oid: string }[];
  /** Every local ref this sync changed; forced: a move that is not a fast-forward, or a deletion. */
  updated: { name: string; from: string | null; to: string | null; forced: boolean }[];
  /** Archive refs written for forced moves and deletions (refs/mirror-archive/<utc>/...). */
  archived: string[];
  /** Objects and bytes of the pack fetched (0 when nothing was fetched). */
  objects: number;
  packBytes: number;
}

export interface GitSyncOptions {
  store: GitStore;
  db: Db;
  repoId: string;
  /** e.g. http://host:port/datasets/ns/name.git (no trailing slash, no credentials) */
  url: string;
  /** Upstream credential, sent as HTTP Basic password; never logged. */
  token?: string | null;
  /** Basic user name for the token: any for huggingface.co, the token's owner for a packhub upstream (default 'packhub'). */
  username?: string | null;
  /** Also refs/pr/* */
  includePrs?: boolean;
  signal?: AbortSignal;
  log: Logger;
  tmpDir: string;
  limits?: { maxPackBytes?: number; maxObjectBytes?: number; maxRefs?: number };
  onProgress?: (p: { bytes: number; objects?: number; phase: string }) => void;
  /** Idle timeout of upstream requests (default 5 minutes). */
  idleTimeoutMs?: number;
  /** The sync's clock (the archive refs' timestamp); for tests. */
  now?: Date;
}

/** Defaults of the limits (the server passes PACKHUB_MIRROR_MAX_PACK_BYTES and PACKHUB_MAX_OBJECT_BYTES). */
export const MIRROR_DEFAULTS = { maxPackBytes: 8 * 1024 ** 3, maxObjectBytes: 100 * 1024 ** 2, maxRefs: 100_000 };

/** The private namespace of old tips: refs/mirror-archive/<UTC yyyymmddThhmmssZ>/<name without refs/>. */
export const ARCHIVE_PREFIX = 'refs/mirror-archive/';

export function archiveStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Whether `ancestor` is reachable from `tip` through commit parents. */
function isAncestor(objects: RepoObjects, ancestor: string, tip: string): boolean {
  if (ancestor === tip) return true;
  if (objects.type(ancestor) !== 'commit' || objects.type(tip) !== 'commit') return false;
  const seen = new Set<string>([tip]);
  const queue = [tip];
  while (queue.length) {
    const c = objects.commit(queue.pop()!);
    for (const p of c.parents) {
      if (p === ancestor) return true;
      if (!seen.has(p) && objects.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return false;
}

const unique = (xs: string[]) => [...new Set(xs)];

/** A pack the upstream sent that index-pack or fsck refuses: the error names the upstream. */
async function namingUpstream<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GitFormatError && !err.message.startsWith('upstream ')) throw new GitFormatError(`upstream ${url} sent a bad pack: ${err.message}`, err);
    throw err;
  }
}

/**
 * Makes the repository's refs/heads, refs/tags (and refs/pr with includePrs) equal the upstream's,
 * with packhub as a git client of the upstream's smart HTTP endpoint (v2 when offered, else v0), so
 * commit ids are the upstream's. Only objects we lack are fetched (local tips go as haves); nothing
 * is requested when nothing changed. The pack passes the same index-pack, fsck and connectivity
 * checks as a push and is stored before the refs move; all ref changes then happen in one atomic
 * compare-and-swap. Forced moves and deletions keep the old tip under refs/mirror-archive/ (hidden
 * from git clients). A lost race (refs changed meanwhile) is an error and changes nothing.
 */
export async function syncGitFromUpstream(opts: GitSyncOptions): Promise<GitSyncResult> {
  const { store, repoId } = opts;
  const log = opts.log.child({ module: 'mirror-git', repoId });
  const maxRefs = opts.limits?.maxRefs ?? MIRROR_DEFAULTS.maxRefs;
  const maxPackBytes = opts.limits?.maxPackBytes ?? MIRROR_DEFAULTS.maxPackBytes;
  const progress = opts.onProgress ?? (() => undefined);
  const started = opts.now ?? new Date();
  const upstream = new GitUpstream({ url: opts.url, token: opts.token, username: opts.username, signal: opts.signal, log, maxRefs, maxPackBytes, idleTimeoutMs: opts.idleTimeoutMs });

  progress({ bytes: 0, phase: 'refs' });
  const prefixes = ['refs/heads/', 'refs/tags/', ...(opts.includePrs ? ['refs/pr/'] : [])];
  const listing = await upstream.listRefs(['HEAD', ...prefixes]);
  const managed = (name: string) => prefixes.some((p) => name.startsWith(p));
  const upstreamRefs = new Map<string, UpstreamRef>();
  for (const r of listing.refs) {
    if (!managed(r.name)) continue;
    const problem = refNameProblem(r.name);
    if (problem) {
      log.warn({ upstream: opts.url, ref: r.name.slice(0, 300), problem }, 'upstream ref skipped');
      continue;
    }
    upstreamRefs.set(r.name, r);
  }

  const local = await store.refs(repoId);
  const localManaged = new Map<string, RefRecord>(local.filter((r) => managed(r.name)).map((r) => [r.name, r]));
  const existing = await store.objects(repoId);
  const wants = unique([...upstreamRefs.values()].map((r) => r.oid).filter((oid) => !existing.has(oid)));

  let ingested: IngestedPack | null = null;
  let packStored = false;
  try {
    if (wants.length > 0) {
      // What we have: the tips of every local ref (archived ones too), so only new objects come.
      const haves = unique(local.map((r) => r.oid)).filter((oid) => existing.has(oid)).slice(0, maxRefs);
      let lastReport = 0;
      progress({ bytes: 0, phase: 'fetch' });
      ingested = await namingUpstream(opts.url, () => ingestPack({
        repoId,
        source: upstream.fetchPack(wants, haves, (bytes) => {
          if (bytes - lastReport >= 1 << 20) {
            lastReport = bytes;
            progress({ bytes, phase: 'fetch' });
          }
        }),
        tmpDir: opts.tmpDir,
        sender: `upstream ${opts.url}`,
        existing,
        maxObjectBytes: opts.limits?.maxObjectBytes ?? MIRROR_DEFAULTS.maxObjectBytes,
        onIndexFailed: (err) => upstream.abort(err instanceof Error ? err : new Error(String(err))),
        onReceived: (total) => progress({ bytes: total, phase: 'index' }),
      }));
    }
    const objects = ingested?.objects ?? existing;
    const packBytes = ingested?.bytes ?? 0;
    const objectCount = ingested?.indexed.objects.length ?? 0;

    // Every advertised tip must now be here, branches must be commits.
    for (const r of upstreamRefs.values()) {
      const type = objects.type(r.oid);
      if (type === null) throw new GitFormatError(`upstream ${opts.url} did not send ${r.oid} (${r.name})`);
      if (r.name.startsWith('refs/heads/') && type !== 'commit') throw new GitFormatError(`upstream ${opts.url}: branch ${r.name} points to a ${type}, not a commit`);
    }

    const stamp = archiveStamp(started);
    const taken = new Set(local.map((r) => r.name));
    const archiveName = (name: string) => {
      const rest = name.slice('refs/'.length);
      for (let i = 1; ; i++) {
        const n = `${ARCHIVE_PREFIX}${i === 1 ? stamp : `${stamp}-${i}`}/${rest}`;
        if (!taken.has(n)) {
          taken.add(n);
          return n;
        }
      }
    };
    const deletes: RefUpdate[] = [];
    const moves: RefUpdate[] = [];
    const creates: RefUpdate[] = [];
    const archives: RefUpdate[] = [];
    const updated: GitSyncResult['updated'] = [];
    const archive = (r: RefRecord) => {
      const name = archiveName(r.name);
      archives.push({ name, oldOid: null, newOid: r.oid, peeled: r.peeled ?? peeledOf(objects, r.oid) });
    };
    for (const [name, r] of localManaged) {
      if (upstreamRefs.has(name)) continue;
      deletes.push({ name, oldOid: r.oid, newOid: null });
      archive(r);
      updated.push({ name, from: r.oid, to: null, forced: true });
    }
    for (const [name, u] of upstreamRefs) {
      const l = localManaged.get(name);
      if (l?.oid === u.oid) continue;
      const peeled = peeledOf(objects, u.oid);
      if (u.peeled && peeled !== u.peeled) log.warn({ ref: name, advertised: u.peeled, peeled }, 'upstream advertised another peeled value');
      if (!l) {
        creates.push({ name, oldOid: null, newOid: u.oid, peeled });
        updated.push({ name, from: null, to: u.oid, forced: false });
        continue;
      }
      // Tags do not fast-forward (git fetch needs force to move one); branches may.
      const forced = name.startsWith('refs/tags/') || !isAncestor(objects, l.oid, u.oid);
      if (forced) archive(l);
      moves.push({ name, oldOid: l.oid, newOid: u.oid, peeled });
      updated.push({ name, from: l.oid, to: u.oid, forced });
    }
    // Deletions first: a deleted refs/heads/a may make room for a new refs/heads/a/b.
    const updates = [...deletes, ...moves, ...creates, ...archives];
    for (const u of updates) if (isHiddenRef(u.name) && !u.name.startsWith(ARCHIVE_PREFIX)) throw new Error(`refusing to write ${u.name}`);

    const stored = updates.length > 0 ? (ingested?.stored ?? null) : null;
    if (updates.length > 0) {
      if (stored) {
        progress({ bytes: packBytes, objects: objectCount, phase: 'store' });
        await store.storePack(repoId, stored, { thenCommit: true });
        packStored = true;
      }
      progress({ bytes: packBytes, objects: objectCount, phase: 'commit' });
      // Checked against `existing`: a compaction dropping objects before the commit point makes it check again.
      const results = await store.commit(repoId, stored, updates, true, { objects: existing, needs: () => ingested?.needs() ?? [] });
      packStored = false;
      const lost = results.find((r) => !r.ok);
      if (lost) {
        if (stored) await store.discardPack(repoId, stored.name, log);
        const why = lost.ok ? '' : lost.reason;
        throw new AppError('conflict', 'MirrorRefsChanged', `refs of the mirrored repository changed during the sync from ${opts.url} (${lost.name}: ${why}); nothing was changed, retry`);
      }
    }
    const result: GitSyncResult = {
      protocol: upstream.protocol ?? 2,
      headTarget: listing.headTarget,
      refs: [...upstreamRefs.values()].map((r) => ({ name: r.name, oid: r.oid })),
      updated,
      archived: archives.map((a) => a.name),
      objects: objectCount,
      packBytes,
    };
    progress({ bytes: packBytes, objects: objectCount, phase: 'done' });
    log.info({ upstream: opts.url, protocol: result.protocol, refs: result.refs.length, wants: wants.length, objects: objectCount, packBytes, updated: updated.length, archived: result.archived.length }, 'mirror git sync');
    return result;
  } catch (err) {
    if (packStored && ingested?.stored) {
      // Stored, but the commit threw: the pack is unnamed (the sweep would delete it later anyway).
      await store.discardPack(repoId, ingested.stored.name, log);
    }
    throw err;
  } finally {
    await ingested?.release();
  }
}
