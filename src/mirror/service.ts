import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db, MirrorHistory, MirrorRecord, MirrorSource, RepoRecord, RepoType } from '../db/db.js';
import type { GitStore } from '../git/store/git-store.js';
import { walkTree } from '../hf/tree.js';
import type { LfsRecords } from '../lfs/records.js';
import { MAX_POINTER_SIZE, parsePointer, type LfsPointer } from '../lfs/pointer.js';
import { createRepoService } from '../repos/repo-service.js';
import { resolveRevision, type CommitIdMap } from '../repos/revisions.js';
import { ensureNamespace } from '../repos/namespaces.js';
import { pathFilter, repoRules } from './globs.js';
import type { Fill, LfsFills } from './lfs-fill.js';
import { syncByHistoryMethod } from './history-method.js';
import type { RestSyncResult } from './rest-sync.js';
import { repoPath, UpstreamError, type Upstream } from './upstream.js';

/** The part of a git sync the mirror reads (src/mirror/git-sync.ts). */
export interface GitSyncSummary {
  headTarget: string | null;
  refs: { name: string; oid: string }[];
  updated: { name: string; from: string | null; to: string | null; forced: boolean }[];
  objects: number;
  packBytes: number;
  /** How the history came: git (the upstream's commits) or rest (synthetic commits, src/mirror/rest-sync.ts). */
  method?: 'git' | 'rest';
}

/** A sync of a mirror's history by the upstream's REST API (src/mirror/rest-sync.ts). */
export type RestSync = (opts: { repo: RepoRecord; upstreamId: string; includePrs: boolean; signal?: AbortSignal; log: Logger; onProgress?: (p: { bytes: number; phase: string }) => void }) => Promise<RestSyncResult>;

export type GitSync = (opts: {
  repoId: string;
  url: string;
  token: string | null;
  includePrs: boolean;
  signal?: AbortSignal;
  log: Logger;
  onProgress?: (p: { bytes: number; objects?: number; phase: string }) => void;
}) => Promise<GitSyncSummary>;

/** What the mirror needs of the job engine (src/jobs). */
export interface JobsPort {
  register(kind: string, handler: (ctx: JobContextPort) => Promise<void>): void;
  enqueue(input: { kind: string; repoId?: string | null; repoLabel?: string | null; revision?: string | null; paths?: string[]; params?: Record<string, unknown> }): Promise<{ id: string }>;
}

export interface JobContextPort {
  job: { id: string; repoId: string | null; revision: string | null; paths: string[]; params: Record<string, unknown> };
  signal: AbortSignal;
  log(line: string): void;
  progress(p: { bytesDone?: number; bytesTotal?: number | null; filesDone?: number; filesTotal?: number | null }): void;
}

export type FileState = 'local' | 'remote' | 'downloading' | 'failed';

export interface MirrorFile {
  path: string;
  size: number;
  lfs: { oid: string; size: number } | null;
  state: FileState;
  error?: string;
}

export interface RegisterInput {
  type: RepoType;
  id: string;
  revision?: string | null;
  include?: string[];
  exclude?: string[];
  includePrs?: boolean;
  /** How its history is fetched (default auto); fixed at registration. */
  history?: MirrorHistory;
  download?: boolean;
  source?: MirrorSource;
}

const SHA = /^[0-9a-f]{40}$/;
/** Repo label as the job lists show it: `datasets/ns/name` or `ns/name`. */
export const repoLabel = (r: Pick<RepoRecord, 'type' | 'namespace' | 'name'>) => repoPath(r.type, `${r.namespace}/${r.name}`);

/**
 * Mirrors of the upstream hub. A mirror is an ordinary repository with a `mirrors` row: its history
 * comes from the upstream by git (same commit ids), its LFS files are downloaded, verified and linked
 * by jobs or on first request (pull-through), and it is read-only until an admin detaches it.
 */
export class MirrorService {
  private readonly allowed: (id: string) => boolean;
  private readonly syncing = new Map<string, Promise<GitSyncSummary>>();
  private readonly registering = new Map<string, Promise<RepoRecord | null>>();
  private readonly repos: ReturnType<typeof createRepoService>;

