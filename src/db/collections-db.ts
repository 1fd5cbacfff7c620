import crypto from 'node:crypto';
import { Brackets, In, type DataSource, type EntityManager } from 'typeorm';
import { AppError } from '../core/errors.js';
import { CollectionEntity, CollectionItemEntity } from './entities/index.js';

export type CollectionItemType = 'model' | 'dataset' | 'space' | 'paper' | 'collection';

export interface CollectionRecord {
  /** 24 lowercase hex digits. */
  id: string;
  /** The owner (user or organization) as stored. */
  namespace: string;
  title: string;
  description: string | null;
  private: boolean;
  theme: string;
  position: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CollectionItemRecord {
  id: string;
  collectionId: string;
  type: CollectionItemType;
  /** A repository's id, a paper id, or a collection's id. */
  ref: string;
  note: string | null;
  /** Sort key; answers number the items from 0. */
  position: number;
  createdAt: Date;
}

export interface CollectionFilter {
  /** Owners (stored names); any of them. */
  namespaces?: string[];
  /** Items the collection holds; any of them. */
  items?: { type: CollectionItemType; ref: string }[];
  /** Lower-case substring of the title or description. */
  q?: string;
  /** Private collections of these namespaces are listed too ('*': of every namespace). */
  privateOf: string[] | '*';
}

export interface CollectionsDb {
  /** A new collection, last among its owner's; AppError conflict when the owner has `max` already. */
  create(input: Pick<CollectionRecord, 'namespace' | 'title' | 'description' | 'private' | 'theme'>, max: number): Promise<CollectionRecord>;
  get(id: string): Promise<CollectionRecord | null>;
  getMany(ids: string[]): Promise<CollectionRecord[]>;
  /** Matching collections, most recently updated first. */
  list(filter: CollectionFilter, offset: number, limit: number): Promise<CollectionRecord[]>;
  /** Metadata; a new `position` moves the collection among its owner's and renumbers the others. Null when missing. */
  update(id: string, patch: Partial<Pick<CollectionRecord, 'title' | 'description' | 'private' | 'theme' | 'position'>>): Promise<CollectionRecord | null>;
  /** Removes the collection, its items, and the items of other collections that point at it; false when missing. */
  delete(id: string): Promise<boolean>;
  /** Items of these collections, in order. */
  items(collectionIds: string[]): Promise<CollectionItemRecord[]>;
  /**
   * Appends an item. AppError conflict `CollectionItemExists` when the collection holds it already,
   * `TooManyItems` when it holds `max`. Null when the collection is missing.
   */
  addItem(collectionId: string, item: { type: CollectionItemType; ref: string; note: string | null }, max: number): Promise<CollectionItemRecord | null>;
  /** A new note and/or position (the others renumbered); false when the item is missing. */
  updateItem(collectionId: string, itemId: string, patch: { note?: string | null; position?: number }): Promise<boolean>;
  /** False when the item is missing. */
  deleteItem(collectionId: string, itemId: string): Promise<boolean>;
}

const newId = () => crypto.randomBytes(12).toString('hex');
const toCollection = (e: CollectionEntity): CollectionRecord => ({ ...e, private: !!e.private });
const toItem = (e: CollectionItemEntity): CollectionItemRecord => ({ ...e, type: e.type as CollectionItemType });

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed/.test(e.message ?? '');
};

