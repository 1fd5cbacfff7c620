import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { In, type DataSource, type EntityManager, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { Database, Statement } from 'better-sqlite3';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { nameKey } from '../core/names.js';
import type { Logger } from '../core/logger.js';
import type { LfsLock, LfsRecords } from '../lfs/records.js';
import { createCommunityDb } from './community-db.js';
import { createDataSource } from './data-source.js';
import { createJobsDb } from './jobs-db.js';
import { createLikesDb } from './likes-db.js';
import { createCommitMapDb } from './commit-map-db.js';
import { createWebhooksDb } from './webhooks-db.js';
import { createGatedDb } from './gated-db.js';
import { createDownloadsDb } from './downloads-db.js';
import { createListingDb } from './listing-db.js';
import { createCollectionsDb, deleteCollectionsOf } from './collections-db.js';
import type { Db, PackRecord, RefUpdate, RefUpdateResult, RepoRecord, SessionRecord, TokenRecord, UserRecord } from './db.js';
import {
  CollectionItemEntity,
  DiscussionEntity,
  DiscussionEventEntity,
  RepoLikeEntity,
  LfsLockEntity,
  LfsObjectEntity,
  MembershipEntity,
  MirrorEntity,
  CommitMapEntity,
  NamespaceNameEntity,
  OrgEntity,
  PackEntity,
  QuotaEntity,
  RefEntity,
  RepoAccessRequestEntity,
  RepoDownloadEntity,
  RepoEntity,
  RepoListingEntity,
  RepoListingTagEntity,
  RepoRedirectEntity,
  RepoGateEntity,
  RepoLfsObjectEntity,
  RepoLfsDeletionEntity,
  SessionEntity,
  SettingEntity,
  TokenEntity,
  UserEntity,
} from './entities/index.js';
import { Mutex } from './mutex.js';
import { createMirrorsDb } from './mirror-db.js';
import { bumpState, createGcDb, lockRepo } from './gc-db.js';
import { createLfsFilesDb } from './lfs-files-db.js';
import { STALE_OBJECTS } from './types.js';

/** Repository ids bound in one IN list (SQLite allows 32,766 bound variables in a statement). */
const USED_STORAGE_SLICE = 5000;

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e.message ?? '');
};

const toUser = (u: UserEntity): UserRecord => ({ ...u });
const toToken = (t: TokenEntity): TokenRecord => ({ ...t });
const toSession = (x: SessionEntity): SessionRecord => ({ ...x });
const toRepo = ({ namespaceKey: _ns, nameKey: _name, ...r }: RepoEntity): RepoRecord => ({ ...r });
/** The lower-cased keys repository lookups compare: ids are case-insensitive. */
const repoKeys = (namespace: string, name: string) => ({ namespaceKey: nameKey(namespace), nameKey: nameKey(name) });

/** Rolls back a pack replacement that lost the race against another one. */
class PacksChanged extends Error {}

/** Rolls back a write whose objects were checked at an older gc epoch. */
class StaleEpoch extends Error {}

