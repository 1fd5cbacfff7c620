import type {
  MembershipRecord,
  OrgRecord,
  OrgRole,
  PackRecord,
  RefRecord,
  RefUpdate,
  RefUpdateResult,
  RepoRecord,
  RepoType,
  SessionRecord,
  TokenRecord,
  TokenScope,
  UserRecord,
} from './types.js';
import type { CommunityDb, LikesDb } from './community-types.js';
import type { JobsDb } from './jobs-db.js';
import type { WebhooksDb } from './webhooks-db.js';
import type { GatedDb } from './gated-db.js';
import type { DownloadsDb } from './downloads-db.js';
export type { DownloadsDb } from './downloads-db.js';
import type { LfsFilesDb } from './lfs-files-db.js';
export type { LfsFilesDb, RepoLfsFile } from './lfs-files-db.js';
import type { CollectionsDb } from './collections-db.js';
import type { ListingDb } from './listing-db.js';
export type { ListingDb, ListingQuery, ListingRow, ListingSort, ListingSummaryRecord } from './listing-db.js';
export type { CollectionFilter, CollectionItemRecord, CollectionItemType, CollectionRecord, CollectionsDb } from './collections-db.js';
export type { AccessRequestListItem, AccessRequestRecord, AccessStatus, GateMode, GatedDb } from './gated-db.js';

export * from './types.js';
export type { MirrorRecord, MirrorsDb, MirrorSource, MirrorState, MirrorFailure, MirrorHistory } from './mirror-db.js';
import type { MirrorsDb } from './mirror-db.js';
import type { CommitMapDb } from './commit-map-db.js';
export type { JobFilter, JobInput, JobLogLine, JobProgress, JobRecord, JobState, JobsDb } from './jobs-db.js';
export * from './community-types.js';
export type { WebhookDeliveryRecord, WebhookDeliveryState, WebhookRecord, WebhooksDb, WebhookWatch } from './webhooks-db.js';

/** What garbage collection needs from the database (src/db/gc-db.ts). */
export interface GcDb {
  /** The repository's gc epoch: bumped by every compaction that drops objects (0 for a missing repository). */
  epoch(repoId: string): Promise<number>;
  /**
   * A compaction that drops unreachable objects commits here: `pack` (durable; null when nothing is
   * kept; possibly one of `supersedes` already, with the same content) becomes the only live pack,
   * the rest of `supersedes` superseded, and the epoch moves on, in one transaction that locks the
   * repository row; only if the live packs are exactly `supersedes` and no ref was created or moved
   * since `refs` were read (deletions are fine). False, and nothing changed, otherwise.
   */
  replacePruning(repoId: string, pack: Omit<PackRecord, 'createdAt' | 'supersededAt'> | null, supersedes: string[], refs: RefRecord[]): Promise<boolean>;
  /** LFS objects linked to a repository, with when each link was made. */
  lfsLinks(repoId: string): Promise<{ oid: string; linkedAt: Date }[]>;
  lfsUnlink(repoId: string, oids: string[]): Promise<void>;
  /** Objects no repository links get `orphanedAt = now` (if not set); linked ones lose it. */
  lfsMarkOrphans(now: number): Promise<void>;
  /** Objects no repository links, with when that was first seen. */
  lfsOrphans(): Promise<{ oid: string; size: number; orphanedAt: number }[]>;
  /** Deletes the object's row if it is still linked nowhere and was orphaned at or before the cutoff; true if deleted. */
  lfsForget(oid: string, orphanedBefore: number): Promise<boolean>;
}

/**
 * The data-access facade. Implemented over TypeORM in src/db/typeorm-db.ts (SQLite embedded,
 * PostgreSQL in production); nothing outside src/db imports TypeORM.
 */
