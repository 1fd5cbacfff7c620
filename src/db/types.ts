/**
 * The data-access contract the rest of packhub uses. Only src/db imports TypeORM; callers see these
 * plain types and the Db facade (src/db/db.ts).
 */
export type RepoType = 'model' | 'dataset' | 'space';
export type TokenScope = 'read' | 'write';

export interface UserRecord {
  id: number;
  name: string;
  email: string | null;
  isAdmin: boolean;
  passwordHash: string | null;
  /** Disabled accounts cannot sign in; their sessions are ended and their tokens refused. */
  disabled: boolean;
  /** Profile: full name and avatar image URL, null when not set. */
  fullname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
}

/** A signed-in browser; the cookie holds the random id, the database only its SHA-256. */
export interface SessionRecord {
  idHash: string;
  userId: number;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
}

export interface TokenRecord {
  id: number;
  userId: number;
  name: string;
  scope: TokenScope;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  tokenHash: string;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface RepoRecord {
  /** Immutable id: storage keys use it, so renames never move data. */
  id: string;
  type: RepoType;
  namespace: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Changes (to a fresh random value) in the same transaction as every change of the repository's
   * refs, live packs, gc epoch or gate mode: what a process read of those stays valid while this
   * stays the same (src/git/store/repo-state-cache.ts). Absent on records not read from the db.
   */
  stateVersion?: number;
}

export interface PackRecord {
  repoId: string;
  /** Pack checksum (40 hex); storage keys are repos/<repoId>/packs/pack-<name>.{pack,idx}. */
  name: string;
  objectCount: number;
  sizeBytes: number;
  source: 'receive' | 'insert' | 'compact';
  createdAt: Date;
  /** When a compaction superseded it (epoch ms), null while live. */
  supersededAt: number | null;
  /** A full clone known to need exactly this pack (src/git/store/clone-key.ts), or null. */
  cloneKey?: string | null;
}

export interface RefRecord {
  name: string;
  oid: string;
  /** For annotated tags: the oid the tag finally points at (peeled). */
  peeled: string | null;
}

/** oldOid null = create (must not exist); newOid null = delete. */
export interface RefUpdate {
  name: string;
  oldOid: string | null;
  newOid: string | null;
  peeled?: string | null;
}

/**
 * The reason commitPush gives the ref updates it did not apply because a compaction dropped objects
 * since the caller checked its write (the gc epoch moved): check again against the live objects, then
 * retry (GitStore.commit does).
 */
export const STALE_OBJECTS = 'objects were garbage-collected meanwhile';

export type RefUpdateResult = { name: string; ok: true } | { name: string; ok: false; reason: string };

export type OrgRole = 'read' | 'write' | 'admin';

export interface OrgRecord {
  id: number;
  name: string;
  /** Profile: full name and avatar image URL, null when not set. */
  fullname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
}

export interface MembershipRecord {
  org: OrgRecord;
  userId: number;
  role: OrgRole;
}