class RefRejected extends Error {
  constructor(
    readonly ref: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface OpenedDb extends Db {
  lfs: LfsRecords;
  settings: { getOrCreate(key: string, make: () => string): Promise<string> };
  dataSource: DataSource;
}

/** Open the database, run pending migrations, and return the Db facade over it. */
export async function openDb(database: Config['database'], log: Logger): Promise<OpenedDb> {
  if (database.kind === 'sqlite') fs.mkdirSync(path.dirname(database.file), { recursive: true });
  if (database.kind === 'postgres') await ensureSchema(database.url);
  const ds = createDataSource(database);
  await ds.initialize();
  const applied = await ds.runMigrations({ transaction: 'each' });
  if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'database migrated');
  const sqlite = database.kind === 'sqlite';
  const mutex = new Mutex();
  /** Every write transaction goes through here: serialized on SQLite, concurrent on PostgreSQL. */
  const tx = <T>(fn: (m: EntityManager) => Promise<T>): Promise<T> => (sqlite ? mutex.run(() => ds.transaction(fn)) : ds.transaction(fn));
  const write = <T>(fn: () => Promise<T>): Promise<T> => (sqlite ? mutex.run(fn) : fn());
  /**
   * Reads of refs and packs. SQLite has one connection, so a read issued while a transaction is
   * open would run inside it and could see refs that are then rolled back: on SQLite they wait
   * their turn. (better-sqlite3 runs statements synchronously, so this costs no parallelism.)
   */
  const read = write;
  /**
   * Whole rows of one entity by a fixed WHERE clause (column names, `?` placeholders), without the
   * query builder: for the lookups every request makes (its repository, the auth generation), where
   * building the query and mapping its result took four times as long as running it. Values are
   * hydrated by the driver column by column, as the builder does.
   */
  const rowsWhere = <E>(entity: new () => E, where: string) => {
    const meta = ds.getMetadata(entity);
    let n = 0;
    const sql = `SELECT * FROM ${ds.driver.escape(meta.tableName)} WHERE ${sqlite ? where : where.replace(/\?/g, () => `$${++n}`)}`;
    if (sqlite) {
      // On SQLite, better-sqlite3's statement itself, its rows as arrays: TypeORM's query runner and
      // the driver's row objects (one property set by name per column) cost several times the read.
      let stmt: Statement<unknown[], unknown[]> | null = null;
      let columns: ColumnMetadata[] = [];
      return (...params: unknown[]): Promise<E[]> =>
        read(async () => {
          if (!stmt) {
            stmt = ((ds.driver as unknown as { databaseConnection: Database }).databaseConnection.prepare(sql) as Statement<unknown[], unknown[]>).raw(true);
            columns = stmt.columns().map((c) => meta.columns.find((m) => m.databaseName === c.name)!);
          }
          return stmt.all(...params).map((row) => {
            const e: Record<string, unknown> = {};
            for (let i = 0; i < columns.length; i++) e[columns[i]!.propertyName] = ds.driver.prepareHydratedValue(row[i], columns[i]!);
            return e as E;
          });
        });
    }
    return async (...params: unknown[]): Promise<E[]> => {
      const rows: Record<string, unknown>[] = await read(() => ds.query(sql, params));
      return rows.map((row) => {
        const e: Record<string, unknown> = {};
        for (const c of meta.columns) e[c.propertyName] = ds.driver.prepareHydratedValue(row[c.databaseName], c);
        return e as E;
      });
    };
  };
  const repoByKeys = rowsWhere(RepoEntity, '"type" = ? AND "namespace_key" = ? AND "name_key" = ? LIMIT 1');
  const settingByKey = rowsWhere(SettingEntity, '"key" = ? LIMIT 1');

  /**
   * See Db.authGeneration: a random value in the settings table, set anew after each write that can
   * change what a token authenticates as, by whichever process made it (a replica, the CLI).
   */
  const AUTH_GENERATION_KEY = 'auth.generation';
  const bumpAuthGeneration = () =>
    write(() => ds.createQueryBuilder().insert().into(SettingEntity).values({ key: AUTH_GENERATION_KEY, value: crypto.randomUUID() }).orUpdate(['value'], ['key']).execute());
  const authChanged = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } finally {
      await bumpAuthGeneration();
    }
  };

  /** One CAS step inside a transaction; throws RefRejected. */
  const applyRef = async (m: EntityManager, repoId: string, u: RefUpdate) => {
    const refs = m.getRepository(RefEntity);
    if (u.oldOid === null) {
      if (u.newOid === null) return;
      // D/F conflicts: refs/heads/a blocks refs/heads/a/b and the other way round.
      const parts = u.name.split('/');
      const parents = parts.slice(1, -1).map((_, i) => parts.slice(0, i + 2).join('/'));
      const parent = parents.length ? await refs.findOne({ where: { repoId, name: In(parents) }, select: { name: true } }) : null;
      if (parent) throw new RefRejected(u.name, `cannot lock ref '${u.name}': reference is in the way ('${parent.name}' exists; cannot create '${u.name}')`);
      // Refs below this name: compared by exact prefix (LIKE would be case-insensitive on SQLite).
      const below = await m
        .createQueryBuilder(RefEntity, 'r')
        .select('r.name', 'name')
        .where('r.repo_id = :repoId AND substr(r.name, 1, :len) = :prefix', { repoId, len: u.name.length + 1, prefix: `${u.name}/` })
        .limit(1)
        .getRawOne<{ name: string }>();
      if (below) throw new RefRejected(u.name, `cannot lock ref '${u.name}': reference is in the way ('${below.name}' exists; cannot create '${u.name}')`);
      try {
        await m.createQueryBuilder().insert().into(RefEntity).values({ repoId, name: u.name, oid: u.newOid, peeled: u.peeled ?? null }).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw new RefRejected(u.name, 'reference already exists');
        throw err;
      }
      return;
    }
    if (u.newOid === null) {
      const r = await m.createQueryBuilder().delete().from(RefEntity).where('repo_id = :repoId AND name = :name AND oid = :old', { repoId, name: u.name, old: u.oldOid }).execute();
      if (!r.affected) throw new RefRejected(u.name, 'failed to update ref');
      return;
    }
    const r = await m
      .createQueryBuilder()
      .update(RefEntity)
      .set({ oid: u.newOid, peeled: u.peeled ?? null })
      .where('repo_id = :repoId AND name = :name AND oid = :old', { repoId, name: u.name, old: u.oldOid })
      .execute();
    if (!r.affected) throw new RefRejected(u.name, 'failed to update ref');
  };

  /**
   * Apply ref updates in one transaction. On PostgreSQL, a transaction that creates refs first
   * locks the repository row: two replicas creating refs/heads/a and refs/heads/a/b at once would
   * otherwise both pass the D/F check. Updates and deletes need no lock (the conditional UPDATE is
   * the compare-and-swap). Refs are applied in name order so row locks are always taken in the
   * same order (no deadlock between two atomic pushes).
   */
  const applyRefs = async (m: EntityManager, repoId: string, updates: RefUpdate[], epoch?: number) => {
    await lockForRefs(m, repoId, updates, epoch);
    for (const u of [...updates].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) await applyRef(m, repoId, u);
  };

  /**
   * First in a transaction that applies these updates: gives the repository a fresh state version,
   * which locks its row in update mode (creators of refs must exclude each other; the gc epoch must
   * hold), before any ref row is touched. Throws StaleEpoch when the epoch moved.
   */
  const lockForRefs = async (m: EntityManager, repoId: string, _updates: RefUpdate[], epoch?: number) => {
    await bumpState(m, repoId);
    if (epoch === undefined) return;
    const current = await lockRepo(m, repoId, 'update', sqlite);
    if (current !== null && current !== epoch) throw new StaleEpoch();
  };

  /** Idempotent on (repo_id, name); a pack pushed again is live again. */
  const insertPack = async (m: EntityManager, pack: Omit<PackRecord, 'createdAt' | 'supersededAt'>) => {
    await m.createQueryBuilder().insert().into(PackEntity).values({ ...pack, state: 'live', supersededAt: null }).orUpdate(['state', 'superseded_at'], ['repo_id', 'name']).execute();
  };

  /**
   * What quotas.usage counts (live packs plus the LFS objects linked to its repositories, apart for
   * private and public ones), of one namespace or of every namespace at once: two grouped queries.
   */
  const namespaceUsage = async (namespace?: string) => {
    const grouped = <T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, bytes: string) =>
      (namespace === undefined ? qb : qb.andWhere('r.namespace = :namespace', { namespace }))
        .select('r.namespace', 'namespace')
        .addSelect('r.private', 'private')
        .addSelect(`SUM(${bytes})`, 'bytes')
        .groupBy('r.namespace')
        .addGroupBy('r.private')
        .getRawMany<{ namespace: string; private: unknown; bytes: unknown }>();
    const packs = await grouped(ds.createQueryBuilder(PackEntity, 'p').innerJoin(RepoEntity, 'r', 'r.id = p.repo_id').where('p.state = :live', { live: 'live' }), 'p.size_bytes');
    const lfs = await grouped(ds.createQueryBuilder(RepoLfsObjectEntity, 'l').innerJoin(LfsObjectEntity, 'o', 'o.oid = l.oid').innerJoin(RepoEntity, 'r', 'r.id = l.repo_id'), 'o.size');
    const out = new Map<string, { privateBytes: number; publicBytes: number }>();
    for (const row of [...packs, ...lfs]) {
      const isPrivate = row.private === true || row.private === 1 || row.private === '1' || row.private === 't';
      const u = out.get(row.namespace) ?? { privateBytes: 0, publicBytes: 0 };
      u[isPrivate ? 'privateBytes' : 'publicBytes'] += Number(row.bytes ?? 0);
      out.set(row.namespace, u);
    }
    return out;
  };

  const packRecord = (p: PackEntity): PackRecord => ({ repoId: p.repoId, name: p.name, objectCount: p.objectCount, sizeBytes: p.sizeBytes, source: p.source, createdAt: p.createdAt, supersededAt: p.supersededAt, cloneKey: p.cloneKey ?? null });

  const lockJoin = async (locks: LfsLockEntity[]): Promise<LfsLock[]> => {
    const owners = locks.length ? await ds.getRepository(UserEntity).findBy({ id: In([...new Set(locks.map((l) => l.ownerId))]) }) : [];
    const names = new Map(owners.map((u) => [u.id, u.name]));
    return locks.map((l) => ({ ...l, ownerName: names.get(l.ownerId) ?? `user-${l.ownerId}` }));
  };

  /** The conflict a taken account name is reported as (an exact duplicate user keeps its old code). */
  const nameConflict = async (name: string, creating: 'user' | 'org'): Promise<AppError> => {
    const held = await ds.getRepository(NamespaceNameEntity).findOneBy({ nameKey: nameKey(name) });
    const holder = held ? `${held.kind === 'user' ? 'user' : 'organization'} '${held.name}'` : `another account`;
    if (creating === 'user' && held?.kind === 'user' && held.name === name) return new AppError('conflict', 'UserExists', `user ${name} already exists`);
    if (creating === 'org' && held?.kind === 'org' && held.name === name) return new AppError('conflict', 'NameTaken', `organization ${name} already exists`);
    return new AppError('conflict', 'NameTaken', `the name '${name}' is taken by ${holder} (user and organization names are unique regardless of letter case)`);
  };

  const db: OpenedDb = {
    kind: database.kind,
    authGeneration: async () => (await settingByKey(AUTH_GENERATION_KEY))[0]?.value ?? '',
    dataSource: ds,
    community: createCommunityDb(ds, tx, sqlite),
    likes: createLikesDb(ds, write),
    webhooks: createWebhooksDb(ds, write),
    gated: createGatedDb(ds, write),
    downloads: createDownloadsDb(ds, write, database.kind),
    listing: createListingDb(ds, write, read, database.kind),
    lfsFiles: createLfsFilesDb(ds, tx),
    collections: createCollectionsDb(ds, tx, sqlite),
    users: {
      async create(input) {
        try {
          const u = await tx(async (m) => {
            // The name's case-insensitive key first: in the same transaction, so of two concurrent
            // registrations of `Bob` and `bob` the primary key lets exactly one commit.
            await m.insert(NamespaceNameEntity, { nameKey: nameKey(input.name), kind: 'user', name: input.name });
            return m.save(m.create(UserEntity, { name: input.name, email: input.email ?? null, isAdmin: !!input.isAdmin, passwordHash: input.passwordHash ?? null, disabled: false }));
          });
          return toUser(u);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          throw await nameConflict(input.name, 'user');
        }
      },
      async findByName(name) {
        const u = await ds.getRepository(UserEntity).findOneBy({ name });
        return u ? toUser(u) : null;
      },
      async findById(id) {
        const u = await ds.getRepository(UserEntity).findOneBy({ id });
        return u ? toUser(u) : null;
      },
      async setPassword(id, passwordHash, keepSession) {
        await tx(async (m) => {
          await m.update(UserEntity, { id }, { passwordHash });
          const q = m.createQueryBuilder().delete().from(SessionEntity).where('user_id = :id', { id });
          if (keepSession) q.andWhere('id_hash <> :keep', { keep: keepSession });
          await q.execute();
        });
      },
      async setDisabled(id, disabled) {
        await authChanged(tx(async (m) => {
          await m.update(UserEntity, { id }, { disabled });
          if (disabled) await m.delete(SessionEntity, { userId: id });
        }));
      },
      async setProfile(id, profile) {
        const patch = { ...(profile.fullname !== undefined ? { fullname: profile.fullname } : {}), ...(profile.avatarUrl !== undefined ? { avatarUrl: profile.avatarUrl } : {}) };
        if (Object.keys(patch).length) await authChanged(write(() => ds.getRepository(UserEntity).update({ id }, patch)));
        return toUser(await ds.getRepository(UserEntity).findOneByOrFail({ id }));
      },
      async profiles(names) {
        const out = new Map<string, { fullname: string | null; avatarUrl: string | null }>();
        const unique = [...new Set(names)];
        for (let i = 0; i < unique.length; i += 500) {
          const rows = await ds.getRepository(UserEntity).find({ where: { name: In(unique.slice(i, i + 500)) }, select: { name: true, fullname: true, avatarUrl: true } });
          for (const r of rows) out.set(r.name, { fullname: r.fullname, avatarUrl: r.avatarUrl });
        }
        return out;
      },
      async setAdmin(id, isAdmin) {
        await authChanged(ds.getRepository(UserEntity).update({ id }, { isAdmin }));
      },
      async list() {
        return (await ds.getRepository(UserEntity).find({ order: { name: 'ASC' } })).map(toUser);
      },
      async delete(id) {
        await authChanged(tx(async (m) => {
          const user = await m.findOneBy(UserEntity, { id });
          if (!user) throw new AppError('not_found', 'UserNotFound', `no user with id ${id}`);
          const repos = await m.find(RepoEntity, { where: { namespace: user.name }, take: 5 });
          if (repos.length > 0) {
            const names = repos.map((r) => `${r.namespace}/${r.name}`).join(', ');
            throw new AppError('conflict', 'UserHasRepositories', `${user.name} still has repositories (${names}${repos.length === 5 ? ', ...' : ''}): move or delete them first`);
          }
          for (const ms of await m.find(MembershipEntity, { where: { userId: id, role: 'admin' } })) {
            if ((await m.count(MembershipEntity, { where: { orgId: ms.orgId, role: 'admin' } })) === 1) {
              const org = await m.findOneBy(OrgEntity, { id: ms.orgId });
              throw new AppError('conflict', 'LastOrgAdmin', `${user.name} is the last administrator of the organization ${org?.name ?? ms.orgId}: make someone else its administrator first`);
            }
          }
          await m.delete(TokenEntity, { userId: id });
          await m.delete(SessionEntity, { userId: id });
          await m.delete(MembershipEntity, { userId: id });
          await m.delete(LfsLockEntity, { ownerId: id });
          await m.delete(RepoAccessRequestEntity, { userId: id });
          await m.delete(QuotaEntity, { namespace: user.name });
          await deleteCollectionsOf(m, user.name);
          await m.delete(NamespaceNameEntity, { nameKey: nameKey(user.name) });
          await m.delete(UserEntity, { id });
        }));
      },
    },
    names: {
      async holder(name) {
        const n = await ds.getRepository(NamespaceNameEntity).findOneBy({ nameKey: nameKey(name) });
        return n ? { kind: n.kind, name: n.name } : null;
      },
    },
    sessions: {
      async create(input) {
        const now = new Date();
        const row = await tx(async (m) => {
          await m.createQueryBuilder().delete().from(SessionEntity).where('expires_at <= :now', { now: now.getTime() }).execute();
          return m.save(m.create(SessionEntity, { idHash: input.idHash, userId: input.userId, expiresAt: input.expiresAt, lastSeenAt: now }));
        });
        return toSession(row);
      },
      async find(idHash) {
        const x = await ds.getRepository(SessionEntity).findOneBy({ idHash });
        return x ? toSession(x) : null;
      },
      async touch(idHash) {
        await write(() => ds.getRepository(SessionEntity).update({ idHash }, { lastSeenAt: new Date() }));
      },
      async delete(idHash) {
        await write(() => ds.getRepository(SessionEntity).delete({ idHash }));
      },
      async deleteForUser(userId) {
        await write(() => ds.getRepository(SessionEntity).delete({ userId }));
      },
      async deleteExpired(now = new Date()) {
        const r = await write(() => ds.createQueryBuilder().delete().from(SessionEntity).where('expires_at <= :now', { now: now.getTime() }).execute());
        return r.affected ?? 0;
      },
    },
    tokens: {
      async create(input) {
        const t = await write(() => ds.getRepository(TokenEntity).save(ds.getRepository(TokenEntity).create({ ...input, expiresAt: input.expiresAt ?? null, lastUsedAt: null })));
        return toToken(t);
      },
      async findByHash(tokenHash) {
        const t = await ds.getRepository(TokenEntity).findOneBy({ tokenHash });
        return t ? toToken(t) : null;
      },
      async listForUser(userId) {
        return (await ds.getRepository(TokenEntity).find({ where: { userId }, order: { id: 'ASC' } })).map(toToken);
      },
      async touch(id) {
        await write(() => ds.getRepository(TokenEntity).update({ id }, { lastUsedAt: new Date() }));
      },
      async delete(id) {
        await authChanged(write(() => ds.getRepository(TokenEntity).delete({ id })));
      },
    },
    quotas: {
      async get(namespace) {
        const q = await ds.getRepository(QuotaEntity).findOneBy({ namespace });
        return q ? { privateBytes: q.privateBytes, publicBytes: q.publicBytes } : null;
      },
      async set(namespace, limits) {
        await write(() => ds.getRepository(QuotaEntity).save({ namespace, ...limits }));
      },
      async usage(namespace) {
        return (await namespaceUsage(namespace)).get(namespace) ?? { privateBytes: 0, publicBytes: 0 };
      },
      usageByNamespace: () => namespaceUsage(),
    },
    orgs: {
      async create(name) {
        try {
          const o = await tx(async (m) => {
            await m.insert(NamespaceNameEntity, { nameKey: nameKey(name), kind: 'org', name });
            return m.save(m.create(OrgEntity, { name }));
          });
          return { ...o };
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          throw await nameConflict(name, 'org');
        }
      },
      async findByName(name) {
        const o = await ds.getRepository(OrgEntity).findOneBy({ name });
        return o ? { ...o } : null;
      },
      async setProfile(id, profile) {
        const patch = { ...(profile.fullname !== undefined ? { fullname: profile.fullname } : {}), ...(profile.avatarUrl !== undefined ? { avatarUrl: profile.avatarUrl } : {}) };
        if (Object.keys(patch).length) await write(() => ds.getRepository(OrgEntity).update({ id }, patch));
        return { ...(await ds.getRepository(OrgEntity).findOneByOrFail({ id })) };
      },
      async setMember(orgId, userId, role) {
        await authChanged(tx(async (m) => {
          await m.delete(MembershipEntity, { orgId, userId });
          await m.insert(MembershipEntity, { orgId, userId, role });
        }));
      },
      async removeMember(orgId, userId) {
        await authChanged(write(() => ds.getRepository(MembershipEntity).delete({ orgId, userId })));
      },
      async members(orgId) {
        const org = await ds.getRepository(OrgEntity).findOneByOrFail({ id: orgId });
        return (await ds.getRepository(MembershipEntity).findBy({ orgId })).map((m) => ({ org: { ...org }, userId: m.userId, role: m.role }));
      },
      async membershipsOf(userId) {
        const ms = await ds.getRepository(MembershipEntity).findBy({ userId });
        if (ms.length === 0) return [];
        const orgs = new Map((await ds.getRepository(OrgEntity).findBy({ id: In(ms.map((m) => m.orgId)) })).map((o) => [o.id, o]));
        return ms.filter((m) => orgs.has(m.orgId)).map((m) => ({ org: { ...orgs.get(m.orgId)! }, userId, role: m.role }));
      },
    },
    repos: {
      async create(input) {
        const entity = ds.getRepository(RepoEntity).create({
          id: crypto.randomUUID(),
          type: input.type,
          namespace: input.namespace,
          name: input.name,
          ...repoKeys(input.namespace, input.name),
          private: !!input.private,
          defaultBranch: input.defaultBranch ?? 'main',
        });
        try {
          // A new repository takes its name back from a moved one: the old name's redirect goes.
          const r = await tx(async (m) => {
            await m.delete(RepoRedirectEntity, { type: input.type, ...repoKeys(input.namespace, input.name) });
            return m.save(entity);
          });
          return toRepo(r);
        } catch (err) {
          if (isUniqueViolation(err)) throw new AppError('conflict', 'RepoExists', `${input.type} repository ${input.namespace}/${input.name} already exists`);
          throw err;
        }
      },
      async find(type, namespace, name) {
        const [r] = await repoByKeys(type, nameKey(namespace), nameKey(name));
        return r ? toRepo(r) : null;
      },
      async findMoved(type, namespace, name) {
        const redirect = await ds.getRepository(RepoRedirectEntity).findOneBy({ type, ...repoKeys(namespace, name) });
        if (!redirect) return null;
        const r = await ds.getRepository(RepoEntity).findOneBy({ id: redirect.repoId });
        return r ? toRepo(r) : null;
      },
      async findById(id) {
        const r = await ds.getRepository(RepoEntity).findOneBy({ id });
        return r ? toRepo(r) : null;
      },
      async list(filter = {}) {
        const where = { ...(filter.type ? { type: filter.type } : {}), ...(filter.namespace !== undefined ? { namespaceKey: nameKey(filter.namespace) } : {}) };
        return (await ds.getRepository(RepoEntity).find({ where, order: { namespace: 'ASC', name: 'ASC' } })).map(toRepo);
      },
      async update(id, patch) {
        try {
          await tx(async (m) => {
            const before = await m.findOneByOrFail(RepoEntity, { id });
            const renamed = patch.namespace !== undefined || patch.name !== undefined;
            const keys: { namespaceKey?: string; nameKey?: string } = renamed ? repoKeys(patch.namespace ?? before.namespace, patch.name ?? before.name) : {};
            await m.update(RepoEntity, { id }, { ...patch, ...keys });
            if (renamed && (keys.namespaceKey !== before.namespaceKey || keys.nameKey !== before.nameKey)) {
              // The old name answers with a redirect to this repository; the new one is no redirect any more.
              await m.delete(RepoRedirectEntity, { type: before.type, ...keys });
              await m.delete(RepoRedirectEntity, { type: before.type, namespaceKey: before.namespaceKey, nameKey: before.nameKey });
              await m.insert(RepoRedirectEntity, { type: before.type, namespaceKey: before.namespaceKey, nameKey: before.nameKey, repoId: id });
            }
          });
        } catch (err) {
          if (isUniqueViolation(err)) throw new AppError('conflict', 'RepoExists', `a repository called ${patch.namespace}/${patch.name} already exists`);
          throw err;
        }
        return toRepo(await ds.getRepository(RepoEntity).findOneByOrFail({ id }));
      },
      async delete(id) {
        await tx(async (m) => {
          await m.delete(RefEntity, { repoId: id });
          await m.delete(PackEntity, { repoId: id });
          await m.delete(RepoLfsObjectEntity, { repoId: id });
          await m.delete(RepoLfsDeletionEntity, { repoId: id });
          await m.delete(LfsLockEntity, { repoId: id });
          await m.delete(MirrorEntity, { repoId: id });
          await m.delete(CommitMapEntity, { repoId: id });
          await m.delete(RepoGateEntity, { repoId: id });
          await m.delete(RepoAccessRequestEntity, { repoId: id });
          await m.delete(RepoDownloadEntity, { repoId: id });
          await m.delete(RepoListingTagEntity, { repoId: id });
          await m.delete(RepoListingEntity, { repoId: id });
          await m.delete(CollectionItemEntity, { type: In(['model', 'dataset', 'space']), ref: id });
          await m.delete(RepoRedirectEntity, { repoId: id });
          // Its likes and discussions go with it: a deleted (private) repository leaves nothing to count or list.
          await m.delete(RepoLikeEntity, { repoId: id });
          await m.delete(DiscussionEventEntity, { repoId: id });
          await m.delete(DiscussionEntity, { repoId: id });
          await m.delete(RepoEntity, { id });
        });
      },
      async usedStorage(ids) {
        const out = new Map<string, number>((ids ?? []).map((id) => [id, 0]));
        const sums = async (slice?: string[]) => {
          const packs = await read(() => ds
            .createQueryBuilder(PackEntity, 'p')
            .select('p.repo_id', 'repo')
            .addSelect('SUM(p.size_bytes)', 'bytes')
            .where('p.state = :live', { live: 'live' })
            .andWhere(slice ? 'p.repo_id IN (:...ids)' : '1 = 1', { ids: slice })
            .groupBy('p.repo_id')
            .getRawMany<{ repo: string; bytes: unknown }>());
          const lfs = await read(() => ds
            .createQueryBuilder(RepoLfsObjectEntity, 'l')
            .innerJoin(LfsObjectEntity, 'o', 'o.oid = l.oid')
            .select('l.repo_id', 'repo')
            .addSelect('SUM(o.size)', 'bytes')
            .where(slice ? 'l.repo_id IN (:...ids)' : '1 = 1', { ids: slice })
            .groupBy('l.repo_id')
            .getRawMany<{ repo: string; bytes: unknown }>());
          for (const row of [...packs, ...lfs]) out.set(row.repo, (out.get(row.repo) ?? 0) + Number(row.bytes ?? 0));
        };
        if (!ids) await sums();
        // In slices: every id is a bound variable, and SQLite refuses more than 32,766 in one statement.
        else for (let i = 0; i < ids.length; i += USED_STORAGE_SLICE) await sums(ids.slice(i, i + USED_STORAGE_SLICE));
        return out;
      },
    },
    packs: {
      async listLive(repoId) {
        const live = await read(() => ds.getRepository(PackEntity).find({ where: { repoId, state: 'live' }, order: { createdAt: 'DESC' } }));
        return live.map(packRecord);
      },
      async liveTotals() {
        const rows = await read(() => ds
          .createQueryBuilder(PackEntity, 'p')
          .select('p.repo_id', 'repo')
          .addSelect('SUM(p.size_bytes)', 'bytes')
          .addSelect('MAX(p.created_at)', 'newest')
          .where('p.state = :live', { live: 'live' })
          .groupBy('p.repo_id')
          .getRawMany<{ repo: string; bytes: unknown; newest: unknown }>());
        // The raw maximum is a string on SQLite and a Date on PostgreSQL: the driver reads it as it reads the column.
        const createdAt = ds.getMetadata(PackEntity).findColumnWithPropertyName('createdAt')!;
        return new Map(rows.map((r) => [r.repo, { bytes: Number(r.bytes ?? 0), newestAt: ds.driver.prepareHydratedValue(r.newest, createdAt) as Date }]));
      },
      async replace(repoId, pack, supersedes) {
        try {
          await tx(async (m) => {
            await bumpState(m, repoId);
            const r = await m
              .createQueryBuilder()
              .update(PackEntity)
              .set({ state: 'superseded', supersededAt: Date.now() })
              .where('repo_id = :repoId AND state = :live AND name IN (:...names)', { repoId, live: 'live', names: supersedes })
              .execute();
            if (r.affected !== supersedes.length) throw new PacksChanged();
            await insertPack(m, pack);
          });
          return true;
        } catch (err) {
          if (err instanceof PacksChanged) return false;
          throw err;
        }
      },
      async setCloneKey(repoId, name, key) {
        await write(() => ds.getRepository(PackEntity).update({ repoId, name }, { cloneKey: key }));
      },
      async listSuperseded(repoId) {
        return (await read(() => ds.getRepository(PackEntity).find({ where: { repoId, state: 'superseded' } }))).map(packRecord);
      },
      async forgetSuperseded(repoId, names) {
        if (names.length === 0) return [];
        return tx(async (m) => {
          const gone = await m.getRepository(PackEntity).find({ where: { repoId, state: 'superseded', name: In(names) }, select: { name: true } });
          if (gone.length) await m.getRepository(PackEntity).delete({ repoId, state: 'superseded', name: In(gone.map((p) => p.name)) });
          return gone.map((p) => p.name);
        });
      },
    },
    refs: {
      async list(repoId) {
        return (await read(() => ds.getRepository(RefEntity).find({ where: { repoId }, order: { name: 'ASC' } }))).map((r) => ({ name: r.name, oid: r.oid, peeled: r.peeled }));
      },
      async get(repoId, name) {
        const r = await read(() => ds.getRepository(RefEntity).findOneBy({ repoId, name }));
        return r ? { name: r.name, oid: r.oid, peeled: r.peeled } : null;
      },
    },
    async commitPush(repoId, pack, updates, opts) {
      const stale = (u: RefUpdate): RefUpdateResult => ({ name: u.name, ok: false, reason: STALE_OBJECTS });
      if (opts.atomic) {
        try {
          await tx(async (m) => {
            await lockForRefs(m, repoId, updates, opts.epoch);
            if (pack) await insertPack(m, pack);
            for (const u of [...updates].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) await applyRef(m, repoId, u);
          });
          return updates.map((u) => ({ name: u.name, ok: true as const }));
        } catch (err) {
          if (err instanceof StaleEpoch) return updates.map(stale);
          if (!(err instanceof RefRejected)) throw err;
          return updates.map((u): RefUpdateResult => ({ name: u.name, ok: false, reason: u.name === err.ref ? err.reason : 'atomic transaction failed' }));
        }
      }
      if (pack) {
        try {
          await tx(async (m) => {
            await bumpState(m, repoId);
            if (opts.epoch !== undefined) {
              const current = await lockRepo(m, repoId, 'update', sqlite);
              if (current !== null && current !== opts.epoch) throw new StaleEpoch();
            }
            await insertPack(m, pack);
          });
        } catch (err) {
          if (err instanceof StaleEpoch) return updates.map(stale);
          throw err;
        }
      }
      const results: RefUpdateResult[] = [];
      for (const u of updates) {
        if (results.some((r) => !r.ok && r.reason === STALE_OBJECTS)) {
          results.push(stale(u));
          continue;
        }
        try {
          await tx((m) => applyRefs(m, repoId, [u], opts.epoch));
          results.push({ name: u.name, ok: true });
        } catch (err) {
          if (err instanceof StaleEpoch) results.push(stale(u));
          else if (err instanceof RefRejected) results.push({ name: u.name, ok: false, reason: err.reason });
          else throw err;
        }
      }
      return results;
    },
    gc: createGcDb({ ds, sqlite, tx, read, insertPack }),
    lfs: {
      async objectSize(oid) {
        const o = await ds.getRepository(LfsObjectEntity).findOneBy({ oid });
        return o ? o.size : null;
      },
      async recordObject(oid, size) {
        await write(() => ds.createQueryBuilder().insert().into(LfsObjectEntity).values({ oid, size }).orIgnore().execute());
      },
      async link(repoId, oid) {
        await write(() => ds.createQueryBuilder().insert().into(RepoLfsObjectEntity).values({ repoId, oid }).orIgnore().execute());
      },
      async linked(repoId, oids) {
        const out = new Set<string>();
        for (let i = 0; i < oids.length; i += 500) {
          const rows = await ds.getRepository(RepoLfsObjectEntity).findBy({ repoId, oid: In(oids.slice(i, i + 500)) });
          for (const r of rows) out.add(r.oid);
        }
        return out;
      },
      async reposLinking(oid, limit) {
        const rows = await ds.getRepository(RepoLfsObjectEntity).find({ where: { oid }, select: { repoId: true }, take: limit });
        return rows.map((r) => r.repoId);
      },
      locks: {
        async create(input) {
          try {
            const l = await write(() => ds.getRepository(LfsLockEntity).save(ds.getRepository(LfsLockEntity).create({ id: crypto.randomUUID(), ...input })));
            return (await lockJoin([l]))[0]!;
          } catch (err) {
            if (!isUniqueViolation(err)) throw err;
            const existing = await ds.getRepository(LfsLockEntity).findOneBy({ repoId: input.repoId, path: input.path });
            throw new AppError('conflict', 'LockExists', `${input.path} is already locked`, { details: { lock: existing ? (await lockJoin([existing]))[0] : undefined } });
          }
        },
        async list(repoId, filter) {
          const qb = ds.getRepository(LfsLockEntity).createQueryBuilder('l').where('l.repo_id = :repoId', { repoId });
          if (filter.path) qb.andWhere('l.path = :path', { path: filter.path });
          if (filter.id) qb.andWhere('l.id = :id', { id: filter.id });
          if (filter.cursor) qb.andWhere('l.id > :cursor', { cursor: filter.cursor });
          const rows = await qb.orderBy('l.id', 'ASC').take(filter.limit + 1).getMany();
          const page = rows.slice(0, filter.limit);
          return { locks: await lockJoin(page), nextCursor: rows.length > filter.limit ? page[page.length - 1]!.id : null };
        },
        async get(repoId, id) {
          const l = await ds.getRepository(LfsLockEntity).findOneBy({ repoId, id });
          return l ? (await lockJoin([l]))[0]! : null;
        },
        async delete(repoId, id) {
          await write(() => ds.getRepository(LfsLockEntity).delete({ repoId, id }));
        },
      },
    },
    mirrors: createMirrorsDb(ds, write),
    commitMap: createCommitMapDb(ds, write),
    jobs: createJobsDb(ds, write),
    settings: {
      async getOrCreate(key, make) {
        const repo = ds.getRepository(SettingEntity);
        const found = await repo.findOneBy({ key });
        if (found) return found.value;
        await write(() => ds.createQueryBuilder().insert().into(SettingEntity).values({ key, value: make() }).orIgnore().execute());
        return (await repo.findOneByOrFail({ key })).value;
      },
    },
    async ping() {
      await ds.query('SELECT 1');
    },
    async close() {
      if (ds.isInitialized) await ds.destroy();
    },
  };
  return db;
}

/** Create the schema named in `?schema=` before TypeORM connects (its migrations table lives there). */
async function ensureSchema(url: string): Promise<void> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  if (!schema) return;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  u.searchParams.delete('schema');
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}
