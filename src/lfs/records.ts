/** What the LFS server needs from the database (implemented in src/db). */
export interface LfsLock {
  id: string;
  repoId: string;
  path: string;
  ownerId: number;
  ownerName: string;
  ref: string | null;
  lockedAt: Date;
}

export interface LfsRecords {
  /** Verified objects, hub-wide: oid -> size. */
  objectSize(oid: string): Promise<number | null>;
  recordObject(oid: string, size: number): Promise<void>;
  /** Link a verified object to a repository (idempotent). */
  link(repoId: string, oid: string): Promise<void>;
  /** Which of these oids are linked to the repository. */
  linked(repoId: string, oids: string[]): Promise<Set<string>>;
  /** Ids of the repositories this oid is linked to (at most `limit`). */
  reposLinking(oid: string, limit: number): Promise<string[]>;
  locks: {
    /** Throws AppError('conflict', 'LockExists') with details.lock when the path is locked. */
    create(input: { repoId: string; path: string; ownerId: number; ref: string | null }): Promise<LfsLock>;
    list(repoId: string, filter: { path?: string; id?: string; cursor?: string; limit: number }): Promise<{ locks: LfsLock[]; nextCursor: string | null }>;
    get(repoId: string, id: string): Promise<LfsLock | null>;
    delete(repoId: string, id: string): Promise<void>;
  };
}
