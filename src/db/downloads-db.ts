import type { DataSource } from 'typeorm';
import { RepoDownloadEntity } from './entities/index.js';

/** Per-repository, per-day download counts (src/repos/downloads.ts decides what is counted). */
export interface DownloadsDb {
  /** Adds counts to (repository, day) rows, creating them: one statement per call (at most 500 rows). */
  add(rows: { repoId: string; day: number; n: number }[]): Promise<void>;
  /** Per repository: downloads on days >= sinceDay, and of all time (0 for none). */
  counts(repoIds: string[], sinceDay: number): Promise<Map<string, { recent: number; allTime: number }>>;
  /** Forgets a repository's counts (it is deleted). */
  forget(repoId: string): Promise<void>;
}

/** `write` serializes writes on SQLite. */
export function createDownloadsDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>, kind: 'sqlite' | 'postgres'): DownloadsDb {
  return {
    async add(rows) {
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        const params: unknown[] = [];
        const values = chunk.map((r) => {
          params.push(r.repoId, r.day, r.n);
          const k = params.length;
          return kind === 'postgres' ? `($${k - 2}, $${k - 1}, $${k})` : '(?, ?, ?)';
        });
        // One upsert adds every row's count to what is stored (SQLite >= 3.24 and PostgreSQL share the syntax).
        await write(() =>
          ds.query(`INSERT INTO "repo_downloads" ("repo_id", "day", "n") VALUES ${values.join(', ')} ON CONFLICT ("repo_id", "day") DO UPDATE SET "n" = "repo_downloads"."n" + excluded."n"`, params),
        );
      }
    },
    async counts(repoIds, sinceDay) {
      const out = new Map<string, { recent: number; allTime: number }>(repoIds.map((id) => [id, { recent: 0, allTime: 0 }]));
      for (let i = 0; i < repoIds.length; i += 500) {
        const rows = await ds
          .createQueryBuilder(RepoDownloadEntity, 'd')
          .select('d.repo_id', 'repo')
          .addSelect('SUM(d.n)', 'total')
          .addSelect('SUM(CASE WHEN d.day >= :since THEN d.n ELSE 0 END)', 'recent')
          .where('d.repo_id IN (:...ids)', { ids: repoIds.slice(i, i + 500), since: sinceDay })
          .groupBy('d.repo_id')
          .getRawMany<{ repo: string; total: unknown; recent: unknown }>();
        for (const r of rows) out.set(r.repo, { recent: Number(r.recent), allTime: Number(r.total) });
      }
      return out;
    },
    async forget(repoId) {
      await write(() => ds.getRepository(RepoDownloadEntity).delete({ repoId }));
    },
  };
}
