import { AppError } from '../core/errors.js';
import type { RepoRecord, RepoType } from '../db/db.js';
import type { LfsPointer } from '../lfs/pointer.js';
import { createRepoService } from '../repos/repo-service.js';
import { ensureNamespace } from '../repos/namespaces.js';
import { upstreamOrFail, type MirrorServiceDeps } from './common.js';
import type { HistorySync } from './history-sync.js';
import type { Fill } from './lfs-fill.js';
import type { MirrorRows } from './mirror-rows.js';
import { repoPath, UpstreamError } from './upstream.js';

const SHA = /^[0-9a-f]{40}$/;

/**
 * The mirror as a pull-through cache, while a client waits: a repository this hub does not hold is
 * registered from the upstream, a mirror's stale branch names are asked again, and an LFS object not
 * stored yet is fetched as it is served.
 */
export class PullThrough {
  private readonly registering = new Map<string, Promise<RepoRecord | null>>();
  private readonly repos: ReturnType<typeof createRepoService>;

  constructor(
    private readonly deps: MirrorServiceDeps,
    private readonly rows: MirrorRows,
    private readonly sync: HistorySync,
    private readonly allowed: (id: string) => boolean,
  ) {
    this.repos = createRepoService(deps.db);
  }

  /** Whether the pull-through cache is on (PACKHUB_UPSTREAM_PROXY and an upstream). */
  get proxy(): boolean {
    return !!this.deps.config?.proxy && this.deps.upstream !== null;
  }

  /**
   * A repository asked for that this hub does not hold: with the pull-through cache on and the id
   * allowed, it is registered from the upstream and its history fetched now (the caller waits), so
   * the answer comes from local data with the upstream's commit ids. null: not for the upstream
   * either (the caller answers RepoNotFound). An unreachable upstream is a 503 naming it.
   */
  async pullThrough(type: RepoType, ns: string, name: string): Promise<RepoRecord | null> {
    if (!this.proxy || !this.allowed(repoPath(type, `${ns}/${name}`))) return null;
    const key = `${type}:${ns.toLowerCase()}/${name.toLowerCase()}`;
    const running = this.registering.get(key);
    if (running) return running;
    const p = this.registerFromUpstream(type, ns, name).finally(() => this.registering.delete(key));
    this.registering.set(key, p);
    return p;
  }

  private async registerFromUpstream(type: RepoType, ns: string, name: string): Promise<RepoRecord | null> {
    const upstream = upstreamOrFail(this.deps.upstream);
    let info;
    try {
      // A client waits (its timeout is about 10 s): two tries, then the answer is that the upstream is down.
      info = await upstream.repoInfo(type, `${ns}/${name}`, { attempts: 2 });
    } catch (err) {
      throw offline(`${ns}/${name} is not mirrored here and the upstream could not be asked`, err);
    }
    if (!info) return null;
    const [uns, uname] = info.id.includes('/') ? info.id.split('/') : [ns, name];
    const existing = await this.repos.find({ type, namespace: uns!, name: uname! });
    if (existing) return existing;
    await ensureNamespace(this.deps.db, uns!);
    const repo = await this.repos.create({ type, namespace: uns!, name: uname!, private: info.private });
    const mirror = await this.deps.db.mirrors.create({ repoId: repo.id, upstreamUrl: upstream.baseUrl, upstreamId: `${uns}/${uname}`, source: 'proxy' });
    this.rows.remember(repo.id, mirror);
    try {
      await this.sync.syncNow(repo, mirror);
    } catch (err) {
      // Nothing half-made stays behind: the next request tries again.
      await this.deps.db.repos.delete(repo.id);
      await this.deps.store.deleteRepository(repo.id).catch(() => undefined);
      throw offline(`${repoPath(type, `${uns}/${uname}`)} could not be fetched from the upstream`, err);
    }
    this.deps.log.info({ repo: repoPath(type, info.id) }, 'registered from the upstream (pull-through)');
    return (await this.deps.db.repos.findById(repo.id)) ?? repo;
  }