export interface Db {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * A value that changes after every write that can change what a token authenticates as (a token
   * deleted, a user disabled, deleted or made admin or not, a profile or a membership changed), made
   * by any process on this database (replicas, the CLI). Caches of principals
   * (src/auth/principal-cache.ts) hold only what they read under the current value.
   */
  authGeneration(): Promise<string>;
  users: {
    /**
     * Throws AppError('conflict', 'UserExists') when a user has exactly this name, and
     * AppError('conflict', 'NameTaken') when a user or organization has it in another case.
     */
    create(input: { name: string; email?: string | null; isAdmin?: boolean; passwordHash?: string | null }): Promise<UserRecord>;
    findByName(name: string): Promise<UserRecord | null>;
    findById(id: number): Promise<UserRecord | null>;
    /** Sets a new password and ends every session of the user (except `keepSession`, an id hash), in one transaction. */
    setPassword(id: number, passwordHash: string, keepSession?: string): Promise<void>;
    /** Disables (ending every session) or enables an account. */
    setDisabled(id: number, disabled: boolean): Promise<void>;
    /** Sets the profile's full name and avatar URL (a field left out stays; null clears it). */
    setProfile(id: number, profile: Partial<Pick<UserRecord, 'fullname' | 'avatarUrl'>>): Promise<UserRecord>;
    /** The profiles of these users, by name (names no user has are left out). */
    profiles(names: string[]): Promise<Map<string, { fullname: string | null; avatarUrl: string | null }>>;
    /** Makes the user an administrator of the hub, or no longer one. */
    setAdmin(id: number, isAdmin: boolean): Promise<void>;
    /** Every user, by name. */
    list(): Promise<UserRecord[]>;
    /**
     * Deletes an account with its tokens, sessions, memberships, locks and name. Refused (conflict)
     * while repositories live under its name (move or delete them first) or while it is the last
     * administrator of an organization.
     */
    delete(id: number): Promise<void>;
  };
  /** Users and organizations share one case-insensitive name space. */
  names: {
    /** Who holds this name in any letter case, or null. */
    holder(name: string): Promise<{ kind: 'user' | 'org'; name: string } | null>;
  };
  sessions: {
    /** Stores a new session; sessions past their expiry are removed on the way. */
    create(input: { idHash: string; userId: number; expiresAt: Date }): Promise<SessionRecord>;
    find(idHash: string): Promise<SessionRecord | null>;
    touch(idHash: string): Promise<void>;
    delete(idHash: string): Promise<void>;
    deleteForUser(userId: number): Promise<void>;
    /** Removes sessions past their expiry; returns how many. */
    deleteExpired(now?: Date): Promise<number>;
  };
  tokens: {
    create(input: { userId: number; name: string; scope: TokenScope; tokenHash: string; expiresAt?: Date | null }): Promise<TokenRecord>;
    findByHash(tokenHash: string): Promise<TokenRecord | null>;
    listForUser(userId: number): Promise<TokenRecord[]>;
    touch(id: number): Promise<void>;
    delete(id: number): Promise<void>;
  };
  orgs: {
    /** Throws AppError('conflict', 'NameTaken') when a user or an organization has the name, in any letter case. */
    create(name: string): Promise<OrgRecord>;
    findByName(name: string): Promise<OrgRecord | null>;
    /** Sets the profile's full name and avatar URL (a field left out stays; null clears it). */
    setProfile(id: number, profile: Partial<Pick<OrgRecord, 'fullname' | 'avatarUrl'>>): Promise<OrgRecord>;
    /** Add a member or change their role. */
    setMember(orgId: number, userId: number, role: OrgRole): Promise<void>;
    removeMember(orgId: number, userId: number): Promise<void>;
    members(orgId: number): Promise<MembershipRecord[]>;
    membershipsOf(userId: number): Promise<MembershipRecord[]>;
  };
  quotas: {
    /** Limits in bytes (null: unlimited), apart for private and public repositories. */
    get(namespace: string): Promise<{ privateBytes: number | null; publicBytes: number | null } | null>;
    set(namespace: string, limits: { privateBytes: number | null; publicBytes: number | null }): Promise<void>;
    /** Bytes a namespace stores: live packs plus the LFS objects linked to its repositories. */
    usage(namespace: string): Promise<{ privateBytes: number; publicBytes: number }>;
    /** usage() of every namespace at once, by namespace as repositories store it (one without stored bytes is left out). */
    usageByNamespace(): Promise<Map<string, { privateBytes: number; publicBytes: number }>>;
  };
  repos: {
    /** Throws AppError('conflict', 'RepoExists') when (type, namespace, name) is taken in any letter case; drops a redirect from that name. */
    create(input: { type: RepoType; namespace: string; name: string; private?: boolean; defaultBranch?: string }): Promise<RepoRecord>;
    /** Namespace and name compare case-insensitively (the stored case is returned). */
    find(type: RepoType, namespace: string, name: string): Promise<RepoRecord | null>;
    /** The repository that was moved away from this name (case-insensitively), while no repository has taken the name. */
    findMoved(type: RepoType, namespace: string, name: string): Promise<RepoRecord | null>;
    findById(id: string): Promise<RepoRecord | null>;
    list(filter?: { type?: RepoType; namespace?: string }): Promise<RepoRecord[]>;
    /**
     * Change visibility, default branch or name (the id, and so the stored data, never moves). A new
     * name (other than a change of letter case) leaves a redirect from the old one (findMoved).
     */
    update(id: string, patch: Partial<Pick<RepoRecord, 'private' | 'defaultBranch' | 'namespace' | 'name'>>): Promise<RepoRecord>;
    delete(id: string): Promise<void>;
    /**
     * Bytes each repository stores: its live packs plus the LFS objects linked to it (shared ones
     * count for each). Of the given ids (0 for one that stores nothing), or, without ids, of every
     * repository that stores something.
     */
    usedStorage(ids?: string[]): Promise<Map<string, number>>;
  };
  packs: {
    listLive(repoId: string): Promise<PackRecord[]>;
    /** Of every repository with live packs: their bytes and when the newest of them was made (one query). */
    liveTotals(): Promise<Map<string, { bytes: number; newestAt: Date }>>;
    /**
     * Compaction's commit point: registers `pack` (already durable in the BlobStore) as live and
     * marks the packs it replaces superseded, in one transaction, only if every one of them is
     * still live (false, and nothing changed, when another compaction got there first).
     */
    replace(repoId: string, pack: Omit<PackRecord, 'createdAt' | 'supersededAt'>, supersedes: string[]): Promise<boolean>;
    listSuperseded(repoId: string): Promise<PackRecord[]>;
    /** Records the full clone a pack answers exactly (src/git/store/clone-key.ts). */
    setCloneKey(repoId: string, name: string, key: string): Promise<void>;
    /** Deletes the rows of these packs if they are still superseded; returns the names deleted. */
    forgetSuperseded(repoId: string, names: string[]): Promise<string[]>;
  };
  refs: {
    list(repoId: string): Promise<RefRecord[]>;
    get(repoId: string, name: string): Promise<RefRecord | null>;
  };
  /**
   * The single commit point of a push or API commit: registers the pack (already durable in the
   * BlobStore), then applies the ref updates by compare-and-swap. With atomic, the pack row and all
   * refs change in one transaction or nothing changes (every ref then fails with the first reason).
   * Without atomic, the pack row commits first, then each ref in its own CAS.
   * Results come back in input order. Reasons are git's words: 'failed to update ref' (CAS lost),
   * 'reference already exists', 'atomic transaction failed', ref D/F conflicts ('cannot lock ref ...').
   * With `epoch` (the gc epoch the write was checked at), each transaction first locks the repository
   * row and finds the epoch unchanged; if it moved, that transaction and the ones after it change
   * nothing and their updates come back with reason STALE_OBJECTS.
   */
  commitPush(repoId: string, pack: Omit<PackRecord, 'createdAt' | 'supersededAt'> | null, updates: RefUpdate[], opts: { atomic: boolean; epoch?: number }): Promise<RefUpdateResult[]>;
  gc: GcDb;
  /** Repositories that mirror the upstream hub (src/mirror). */
  mirrors: MirrorsDb;
  /** Upstream ids of a REST-synced mirror's synthetic commits (src/db/commit-map-db.ts). */
  commitMap: CommitMapDb;
  /** Background jobs and their logs (src/db/jobs-db.ts). */
  jobs: JobsDb;
  /** Discussions and pull requests (src/db/community-db.ts). */
  community: CommunityDb;
  /** Likes of repositories (src/db/likes-db.ts). */
  likes: LikesDb;
  /** Webhooks and their delivery log (src/db/webhooks-db.ts). */
  webhooks: WebhooksDb;
  /** Gated repositories and access requests (src/db/gated-db.ts). */
  gated: GatedDb;
  /** Download counts of repositories per day (src/db/downloads-db.ts). */
  downloads: DownloadsDb;
  /** Repository listings in SQL, and the head summaries they sort and filter by (src/db/listing-db.ts). */
  listing: ListingDb;
  /** A repository's LFS objects and their permanent deletion (src/db/lfs-files-db.ts). */
  lfsFiles: LfsFilesDb;
  /** Collections and their items (src/db/collections-db.ts). */
  collections: CollectionsDb;
  ping(): Promise<void>;
  close(): Promise<void>;
}
