import { AppError } from '../core/errors.js';
import type { MirrorRecord, RepoRecord, RepoType } from '../db/db.js';
import type { LfsPointer } from '../lfs/pointer.js';
import { createRepoService } from '../repos/repo-service.js';
import type { CommitIdMap } from '../repos/revisions.js';
import { ensureNamespace } from '../repos/namespaces.js';
import { repoLabel, upstreamOrFail, type GitSyncSummary, type JobContextPort, type MirrorFile, type MirrorServiceDeps, type RegisterInput } from './common.js';
import { MirrorDownloads } from './downloads.js';
import { repoRules } from './globs.js';
import { HistorySync } from './history-sync.js';
import type { Fill } from './lfs-fill.js';
import { MirrorRows } from './mirror-rows.js';
import { PullThrough } from './pull-through.js';
import { repoPath } from './upstream.js';

export type { FileState, GitSync, GitSyncSummary, JobContextPort, JobsPort, MirrorFile, MirrorServiceDeps, RegisterInput, RestSync } from './common.js';
export { repoLabel } from './common.js';
export { offline } from './pull-through.js';

/**
 * Mirrors of the upstream hub. A mirror is an ordinary repository with a `mirrors` row: its history
 * comes from the upstream by git (same commit ids), its LFS files are downloaded, verified and linked
 * by jobs or on first request (pull-through), and it is read-only until an admin detaches it.
 *
 * Registration and the sync job are here; the rest is in its parts: the rows it remembers
 * (mirror-rows.ts), the history sync (history-sync.ts), the files and the download job
 * (downloads.ts), and the pull-through cache (pull-through.ts).
 */
export class MirrorService {
  private readonly allowed: (id: string) => boolean;
  private readonly repos: ReturnType<typeof createRepoService>;
  private readonly rows: MirrorRows;
  private readonly history: HistorySync;
  private readonly downloads: MirrorDownloads;
  private readonly pull: PullThrough;

  constructor(private readonly deps: MirrorServiceDeps) {
    this.allowed = deps.config ? repoRules(deps.config.allow, deps.config.deny) : () => false;
    this.repos = createRepoService(deps.db);
    this.rows = new MirrorRows(deps.db);
    this.history = new HistorySync(deps, this.rows);
    this.downloads = new MirrorDownloads(deps, this.rows, this.history);
    this.pull = new PullThrough(deps, this.rows, this.history, this.allowed);
    deps.jobs.register('mirror.sync', (ctx) => this.runSync(ctx));
    deps.jobs.register('mirror.download', (ctx) => this.downloads.run(ctx));
  }

  get enabled(): boolean {
    return this.deps.upstream !== null;
  }

  get proxy(): boolean {
    return this.pull.proxy;
  }

  /** Why a repository refuses pushes and commits: it is a mirror (until an admin detaches it). */
  async readOnlyReason(repo: RepoRecord): Promise<string | null> {
    const m = await this.rows.get(repo.id);
    return m ? `${repoLabel(repo)} is a mirror of ${m.upstreamUrl} and read-only; an administrator can detach it to make it an ordinary repository` : null;
  }

  /**
   * Registered mirrors whose last sync is older than `everyMs` get a sync job (unless one is queued).
   * Run on a timer by the server; several replicas may queue the same sync: it is idempotent.
   */
  async resyncDue(everyMs: number, queued: (repoId: string) => Promise<boolean>): Promise<number> {
    let n = 0;
    for (const m of await this.deps.db.mirrors.list()) {
      if (m.source !== 'registered' || (m.refsFetchedAt && Date.now() - m.refsFetchedAt.getTime() < everyMs)) continue;
      if (await queued(m.repoId)) continue;
      const repo = await this.deps.db.repos.findById(m.repoId);
      if (repo) {
        await this.enqueueSync(repo);
        n++;
      }
    }
    return n;
  }

  /**
   * The mirror row of a repository, or null (not a mirror, or detached). Asked on every read of every
   * repository, so kept for a moment (src/mirror/mirror-rows.ts).
   */
  mirrorOf(repoId: string): Promise<MirrorRecord | null> {
    return this.rows.get(repoId);
  }

  /**
   * Registers an upstream repository as a mirror here (the repository is created under the same id;
   * a missing namespace becomes an organization administered by the hub's admins) and queues its
   * first sync (and a download of its files with `download`).
   */
  async register(input: RegisterInput): Promise<{ repo: RepoRecord; mirror: MirrorRecord; jobs: { id: string }[] }> {
    const upstream = upstreamOrFail(this.deps.upstream);
    const label = repoPath(input.type, input.id);
    if (!this.allowed(label)) throw new AppError('forbidden', 'MirrorDenied', `${label} is not allowed by PACKHUB_UPSTREAM_ALLOW / PACKHUB_UPSTREAM_DENY`);
    const [ns, name, ...rest] = input.id.split('/');
    if (!ns || !name || rest.length) throw new AppError('invalid', 'InvalidRepoName', `a repository id is <namespace>/<name>, not '${input.id}'`);
    let repo = await this.repos.find({ type: input.type, namespace: ns, name });
    if (repo) {
      const existing = await this.rows.get(repo.id);
      if (!existing) throw new AppError('conflict', 'RepoExists', `${label} already exists here and is not a mirror`);
      // Registering again is idempotent; its history method cannot change (git and synthetic commits do not mix).
      if (input.history && input.history !== existing.history)
        throw new AppError('conflict', 'MirrorHistoryFixed', `${label} is a mirror already, with history ${existing.history}; the history method of a mirror cannot change`);
    } else {
      await ensureNamespace(this.deps.db, ns);
      repo = await this.repos.create({ type: input.type, namespace: ns, name });
    }
    const mirror = await this.deps.db.mirrors.create({
      repoId: repo.id,
      upstreamUrl: upstream.baseUrl,
      upstreamId: `${ns}/${name}`,
      source: input.source ?? 'registered',
      revision: input.revision ?? null,
      include: input.include ?? [],
      exclude: input.exclude ?? [],
      includePrs: input.includePrs ?? false,
      history: input.history ?? 'auto',
    });
    this.rows.remember(repo.id, mirror);
    const jobs = [await this.enqueueSync(repo, { download: input.download ?? false })];
    return { repo, mirror, jobs };
  }

