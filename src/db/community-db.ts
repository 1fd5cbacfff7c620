import crypto from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { CommunityDb, DiscussionEventRecord, DiscussionRecord, DiscussionStatus, NewDiscussionEvent } from './community-types.js';
import { DiscussionEntity, DiscussionEventEntity, RepoEntity } from './entities/index.js';

const toDiscussion = (d: DiscussionEntity): DiscussionRecord => ({
  repoId: d.repoId,
  num: d.num,
  isPullRequest: d.isPullRequest,
  title: d.title,
  status: d.status as DiscussionStatus,
  authorId: d.authorId,
  authorName: d.authorName,
  baseRef: d.baseRef,
  startOid: d.startOid,
  mergeCommitId: d.mergeCommitId,
  createdAt: new Date(d.createdAt),
  updatedAt: new Date(d.updatedAt),
});

const toEvent = (e: DiscussionEventEntity): DiscussionEventRecord => ({
  id: e.id,
  repoId: e.repoId,
  num: e.num,
  seq: e.seq,
  type: e.type,
  authorId: e.authorId,
  authorName: e.authorName,
  createdAt: new Date(e.createdAt),
  data: JSON.parse(e.data) as Record<string, unknown>,
});

/** 24 lowercase hex digits, in time order (milliseconds first), like the Hub's ids. */
const eventId = () => Date.now().toString(16).padStart(12, '0') + crypto.randomBytes(6).toString('hex');

/**
 * Discussions and their events. `tx` serializes write transactions on SQLite; on PostgreSQL a new
 * discussion locks its repository row (numbers are taken one at a time) and new events lock their
 * discussion row (sequence numbers likewise).
 */
export function createCommunityDb(ds: DataSource, tx: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, sqlite: boolean): CommunityDb {
  const appendEvents = async (m: EntityManager, repoId: string, num: number, events: NewDiscussionEvent[], now: number) => {
    const last = await m
      .createQueryBuilder(DiscussionEventEntity, 'e')
      .select('MAX(e.seq)', 'seq')
      .where('e.repo_id = :repoId AND e.num = :num', { repoId, num })
      .getRawOne<{ seq: number | string | null }>();
    let seq = Number(last?.seq ?? 0);
    const rows = events.map((e) =>
      m.getRepository(DiscussionEventEntity).create({
        id: eventId(),
        repoId,
        num,
        seq: ++seq,
        type: e.type,
        authorId: e.authorId,
        authorName: e.authorName,
        createdAt: now,
        data: JSON.stringify(e.data),
      }),
    );
    if (rows.length) await m.getRepository(DiscussionEventEntity).insert(rows);
    return rows.map(toEvent);
  };

  const lockDiscussion = async (m: EntityManager, repoId: string, num: number) => {
    const qb = m.createQueryBuilder(DiscussionEntity, 'd').where('d.repo_id = :repoId AND d.num = :num', { repoId, num });
    if (!sqlite) qb.setLock('pessimistic_write');
    return qb.getOne();
  };

  return {
    async create(input, after, events) {
      return tx(async (m) => {
        if (!sqlite) await m.createQueryBuilder(RepoEntity, 'r').select('r.id').setLock('pessimistic_write').where('r.id = :id', { id: input.repoId }).getRawOne();
        const max = await m
          .createQueryBuilder(DiscussionEntity, 'd')
          .select('MAX(d.num)', 'num')
          .where('d.repo_id = :repoId', { repoId: input.repoId })
          .getRawOne<{ num: number | string | null }>();
        const num = Math.max(Number(max?.num ?? 0), after) + 1;
        const now = Date.now();
        const row = m.getRepository(DiscussionEntity).create({ ...input, num, mergeCommitId: null, createdAt: now, updatedAt: now });
        await m.getRepository(DiscussionEntity).insert(row);
        return { discussion: toDiscussion(row), events: await appendEvents(m, input.repoId, num, events, now) };
      });
    },

    async get(repoId, num) {
      const d = await ds.getRepository(DiscussionEntity).findOneBy({ repoId, num });
      return d ? toDiscussion(d) : null;
    },

    async list(repoId, filter) {
      const where: Record<string, unknown> = { repoId };
      if (filter.isPullRequest !== undefined) where.isPullRequest = filter.isPullRequest;
      if (filter.statuses) where.status = In(filter.statuses);
      if (filter.authorName !== undefined) where.authorName = filter.authorName;
      const [rows, count] = await ds.getRepository(DiscussionEntity).findAndCount({ where, order: { num: 'DESC' }, skip: filter.offset, take: filter.limit });
      return { items: rows.map(toDiscussion), count };
    },

    async update(repoId, num, patch, events, ifStatus) {
      return tx(async (m) => {
        const d = await lockDiscussion(m, repoId, num);
        if (!d || (ifStatus && !ifStatus.includes(d.status as DiscussionStatus))) return null;
        const now = Date.now();
        Object.assign(d, patch, { updatedAt: now });
        await m.getRepository(DiscussionEntity).update({ repoId, num }, { ...patch, updatedAt: now });
        return { discussion: toDiscussion(d), events: await appendEvents(m, repoId, num, events, now) };
      });
    },

    async events(repoId, num) {
      const rows = await ds.getRepository(DiscussionEventEntity).find({ where: { repoId, num }, order: { seq: 'ASC' } });
      return rows.map(toEvent);
    },

    async getEvent(repoId, num, id) {
      const e = await ds.getRepository(DiscussionEventEntity).findOneBy({ repoId, num, id });
      return e ? toEvent(e) : null;
    },

    async setEventData(repoId, num, id, data) {
      return tx(async (m) => {
        const e = await m.getRepository(DiscussionEventEntity).findOneBy({ repoId, num, id });
        if (!e) return null;
        e.data = JSON.stringify(data);
        await m.getRepository(DiscussionEventEntity).update({ id }, { data: e.data });
        await m.getRepository(DiscussionEntity).update({ repoId, num }, { updatedAt: Date.now() });
        return toEvent(e);
      });
    },

    async delete(repoId, num) {
      await tx(async (m) => {
        await m.getRepository(DiscussionEventEntity).delete({ repoId, num });
        await m.getRepository(DiscussionEntity).delete({ repoId, num });
      });
    },
  };
}
