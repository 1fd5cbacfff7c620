import crypto from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { GcDb, PackRecord, RefRecord } from './db.js';
import { LfsObjectEntity, PackEntity, RefEntity, RepoEntity, RepoLfsObjectEntity } from './entities/index.js';

/** Thrown inside a transaction to roll it back: a pruning compaction found the repository changed. */
class RepoChanged extends Error {}

/**
 * Locks a repository's row for the rest of the transaction and returns its gc epoch (null: no such
 * repository). `share` for writes that only need the epoch to stay put (pushes and commits), `update`
 * for what changes it (a compaction that drops objects) or must exclude other creators of refs.
 * SQLite serializes every transaction already.
 */
export async function lockRepo(m: EntityManager, repoId: string, mode: 'share' | 'update', sqlite: boolean): Promise<number | null> {
  const qb = m.createQueryBuilder(RepoEntity, 'r').select('r.gc_epoch', 'epoch').where('r.id = :repoId', { repoId });
  if (!sqlite) qb.setLock(mode === 'share' ? 'pessimistic_read' : 'pessimistic_write');
  const row = await qb.getRawOne<{ epoch: unknown }>();
  return row ? Number(row.epoch) : null;
}

/** A fresh state version: random, so one seen in a transaction that then rolled back never names a later state. */
export const freshStateVersion = () => crypto.randomInt(1, 2 ** 31 - 1);

/**
 * Gives the repository a fresh state version (RepoRecord.stateVersion) in this transaction, which
 * also takes its row lock in update mode: called first in every transaction that changes its refs,
 * live packs, gc epoch or gate mode, so these transactions lock in one order (the repository row, then the rest).
 */
export async function bumpState(m: EntityManager, repoId: string): Promise<void> {
  await m.createQueryBuilder().update(RepoEntity).set({ stateVersion: freshStateVersion(), updatedAt: () => 'updated_at' }).where('id = :repoId', { repoId }).execute();
}

/** The garbage-collection part of the Db facade (see GcDb in db.ts). */
export function createGcDb(deps: {
  ds: DataSource;
  sqlite: boolean;
  tx: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>;
  read: <T>(fn: () => Promise<T>) => Promise<T>;
  insertPack: (m: EntityManager, pack: Omit<PackRecord, 'createdAt' | 'supersededAt'>) => Promise<void>;
}): GcDb {
  const { ds, sqlite, tx, read, insertPack } = deps;
  const noLink = 'NOT EXISTS (SELECT 1 FROM repo_lfs_objects l WHERE l.oid = lfs_objects.oid)';
  return {
    async epoch(repoId) {
      const row = await read(() => ds.createQueryBuilder(RepoEntity, 'r').select('r.gc_epoch', 'epoch').where('r.id = :repoId', { repoId }).getRawOne<{ epoch: unknown }>());
      return row ? Number(row.epoch) : 0;
    },
    async replacePruning(repoId, pack, supersedes, refs) {
      if (supersedes.length === 0) return false;
      try {
        await tx(async (m) => {
          // Waits for pushes that are committing right now (they hold the row); any push after this
          // sees the new epoch and checks its objects again.
          await bumpState(m, repoId);
          if ((await lockRepo(m, repoId, 'update', sqlite)) === null) throw new RepoChanged();
          const live = await m.getRepository(PackEntity).find({ where: { repoId, state: 'live' }, select: { name: true } });
          const inputs = new Set(supersedes);
          if (live.length !== inputs.size || live.some((p) => !inputs.has(p.name))) throw new RepoChanged();
          // Refs may only have gone away since reachability was computed: nothing new may be reachable.
          const seen = new Map(refs.map((r) => [r.name, r.oid]));
          const now = await m.getRepository(RefEntity).find({ where: { repoId }, select: { name: true, oid: true } });
          if (now.some((r) => seen.get(r.name) !== r.oid)) throw new RepoChanged();
          const retired = supersedes.filter((n) => n !== pack?.name);
          if (retired.length) {
            await m
              .createQueryBuilder()
              .update(PackEntity)
              .set({ state: 'superseded', supersededAt: Date.now() })
              .where('repo_id = :repoId AND state = :live AND name IN (:...names)', { repoId, live: 'live', names: retired })
              .execute();
          }
          if (pack) await insertPack(m, pack);
          await m.createQueryBuilder().update(RepoEntity).set({ gcEpoch: () => 'gc_epoch + 1', updatedAt: () => 'updated_at' }).where('id = :repoId', { repoId }).execute();
        });
        return true;
      } catch (err) {
        if (err instanceof RepoChanged) return false;
        throw err;
      }
    },
    async lfsLinks(repoId) {
      const rows = await read(() => ds.getRepository(RepoLfsObjectEntity).find({ where: { repoId }, select: { oid: true, createdAt: true } }));
      return rows.map((r) => ({ oid: r.oid, linkedAt: r.createdAt }));
    },
    async lfsUnlink(repoId, oids) {
      for (let i = 0; i < oids.length; i += 500) {
        const part = oids.slice(i, i + 500);
        await tx((m) => m.getRepository(RepoLfsObjectEntity).delete({ repoId, oid: In(part) }));
      }
    },
    async lfsMarkOrphans(now) {
      await tx(async (m) => {
        await m.createQueryBuilder().update(LfsObjectEntity).set({ orphanedAt: now }).where(`orphaned_at IS NULL AND ${noLink}`).execute();
        await m.createQueryBuilder().update(LfsObjectEntity).set({ orphanedAt: null }).where(`orphaned_at IS NOT NULL AND NOT (${noLink})`).execute();
      });
    },
    async lfsOrphans() {
      const rows = await read(() =>
        ds.createQueryBuilder(LfsObjectEntity, 'o').select(['o.oid', 'o.size', 'o.orphanedAt']).where(`o.orphaned_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM repo_lfs_objects l WHERE l.oid = o.oid)`).getMany(),
      );
      return rows.map((r) => ({ oid: r.oid, size: r.size, orphanedAt: r.orphanedAt! }));
    },
    async lfsForget(oid, orphanedBefore) {
      return tx(async (m) => {
        const r = await m
          .createQueryBuilder()
          .delete()
          .from(LfsObjectEntity)
          .where(`oid = :oid AND orphaned_at IS NOT NULL AND orphaned_at <= :cutoff AND ${noLink}`, { oid, cutoff: orphanedBefore })
          .execute();
        return (r.affected ?? 0) > 0;
      });
    },
  };
}
