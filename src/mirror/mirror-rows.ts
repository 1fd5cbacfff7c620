import type { Db, MirrorRecord, RepoRecord } from '../db/db.js';
import type { CommitIdMap } from '../repos/revisions.js';
import { repoLabel } from './common.js';

/** How long a mirror row read from the database is trusted. */
const MIRROR_ROW_TTL_MS = 2000;

/**
 * What this process remembers of the mirror rows and of the commit maps of REST-synced mirrors: both
 * are asked on every read of every repository, so each is kept for a moment (a change on another
 * replica shows here within MIRROR_ROW_TTL_MS).
 */
export class MirrorRows {
  private readonly rows = new Map<string, { at: number; row: MirrorRecord | null }>();
  private readonly idMaps = new Map<string, { at: number; ids: CommitIdMap | null }>();

  constructor(private readonly db: Db) {}

  /** The mirror row of a repository, or null (not a mirror, or detached). */
  async get(repoId: string): Promise<MirrorRecord | null> {
    const cached = this.rows.get(repoId);
    if (cached && Date.now() - cached.at < MIRROR_ROW_TTL_MS) return cached.row;
    const row = await this.db.mirrors.get(repoId);
    if (this.rows.size > 10_000) this.rows.clear();
    this.rows.set(repoId, { at: Date.now(), row });
    return row;
  }

  /** A row this process has just written. */
  remember(repoId: string, row: MirrorRecord): void {
    this.rows.set(repoId, { at: Date.now(), row });
  }

  forget(repoId: string): void {
    this.rows.delete(repoId);
  }

  /** Changes the mirror row (and what this process remembers of it). */
  async update(repoId: string, patch: Parameters<Db['mirrors']['update']>[1]): Promise<void> {
    const row = await this.db.mirrors.update(repoId, patch);
    this.rows.set(repoId, { at: Date.now(), row });
  }

  /** The repository a job is for and its mirror row; throws when either is gone. */
  async load(repoId: string | null): Promise<{ repo: RepoRecord; mirror: MirrorRecord }> {
    const repo = repoId ? await this.db.repos.findById(repoId) : null;
    if (!repo) throw new Error('the repository of this job no longer exists');
    const mirror = await this.get(repo.id);
    if (!mirror) throw new Error(`${repoLabel(repo)} is not a mirror (detached?)`);
    return { repo, mirror };
  }

  /**
   * The commit ids of a mirror whose history is synthetic (REST-synced): upstream id <-> local
   * commit. null for any other repository.
   */
  async commitIds(repo: RepoRecord): Promise<CommitIdMap | null> {
    if (!(await this.get(repo.id))) return null;
    const cached = this.idMaps.get(repo.id);
    if (cached && Date.now() - cached.at < MIRROR_ROW_TTL_MS) return cached.ids;
    const rows = await this.db.commitMap.list(repo.id);
    const ids = rows.length ? { toLocal: new Map(rows.map((r) => [r.upstreamSha, r.localSha])), toUpstream: new Map(rows.map((r) => [r.localSha, r.upstreamSha])) } : null;
    if (this.idMaps.size > 10_000) this.idMaps.clear();
    this.idMaps.set(repo.id, { at: Date.now(), ids });
    return ids;
  }

  /** After a REST sync the repository's commit map is read anew. */
  forgetCommitIds(repoId: string): void {
    this.idMaps.delete(repoId);
  }
}
