import type { MirrorRecord, RepoRecord } from '../db/db.js';
import { upstreamOrFail, type GitSyncSummary, type MirrorServiceDeps } from './common.js';
import { syncByHistoryMethod } from './history-method.js';
import type { MirrorRows } from './mirror-rows.js';
import { repoPath } from './upstream.js';

/**
 * A mirror's history fetched from the upstream: by git (the upstream's commits) or by its REST API
 * (synthetic commits), as the mirror's `history` says; the default branch and the mirror's state
 * follow. One fetch per repository at a time.
 */
export class HistorySync {
  private readonly syncing = new Map<string, Promise<GitSyncSummary>>();

  constructor(
    private readonly deps: MirrorServiceDeps,
    private readonly rows: MirrorRows,
  ) {}

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
    const upstream = upstreamOrFail(this.deps.upstream);
    const url = upstream.url(`${repoPath(repo.type, mirror.upstreamId)}.git`);
    await this.rows.update(repo.id, { state: 'syncing' });
    try {
      const result = await this.syncHistory(repo, mirror, url, opts);
      const head = result.headTarget?.startsWith('refs/heads/') ? result.headTarget.slice('refs/heads/'.length) : null;
      if (head && head !== repo.defaultBranch) await db.repos.update(repo.id, { defaultBranch: head });
      await this.rows.update(repo.id, { state: 'synced', lastError: null, refsFetchedAt: new Date() });
      const from = result.method === 'rest' ? `${upstream.label} by its REST API (synthetic commits)` : url;
      opts.log?.(`synced ${result.refs.length} refs from ${from}: ${result.updated.length} changed, ${result.objects} objects (${result.packBytes} bytes)`);
      for (const u of result.updated) opts.log?.(`  ${u.name}: ${u.from?.slice(0, 12) ?? '(new)'} -> ${u.to?.slice(0, 12) ?? '(deleted)'}${u.forced ? ' (forced)' : ''}`);
      return result;
    } catch (err) {
      await this.rows.update(repo.id, { state: 'failed', lastError: (err as Error).message }).catch(() => undefined);
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
      upstreamLabel: upstreamOrFail(this.deps.upstream).label,
      upstreamId: mirror.upstreamId,
      byGit: async () => ({ ...(await this.gitFetch(repo, mirror, url, opts)), method: 'git' }),
      byRest: rest
        ? async (why) => {
            opts.log?.(`${why}: syncing by the REST API (one synthetic commit per upstream tip)`);
            try {
              return { ...(await rest({ repo, upstreamId: mirror.upstreamId, includePrs: mirror.includePrs, signal: opts.signal, log: this.deps.log.child({ repoId: repo.id }), onProgress: (p) => opts.onProgress?.(p.bytes) })), method: 'rest' };
            } finally {
              this.rows.forgetCommitIds(repo.id);
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
      log: this.deps.log.child({ repoId: repo.id, upstream: upstreamOrFail(this.deps.upstream).label }),
      onProgress: (p) => opts.onProgress?.(p.bytes),
    });
  }
}
