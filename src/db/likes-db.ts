import type { DataSource } from 'typeorm';
import type { LikesDb } from './community-types.js';
import { RepoLikeEntity, UserEntity } from './entities/index.js';

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e.message ?? '');
};

/** Likes of repositories by users. `write` serializes writes on SQLite. */
export function createLikesDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): LikesDb {
  const repo = () => ds.getRepository(RepoLikeEntity);
  return {
    async like(userId, repoId) {
      try {
        await write(() => repo().insert({ userId, repoId, createdAt: Date.now() }));
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async unlike(userId, repoId) {
      const r = await write(() => repo().delete({ userId, repoId }));
      return !!r.affected;
    },
    async counts(repoIds) {
      const out = new Map<string, number>(repoIds.map((id) => [id, 0]));
      for (let i = 0; i < repoIds.length; i += 500) {
        const rows = await ds
          .createQueryBuilder(RepoLikeEntity, 'l')
          .select('l.repo_id', 'repo')
          .addSelect('COUNT(*)', 'n')
          .where('l.repo_id IN (:...ids)', { ids: repoIds.slice(i, i + 500) })
          .groupBy('l.repo_id')
          .getRawMany<{ repo: string; n: unknown }>();
        for (const r of rows) out.set(r.repo, Number(r.n));
      }
      return out;
    },
    async likers(repoId, offset, limit) {
      const rows = await ds
        .createQueryBuilder(RepoLikeEntity, 'l')
        .innerJoin(UserEntity, 'u', 'u.id = l.user_id')
        .select('u.name', 'name')
        .addSelect('l.created_at', 'at')
        .where('l.repo_id = :repoId', { repoId })
        .orderBy('l.created_at', 'ASC')
        .addOrderBy('l.user_id', 'ASC')
        .offset(offset)
        .limit(limit)
        .getRawMany<{ name: string; at: unknown }>();
      return rows.map((r) => ({ userName: r.name, createdAt: new Date(Number(r.at)) }));
    },
    async ofUser(userId) {
      const rows = await repo().find({ where: { userId }, order: { createdAt: 'DESC' } });
      return rows.map((r) => ({ repoId: r.repoId, createdAt: new Date(r.createdAt) }));
    },
  };
}
