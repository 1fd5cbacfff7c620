import type { PackRecord, RefRecord } from '../../db/db.js';

/** What one read of a repository's git state gave: its refs, its live packs (newest first) and its gc epoch. */
export interface RepoState {
  refs: RefRecord[];
  packs: string[];
  epoch: number;
}

/** Repositories whose state is kept; past this the least recently used are forgotten (a bound, not a rule). */
const MAX_REPOS = 2000;

/**
 * What was read of recently read repositories (their refs, live packs and gc epoch by default; the
 * gate mode for src/community/gated.ts), each under the state version
 * (RepoRecord.stateVersion) its repository row had when the read began. The version changes in the
 * same transaction as every change of those (src/db/typeorm-db.ts, bumpState), whichever process
 * makes it, so an entry is used only for a row read now that shows the same version: a push or a
 * compaction on another replica is seen by the next request that reads the row, never later.
 * Versions are random: one seen in a transaction that rolled back never names a later state.
 */
export class RepoStateCache<T = RepoState> {
  private readonly entries = new Map<string, { version: number; state: Promise<T> }>();

  constructor(private readonly load: (repoId: string) => Promise<T>) {}

  /**
   * The state of a repository whose row (read just now) shows `version`: kept, or read from the db
   * (one read for concurrent callers) and kept under that version. The version must have been read
   * before this call, so a kept state is never older than the version it is kept under.
   */
  get(repoId: string, version: number): Promise<T> {
    const hit = this.entries.get(repoId);
    if (hit && hit.version === version) {
      this.entries.delete(repoId);
      this.entries.set(repoId, hit);
      return hit.state;
    }
    const state = this.load(repoId);
    const entry = { version, state };
    this.entries.delete(repoId);
    this.entries.set(repoId, entry);
    state.catch(() => {
      if (this.entries.get(repoId) === entry) this.entries.delete(repoId);
    });
    if (this.entries.size > MAX_REPOS) this.entries.delete(this.entries.keys().next().value!);
    return state;
  }

  /** Forgets a repository (deleted). */
  forget(repoId: string): void {
    this.entries.delete(repoId);
  }
}

/** Live packs newest first, by name (the order RepoObjects searches them in). */
export function packOrder(live: PackRecord[]): string[] {
  return [...live].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map((p) => p.name);
}