  enqueueSync(repo: RepoRecord, opts: { download?: boolean } = {}): Promise<{ id: string }> {
    return this.deps.jobs.enqueue({ kind: 'mirror.sync', repoId: repo.id, repoLabel: repoLabel(repo), params: { download: opts.download ?? false } });
  }

  enqueueDownload(repo: RepoRecord, opts: { revision?: string | null; include?: string[]; exclude?: string[] } = {}): Promise<{ id: string }> {
    return this.deps.jobs.enqueue({
      kind: 'mirror.download',
      repoId: repo.id,
      repoLabel: repoLabel(repo),
      revision: opts.revision ?? null,
      paths: opts.include ?? [],
      params: { exclude: opts.exclude ?? [] },
    });
  }

  /** The repository becomes an ordinary one (writable), keeping its history and files. */
  async detach(repo: RepoRecord): Promise<void> {
    if (!(await this.rows.get(repo.id))) throw new AppError('conflict', 'NotAMirror', `${repoLabel(repo)} is not a mirror`);
    await this.deps.db.mirrors.delete(repo.id);
    this.rows.forget(repo.id);
  }

  /**
   * Fetches the repository's history from the upstream now (one fetch per repository at a time:
   * callers that come meanwhile share it). Updates the default branch and the mirror's state.
   */
  syncNow(repo: RepoRecord, mirror: MirrorRecord, opts: { signal?: AbortSignal; log?: (line: string) => void; onProgress?: (bytes: number) => void } = {}): Promise<GitSyncSummary> {
    return this.history.syncNow(repo, mirror, opts);
  }

  /**
   * The commit ids of a mirror whose history is synthetic (REST-synced): upstream id <-> local
   * commit. null for any other repository. Asked on every read, so kept for a moment.
   */
  commitIds(repo: RepoRecord): Promise<CommitIdMap | null> {
    return this.rows.commitIds(repo);
  }

  /** How a mirror's history came (or, before its first sync, will come): 'git' (the upstream's own commits) or 'rest' (synthetic); null: not a mirror. */
  async historyMethod(repo: RepoRecord): Promise<'git' | 'rest' | null> {
    const mirror = await this.rows.get(repo.id);
    if (!mirror) return null;
    return mirror.history === 'rest' || (await this.commitIds(repo)) ? 'rest' : 'git';
  }

  private async runSync(ctx: JobContextPort): Promise<void> {
    const { repo, mirror } = await this.rows.load(ctx.job.repoId);
    ctx.log(`fetching the history of ${mirror.upstreamId} from ${upstreamOrFail(this.deps.upstream).label}`);
    await this.history.syncNow(repo, mirror, { signal: ctx.signal, log: (l) => ctx.log(l), onProgress: (bytes) => ctx.progress({ bytesDone: bytes }) });
    if (ctx.job.params.download === true) {
      const job = await this.enqueueDownload(repo, { revision: mirror.revision, include: mirror.include, exclude: mirror.exclude });
      ctx.log(`queued the download of its files: job ${job.id}`);
    }
  }

  /** The files of a revision of a mirror, each local, remote, downloading or failed. */
  fileStates(repo: RepoRecord, revision: string | null): Promise<{ commit: string; files: MirrorFile[] }> {
    return this.downloads.fileStates(repo, revision);
  }

  /** A repository this hub does not hold, registered from the upstream while the caller waits (src/mirror/pull-through.ts). */
  pullThrough(type: RepoType, ns: string, name: string): Promise<RepoRecord | null> {
    return this.pull.pullThrough(type, ns, name);
  }

  /** A mirror's stale branch and tag names asked of the upstream again before it answers (src/mirror/pull-through.ts). */
  refreshIfStale(repo: RepoRecord, rev: string): Promise<void> {
    return this.pull.refreshIfStale(repo, rev);
  }

  /** A mirror's LFS object not stored yet, fetched for a client (src/mirror/pull-through.ts). */
  remoteObject(repo: RepoRecord, commit: string, path: string, pointer: LfsPointer): Promise<Fill | null> {
    return this.pull.remoteObject(repo, commit, path, pointer);
  }

  close(): Promise<void> {
    return this.deps.fills?.close() ?? Promise.resolve();
  }
}