/** Collections and their items. `tx` serializes write transactions on SQLite; on PostgreSQL the collection row is locked. */
export function createCollectionsDb(ds: DataSource, tx: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, sqlite: boolean): CollectionsDb {
  const collections = () => ds.getRepository(CollectionEntity);
  const get = async (id: string) => {
    const e = await collections().findOneBy({ id });
    return e ? toCollection(e) : null;
  };
  /** The collection row, locked for the transaction on PostgreSQL; null when missing. */
  const lockCollection = async (m: EntityManager, id: string) => {
    const qb = m.createQueryBuilder(CollectionEntity, 'c').where('c.id = :id', { id });
    if (!sqlite) qb.setLock('pessimistic_write');
    return qb.getOne();
  };
  /** Writes positions 0..n-1 in the given order (only the rows whose position changes). */
  const renumber = async (m: EntityManager, entity: typeof CollectionEntity | typeof CollectionItemEntity, rows: { id: string; position: number }[]) => {
    for (const [i, r] of rows.entries()) if (r.position !== i) await m.update(entity, { id: r.id }, { position: i });
  };
  const ordered = (m: EntityManager, collectionId: string) => m.find(CollectionItemEntity, { where: { collectionId }, order: { position: 'ASC', createdAt: 'ASC', id: 'ASC' } });
  const move = <T extends { id: string }>(rows: T[], id: string, to: number): T[] => {
    const from = rows.findIndex((r) => r.id === id);
    const out = rows.slice();
    const [row] = out.splice(from, 1);
    out.splice(Math.max(0, Math.min(to, out.length)), 0, row!);
    return out;
  };

  return {
    async create(input, max) {
      const now = new Date();
      const id = newId();
      await tx(async (m) => {
        const count = await m.countBy(CollectionEntity, { namespace: input.namespace });
        if (count >= max) throw new AppError('conflict', 'TooManyCollections', `${input.namespace} has ${max} collections already, the most one owner may have`);
        const last = await m.findOne(CollectionEntity, { where: { namespace: input.namespace }, order: { position: 'DESC' } });
        await m.insert(CollectionEntity, { id, ...input, position: last ? last.position + 1 : 0, createdAt: now, updatedAt: now } as never);
      });
      return (await get(id))!;
    },
    get,
    async getMany(ids) {
      if (!ids.length) return [];
      return (await collections().findBy({ id: In(ids) })).map(toCollection);
    },
    async list(filter, offset, limit) {
      const qb = collections().createQueryBuilder('c');
      if (filter.privateOf !== '*') {
        const mine = filter.privateOf;
        qb.andWhere(new Brackets((w) => (mine.length ? w.where('c.private = :no', { no: false }).orWhere('c.namespace IN (:...mine)', { mine }) : w.where('c.private = :no', { no: false }))));
      }
      if (filter.namespaces) {
        if (!filter.namespaces.length) return [];
        qb.andWhere('c.namespace IN (:...owners)', { owners: filter.namespaces });
      }
      if (filter.items) {
        if (!filter.items.length) return [];
        qb.andWhere(
          new Brackets((w) => {
            filter.items!.forEach((it, i) => w.orWhere(`c.id IN (SELECT i.collection_id FROM collection_items i WHERE i.type = :t${i} AND i.ref = :r${i})`, { [`t${i}`]: it.type, [`r${i}`]: it.ref }));
          }),
        );
      }
      if (filter.q) {
        const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        qb.andWhere(`(LOWER(c.title) LIKE :like ESCAPE '\\' OR LOWER(COALESCE(c.description, '')) LIKE :like ESCAPE '\\')`, { like });
      }
      const rows = await qb.orderBy('c.updated_at', 'DESC').addOrderBy('c.id', 'ASC').offset(offset).limit(limit).getMany();
      return rows.map(toCollection);
    },
    async update(id, patch) {
      const done = await tx(async (m) => {
        const c = await lockCollection(m, id);
        if (!c) return false;
        const { position, ...rest } = patch;
        await m.update(CollectionEntity, { id }, { ...rest, updatedAt: new Date() } as never);
        if (position !== undefined) {
          const mine = await m.find(CollectionEntity, { where: { namespace: c.namespace }, order: { position: 'ASC', createdAt: 'ASC', id: 'ASC' }, select: { id: true, position: true } });
          await renumber(m, CollectionEntity, move(mine, id, position));
        }
        return true;
      });
      return done ? get(id) : null;
    },
    async delete(id) {
      return tx(async (m) => {
        const c = await lockCollection(m, id);
        if (!c) return false;
        await m.delete(CollectionItemEntity, { collectionId: id });
        // Other collections that held this one lose the item, and are touched.
        const holders = await m.find(CollectionItemEntity, { where: { type: 'collection', ref: id }, select: { id: true, collectionId: true } });
        if (holders.length) {
          await m.delete(CollectionItemEntity, { id: In(holders.map((h) => h.id)) });
          await m.update(CollectionEntity, { id: In([...new Set(holders.map((h) => h.collectionId))]) }, { updatedAt: new Date() } as never);
        }
        await m.delete(CollectionEntity, { id });
        return true;
      });
    },
    async items(collectionIds) {
      if (!collectionIds.length) return [];
      const rows = await ds.getRepository(CollectionItemEntity).find({ where: { collectionId: In(collectionIds) }, order: { collectionId: 'ASC', position: 'ASC', createdAt: 'ASC', id: 'ASC' } });
      return rows.map(toItem);
    },
    async addItem(collectionId, item, max) {
      const id = newId();
      const now = new Date();
      try {
        const added = await tx(async (m) => {
          if (!(await lockCollection(m, collectionId))) return false;
          if (await m.findOneBy(CollectionItemEntity, { collectionId, type: item.type, ref: item.ref })) throw new AppError('conflict', 'CollectionItemExists', 'Item already exists in the collection');
          const count = await m.countBy(CollectionItemEntity, { collectionId });
          if (count >= max) throw new AppError('conflict', 'TooManyItems', `a collection holds at most ${max} items`);
          const last = await m.findOne(CollectionItemEntity, { where: { collectionId }, order: { position: 'DESC' } });
          await m.insert(CollectionItemEntity, { id, collectionId, ...item, position: last ? last.position + 1 : 0, createdAt: now } as never);
          await m.update(CollectionEntity, { id: collectionId }, { updatedAt: now } as never);
          return true;
        });
        if (!added) return null;
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('conflict', 'CollectionItemExists', 'Item already exists in the collection');
        throw err;
      }
      return { id, collectionId, ...item, position: 0, createdAt: now };
    },
    async updateItem(collectionId, itemId, patch) {
      return tx(async (m) => {
        if (!(await lockCollection(m, collectionId))) return false;
        const row = await m.findOneBy(CollectionItemEntity, { collectionId, id: itemId });
        if (!row) return false;
        if (patch.note !== undefined) await m.update(CollectionItemEntity, { id: itemId }, { note: patch.note });
        if (patch.position !== undefined) await renumber(m, CollectionItemEntity, move(await ordered(m, collectionId), itemId, patch.position));
        await m.update(CollectionEntity, { id: collectionId }, { updatedAt: new Date() } as never);
        return true;
      });
    },
    async deleteItem(collectionId, itemId) {
      return tx(async (m) => {
        if (!(await lockCollection(m, collectionId))) return false;
        const r = await m.delete(CollectionItemEntity, { collectionId, id: itemId });
        if (!r.affected) return false;
        await renumber(m, CollectionItemEntity, await ordered(m, collectionId));
        await m.update(CollectionEntity, { id: collectionId }, { updatedAt: new Date() } as never);
        return true;
      });
    },
  };
}

/**
 * Inside a transaction that deletes an account: its collections go, with their items and the items
 * of other collections that held them (a new account of the same name starts with none).
 */
export async function deleteCollectionsOf(m: EntityManager, namespace: string): Promise<void> {
  const ids = (await m.find(CollectionEntity, { where: { namespace }, select: { id: true } })).map((c) => c.id);
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await m.delete(CollectionItemEntity, { collectionId: In(chunk) });
    await m.delete(CollectionItemEntity, { type: 'collection', ref: In(chunk) });
    await m.delete(CollectionEntity, { id: In(chunk) });
  }
}