  /**
   * Before a mirror answers for a revision: branch and tag names older than the TTL are asked of
   * the upstream again (commit ids are immutable: never). When the upstream cannot be reached the
   * last known commit is served (offline); nothing fails here.
   */
  async refreshIfStale(repo: RepoRecord, rev: string): Promise<void> {
    if (!this.deps.upstream) return;
    const mirror = await this.rows.get(repo.id);
    // A repository imported from a client's cache syncs when an administrator asks (it may sit on a
    // machine that never reaches the upstream), not on reads.
    if (!mirror || mirror.source === 'cache-import') return;
    if (SHA.test(rev)) {
      const objects = await this.deps.store.objects(repo.id);
      if (objects.has(rev) || (await this.rows.commitIds(repo))?.toLocal.has(rev)) return;
    }
    // A commit id not held here may be new upstream: asked again sooner than a branch, but not on
    // every request (ids nobody has must not turn into one upstream fetch each).
    const ttl = SHA.test(rev) ? Math.min(this.deps.config?.ttlMs ?? 600_000, UNKNOWN_COMMIT_RETRY_MS) : (this.deps.config?.ttlMs ?? 600_000);
    if (mirror.refsFetchedAt && Date.now() - mirror.refsFetchedAt.getTime() < ttl) return;
    const failed = this.refreshFailedAt.get(repo.id);
    if (failed && Date.now() - failed < REFRESH_RETRY_MS) return;
    const sync = this.sync.syncNow(repo, mirror).then(
      () => this.refreshFailedAt.delete(repo.id),
      (err: Error) => {
        this.refreshFailedAt.set(repo.id, Date.now());
        this.deps.log.warn({ repoId: repo.id, err: err.message }, 'upstream unreachable: serving the last known refs');
      },
    );
    // A client waits for the upstream this long at most; a slow sync goes on and serves the next ones.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sync, new Promise<void>((r) => (timer = setTimeout(r, REFRESH_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** When a refresh of a repository last failed: the next one waits REFRESH_RETRY_MS. */
  private readonly refreshFailedAt = new Map<string, number>();

  /**
   * The download of a mirror's LFS object that is not stored yet, started (or joined) for a client:
   * resolves once the first bytes are on disk, so the client gets its headers at once; an upstream
   * that fails first is a 503 naming the failure. null: the repository is not a mirror.
   */
  async remoteObject(repo: RepoRecord, commit: string, path: string, pointer: LfsPointer): Promise<Fill | null> {
    const mirror = await this.rows.get(repo.id);
    if (!mirror) return null;
    const fills = this.deps.fills;
    if (!fills) throw offline(`${path} is not stored here and mirroring is off`, null);
    const upstreamCommit = (await this.rows.commitIds(repo))?.toUpstream.get(commit) ?? commit;
    const fill = fills.fill(pointer.oid, pointer.size, { type: repo.type, upstreamId: mirror.upstreamId, commit: upstreamCommit, path });
    fill.anchor();
    // Headers go out once bytes flow (or the object is stored); a failure first is answered as such.
    await Promise.race([fill.done.catch(() => undefined), fill.started(FIRST_BYTE_WAIT_MS)]);
    if (fill.state === 'failed' || (fill.written === 0 && fill.state === 'running' && fill.lastError)) {
      const err = fill.error ?? fill.lastError;
      throw offline(`${path} is not stored here yet and the upstream failed`, err);
    }
    fill.done
      .then(() => this.deps.records.link(repo.id, pointer.oid))
      .catch((err: Error) => this.deps.log.warn({ oid: pointer.oid, err: err.message }, 'pull-through download failed'));
    return fill;
  }
}

/** How long a request waits for a refresh of a mirror's refs before it is answered from what is here. */
const REFRESH_WAIT_MS = 5000;
/** After a failed refresh, requests are answered from what is here for this long without asking again. */
const REFRESH_RETRY_MS = 30_000;

/** A commit id a mirror does not hold is asked of the upstream at most this often. */
const UNKNOWN_COMMIT_RETRY_MS = 30_000;

/** How long a client's request waits for the first upstream bytes before it is told what went wrong. */
const FIRST_BYTE_WAIT_MS = 8000;

/** Not held here and not available from the upstream now: 503 (no Retry-After: clients would sleep on it). */
export function offline(what: string, cause: unknown): AppError {
  const why = cause instanceof UpstreamError || cause instanceof Error ? `: ${cause.message}` : '';
  return new AppError('unavailable', 'UpstreamUnavailable', `${what}${why}`, { cause });
}