  constructor(
    private readonly deps: {
      db: Db;
      store: GitStore;
      records: LfsRecords;
      upstream: Upstream | null;
      config: NonNullable<Config['upstream']> | null;
      fills: LfsFills | null;
      gitSync: GitSync;
      /** History without git, when the upstream has no git endpoint (or PACKHUB_UPSTREAM_GIT=off). */
      restSync?: RestSync | null;
      jobs: JobsPort;
      log: Logger;
    },
  ) {
    this.allowed = deps.config ? repoRules(deps.config.allow, deps.config.deny) : () => false;
    this.repos = createRepoService(deps.db);
    deps.jobs.register('mirror.sync', (ctx) => this.runSync(ctx));
    deps.jobs.register('mirror.download', (ctx) => this.runDownload(ctx));
  }

  get enabled(): boolean {
    return this.deps.upstream !== null;
  }

  get proxy(): boolean {
    return !!this.deps.config?.proxy && this.deps.upstream !== null;
  }

  /** Why a repository refuses pushes and commits: it is a mirror (until an admin detaches it). */
  async readOnlyReason(repo: RepoRecord): Promise<string | null> {
    const m = await this.mirrorOf(repo.id);
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
   * repository, so kept for a moment (a detach on another replica shows here within MIRROR_ROW_TTL_MS).
   */
  async mirrorOf(repoId: string): Promise<MirrorRecord | null> {
    const cached = this.rows.get(repoId);
    if (cached && Date.now() - cached.at < MIRROR_ROW_TTL_MS) return cached.row;
    const row = await this.deps.db.mirrors.get(repoId);
    if (this.rows.size > 10_000) this.rows.clear();
    this.rows.set(repoId, { at: Date.now(), row });
    return row;
  }

  private readonly rows = new Map<string, { at: number; row: MirrorRecord | null }>();

  /** Changes the mirror row (and what this process remembers of it). */
  private async updateRow(repoId: string, patch: Parameters<Db['mirrors']['update']>[1]): Promise<void> {
    const row = await this.deps.db.mirrors.update(repoId, patch);
    this.rows.set(repoId, { at: Date.now(), row });
  }

  private upstreamOrFail(): Upstream {
    if (!this.deps.upstream) throw new AppError('unavailable', 'MirroringOff', 'mirroring is off on this hub (PACKHUB_UPSTREAM_URL=none)');
    return this.deps.upstream;
  }

  private gitUrl(type: RepoType, upstreamId: string): string {
    return this.upstreamOrFail().url(`${repoPath(type, upstreamId)}.git`);
  }

  /**
   * Registers an upstream repository as a mirror here (the repository is created under the same id;
   * a missing namespace becomes an organization administered by the hub's admins) and queues its
   * first sync (and a download of its files with `download`).
   */
  async register(input: RegisterInput): Promise<{ repo: RepoRecord; mirror: MirrorRecord; jobs: { id: string }[] }> {
    const upstream = this.upstreamOrFail();
    const label = repoPath(input.type, input.id);
    if (!this.allowed(label)) throw new AppError('forbidden', 'MirrorDenied', `${label} is not allowed by PACKHUB_UPSTREAM_ALLOW / PACKHUB_UPSTREAM_DENY`);
    const [ns, name, ...rest] = input.id.split('/');
    if (!ns || !name || rest.length) throw new AppError('invalid', 'InvalidRepoName', `a repository id is <namespace>/<name>, not '${input.id}'`);
    let repo = await this.repos.find({ type: input.type, namespace: ns, name });
    if (repo) {
      const existing = await this.mirrorOf(repo.id);
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
    this.rows.set(repo.id, { at: Date.now(), row: mirror });
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
    if (!(await this.mirrorOf(repo.id))) throw new AppError('conflict', 'NotAMirror', `${repoLabel(repo)} is not a mirror`);
    await this.deps.db.mirrors.delete(repo.id);
    this.rows.delete(repo.id);
  }

  /**
   * Fetches the repository's history from the upstream now (one fetch per repository at a time:
   * callers that come meanwhile share it). Updates the default branch and the mirror's state.
   */
  syncNow(repo: RepoRecord, mirror: MirrorRecord, opts: { signal?: AbortSignal; log?: (line: string) => void; onProgress?: (bytes: number) => void } = {}): Promise<GitSyncSummary> {
    const running = this.syncing.get(repo.id);
    if (running) return running;
    const p = this.doSync(repo, mirror, opts).finally(() => this.syncing.delete(repo.id));
    this.syncing.set(repo.id, p);
    return p;
  }

  private async doSync(repo: RepoRecord, mirror: MirrorRecord, opts: { signal?: AbortSignal; log?: (line: string) => void; onProgress?: (bytes: number) => void }): Promise<GitSyncSummary> {
    const { db } = this.deps;
    const upstream = this.upstreamOrFail();
    const url = this.gitUrl(repo.type, mirror.upstreamId);
    await this.updateRow(repo.id, { state: 'syncing' });
    try {
      const result = await this.syncHistory(repo, mirror, url, opts);
      const head = result.headTarget?.startsWith('refs/heads/') ? result.headTarget.slice('refs/heads/'.length) : null;
      if (head && head !== repo.defaultBranch) await db.repos.update(repo.id, { defaultBranch: head });
      await this.updateRow(repo.id, { state: 'synced', lastError: null, refsFetchedAt: new Date() });
      const from = result.method === 'rest' ? `${upstream.label} by its REST API (synthetic commits)` : url;
      opts.log?.(`synced ${result.refs.length} refs from ${from}: ${result.updated.length} changed, ${result.objects} objects (${result.packBytes} bytes)`);
      for (const u of result.updated) opts.log?.(`  ${u.name}: ${u.from?.slice(0, 12) ?? '(new)'} -> ${u.to?.slice(0, 12) ?? '(deleted)'}${u.forced ? ' (forced)' : ''}`);
      return result;
    } catch (err) {
      await this.updateRow(repo.id, { state: 'failed', lastError: (err as Error).message }).catch(() => undefined);
      throw err;
    }
  }

  /** The history as the mirror's `history` setting says (src/mirror/history-method.ts). */
  private async syncHistory(repo: RepoRecord, mirror: MirrorRecord, url: string, opts: { signal?: AbortSignal; log?: (line: string) => void; onProgress?: (bytes: number) => void }): Promise<GitSyncSummary> {
    const rest = this.deps.restSync;
    return syncByHistoryMethod<GitSyncSummary>({
      history: mirror.history,
      gitOff: this.deps.config?.git === false,
      synthetic: (await this.deps.db.commitMap.list(repo.id)).length > 0,
      upstreamLabel: this.upstreamOrFail().label,
      upstreamId: mirror.upstreamId,
      byGit: async () => ({ ...(await this.gitFetch(repo, mirror, url, opts)), method: 'git' }),
      byRest: rest
        ? async (why) => {
            opts.log?.(`${why}: syncing by the REST API (one synthetic commit per upstream tip)`);
            try {
              return { ...(await rest({ repo, upstreamId: mirror.upstreamId, includePrs: mirror.includePrs, signal: opts.signal, log: this.deps.log.child({ repoId: repo.id }), onProgress: (p) => opts.onProgress?.(p.bytes) })), method: 'rest' };
            } finally {
              this.idMaps.delete(repo.id);
            }
          }
        : null,
    });
  }

  private gitFetch(repo: RepoRecord, mirror: MirrorRecord, url: string, opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void }): Promise<GitSyncSummary> {
    return this.deps.gitSync({
      repoId: repo.id,
      url,
      token: this.deps.config?.token ?? null,
      includePrs: mirror.includePrs,
      signal: opts.signal,
      log: this.deps.log.child({ repoId: repo.id, upstream: this.upstreamOrFail().label }),
      onProgress: (p) => opts.onProgress?.(p.bytes),
    });
  }

  /**
   * The commit ids of a mirror whose history is synthetic (REST-synced): upstream id <-> local
   * commit. null for any other repository. Asked on every read, so kept for a moment.
   */
  async commitIds(repo: RepoRecord): Promise<CommitIdMap | null> {
    if (!(await this.mirrorOf(repo.id))) return null;
    const cached = this.idMaps.get(repo.id);
    if (cached && Date.now() - cached.at < MIRROR_ROW_TTL_MS) return cached.ids;
    const rows = await this.deps.db.commitMap.list(repo.id);
    const ids = rows.length ? { toLocal: new Map(rows.map((r) => [r.upstreamSha, r.localSha])), toUpstream: new Map(rows.map((r) => [r.localSha, r.upstreamSha])) } : null;
    if (this.idMaps.size > 10_000) this.idMaps.clear();
    this.idMaps.set(repo.id, { at: Date.now(), ids });
    return ids;
  }

  private readonly idMaps = new Map<string, { at: number; ids: CommitIdMap | null }>();

  /** How a mirror's history came (or, before its first sync, will come): 'git' (the upstream's own commits) or 'rest' (synthetic); null: not a mirror. */
  async historyMethod(repo: RepoRecord): Promise<'git' | 'rest' | null> {
    const mirror = await this.mirrorOf(repo.id);
    if (!mirror) return null;
    return mirror.history === 'rest' || (await this.commitIds(repo)) ? 'rest' : 'git';
  }

  private async runSync(ctx: JobContextPort): Promise<void> {
    const { repo, mirror } = await this.loadMirror(ctx.job.repoId);
    ctx.log(`fetching the history of ${mirror.upstreamId} from ${this.upstreamOrFail().label}`);
    await this.syncNow(repo, mirror, { signal: ctx.signal, log: (l) => ctx.log(l), onProgress: (bytes) => ctx.progress({ bytesDone: bytes }) });
    if (ctx.job.params.download === true) {
      const job = await this.enqueueDownload(repo, { revision: mirror.revision, include: mirror.include, exclude: mirror.exclude });
      ctx.log(`queued the download of its files: job ${job.id}`);
    }
  }

  private async loadMirror(repoId: string | null): Promise<{ repo: RepoRecord; mirror: MirrorRecord }> {
    const repo = repoId ? await this.deps.db.repos.findById(repoId) : null;
    if (!repo) throw new Error('the repository of this job no longer exists');
    const mirror = await this.mirrorOf(repo.id);
    if (!mirror) throw new Error(`${repoLabel(repo)} is not a mirror (detached?)`);
    return { repo, mirror };
  }

  /** Every file of a revision with its LFS pointer (if any), for downloads and the file states. */
  private async filesAt(repo: RepoRecord, revision: string | null): Promise<{ commit: string; upstreamCommit: string; files: { path: string; size: number; lfs: LfsPointer | null }[] }> {
    const [refs, objects, ids] = await Promise.all([this.deps.store.refs(repo.id), this.deps.store.objects(repo.id), this.commitIds(repo)]);
    const { oid: commit } = resolveRevision(refs, objects, revision ?? 'HEAD', repo.defaultBranch, ids);
    const files = [];
    for (const e of walkTree(objects, commit, '', true)) {
      if (e.mode === '40000' || e.mode === '160000') continue;
      const size = objects.size(e.oid);
      const lfs = size > 0 && size < MAX_POINTER_SIZE ? parsePointer(objects.read(e.oid).data) : null;
      files.push({ path: e.path, size: lfs ? lfs.size : size, lfs });
    }
    // Files are asked of the upstream at its own commit id (a synthetic commit's is mapped).
    return { commit, upstreamCommit: ids?.toUpstream.get(commit) ?? commit, files };
  }

  /** The files of a revision of a mirror, each local, remote, downloading or failed. */
  async fileStates(repo: RepoRecord, revision: string | null): Promise<{ commit: string; files: MirrorFile[] }> {
    const mirror = await this.mirrorOf(repo.id);
    const { commit, files } = await this.filesAt(repo, revision);
    const oids = files.flatMap((f) => (f.lfs ? [f.lfs.oid] : []));
    const linked = await this.deps.records.linked(repo.id, oids);
    return {
      commit,
      files: files.map((f) => {
        if (!f.lfs) return { path: f.path, size: f.size, lfs: null, state: 'local' as const };
        const failure = mirror?.failures[f.lfs.oid];
        const state: FileState = linked.has(f.lfs.oid) ? 'local' : this.deps.fills?.active(f.lfs.oid) ? 'downloading' : failure ? 'failed' : 'remote';
        return { path: f.path, size: f.size, lfs: { oid: f.lfs.oid, size: f.lfs.size }, state, ...(state === 'failed' ? { error: failure!.error } : {}) };
      }),
    };
  }

  /**
   * Downloads the LFS files of a revision (those matching the job's patterns) that are not linked to
   * the repository yet, a few at a time, each verified before it is linked. Files that fail are
   * listed in the job's error; the others stay stored and linked.
   */
  private async runDownload(ctx: JobContextPort): Promise<void> {
    const { repo, mirror } = await this.loadMirror(ctx.job.repoId);
    const fills = this.deps.fills;
    if (!fills) throw new Error('mirroring is off on this hub (PACKHUB_UPSTREAM_URL=none)');
    if (mirror.refsFetchedAt === null) await this.syncNow(repo, mirror, { signal: ctx.signal, log: (l) => ctx.log(l) });
    const revision = ctx.job.revision ?? mirror.revision;
    const { commit, upstreamCommit, files } = await this.filesAt(repo, revision);
    const exclude = Array.isArray(ctx.job.params.exclude) ? (ctx.job.params.exclude as string[]) : [];
    const wanted = pathFilter(ctx.job.paths, exclude);
    const lfsFiles = files.filter((f) => f.lfs && wanted(f.path));
    const linked = await this.deps.records.linked(
      repo.id,
      lfsFiles.map((f) => f.lfs!.oid),
    );
    const todo = lfsFiles.filter((f) => !linked.has(f.lfs!.oid));
    const bytesTotal = lfsFiles.reduce((n, f) => n + f.size, 0);
    let bytesDone = lfsFiles.filter((f) => linked.has(f.lfs!.oid)).reduce((n, f) => n + f.size, 0);
    let filesDone = lfsFiles.length - todo.length;
    ctx.log(`${revision ?? repo.defaultBranch} is ${commit}: ${lfsFiles.length} large files wanted, ${filesDone} already here, ${todo.length} to download`);
    ctx.progress({ bytesDone, bytesTotal, filesDone, filesTotal: lfsFiles.length });

    const inFlight = new Set<Fill>();
    const failures: Record<string, { path: string; error: string; at: string }> = { ...mirror.failures };
    const failed: string[] = [];
    const ticker = setInterval(() => {
      let partial = 0;
      for (const f of inFlight) partial += f.written;
      ctx.progress({ bytesDone: bytesDone + partial });
    }, 500);
    const queue = [...todo];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        if (ctx.signal.aborted) return;
        const { oid, size } = f.lfs!;
        try {
          if (await this.publiclyHeld(oid)) {
            ctx.log(`${f.path}: already stored for a public repository`);
          } else {
            const fill = fills.fill(oid, size, { type: repo.type, upstreamId: mirror.upstreamId, commit: upstreamCommit, path: f.path });
            fill.hold(ctx.signal);
            inFlight.add(fill);
            try {
              await fill.done;
            } finally {
              inFlight.delete(fill);
            }
            ctx.log(`${f.path}: ${size} bytes, SHA-256 verified`);
          }
          await this.deps.records.link(repo.id, oid);
          delete failures[oid];
          bytesDone += size;
          filesDone++;
          ctx.progress({ bytesDone, filesDone });
        } catch (err) {
          if (ctx.signal.aborted) return;
          const message = (err as Error).message;
          failures[oid] = { path: f.path, error: message, at: new Date().toISOString() };
          failed.push(`${f.path}: ${message}`);
          ctx.log(`${f.path}: FAILED: ${message}`);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.deps.config?.concurrency ?? 4, Math.max(todo.length, 1)) }, worker));
    } finally {
      clearInterval(ticker);
      await this.updateRow(repo.id, { failures });
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (failed.length) throw new Error(`${failed.length} of ${lfsFiles.length} files failed: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; ...' : ''}`);
    ctx.log(`done: ${filesDone} files, ${bytesDone} bytes`);
  }

  /**
   * An object already stored and linked to a public repository is public content: linking it to a
   * mirror reveals nothing. Anything else must be downloaded from the upstream (its bytes are the
   * proof that the upstream has it), never linked because the upstream named its hash.
   */
  private async publiclyHeld(oid: string): Promise<boolean> {
    if ((await this.deps.records.objectSize(oid)) === null) return false;
    for (const id of await this.deps.records.reposLinking(oid, 20)) {
      const r = await this.deps.db.repos.findById(id);
      if (r && !r.private) return true;
    }
    return false;
  }

  // ---- pull-through ------------------------------------------------------------------------------

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
    const upstream = this.upstreamOrFail();
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
    this.rows.set(repo.id, { at: Date.now(), row: mirror });
    try {
      await this.syncNow(repo, mirror);
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
    if (!this.enabled) return;
    const mirror = await this.mirrorOf(repo.id);
    // A repository imported from a client's cache syncs when an administrator asks (it may sit on a
    // machine that never reaches the upstream), not on reads.
    if (!mirror || mirror.source === 'cache-import') return;
    if (SHA.test(rev)) {
      const objects = await this.deps.store.objects(repo.id);
      if (objects.has(rev) || (await this.commitIds(repo))?.toLocal.has(rev)) return;
    }
    // A commit id not held here may be new upstream: asked again sooner than a branch, but not on
    // every request (ids nobody has must not turn into one upstream fetch each).
    const ttl = SHA.test(rev) ? Math.min(this.deps.config?.ttlMs ?? 600_000, UNKNOWN_COMMIT_RETRY_MS) : (this.deps.config?.ttlMs ?? 600_000);
    if (mirror.refsFetchedAt && Date.now() - mirror.refsFetchedAt.getTime() < ttl) return;
    const failed = this.refreshFailedAt.get(repo.id);
    if (failed && Date.now() - failed < REFRESH_RETRY_MS) return;
    const sync = this.syncNow(repo, mirror).then(
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
    const mirror = await this.mirrorOf(repo.id);
    if (!mirror) return null;
    const fills = this.deps.fills;
    if (!fills) throw offline(`${path} is not stored here and mirroring is off`, null);
    const upstreamCommit = (await this.commitIds(repo))?.toUpstream.get(commit) ?? commit;
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

  close(): Promise<void> {
    return this.deps.fills?.close() ?? Promise.resolve();
  }
}

/** How long a request waits for a refresh of a mirror's refs before it is answered from what is here. */
const REFRESH_WAIT_MS = 5000;
/** After a failed refresh, requests are answered from what is here for this long without asking again. */
const REFRESH_RETRY_MS = 30_000;

/** A commit id a mirror does not hold is asked of the upstream at most this often. */
const UNKNOWN_COMMIT_RETRY_MS = 30_000;

/** How long a mirror row read from the database is trusted. */
const MIRROR_ROW_TTL_MS = 2000;

/** How long a client's request waits for the first upstream bytes before it is told what went wrong. */
const FIRST_BYTE_WAIT_MS = 8000;

/** Not held here and not available from the upstream now: 503 (no Retry-After: clients would sleep on it). */
export function offline(what: string, cause: unknown): AppError {
  const why = cause instanceof UpstreamError || cause instanceof Error ? `: ${cause.message}` : '';
  return new AppError('unavailable', 'UpstreamUnavailable', `${what}${why}`, { cause });
}
