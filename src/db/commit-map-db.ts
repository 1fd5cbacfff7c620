import { In, type DataSource } from 'typeorm';
import { CommitMapEntity } from './entities/index.js';

export interface CommitMapRecord {
  repoId: string;
  upstreamSha: string;
  localSha: string;
  /** 'rest': a synthetic commit built from the upstream's REST API. */
  method: string;
  importedAt: Date;
}

/** Upstream commit ids of a mirror's synthetic commits (src/mirror/rest-sync.ts). */
export interface CommitMapDb {
  /** Records mappings (an existing one, same upstream id, is left as it is). */
  add(rows: Omit<CommitMapRecord, 'importedAt'>[]): Promise<void>;
  /** Every mapping of a repository (one per upstream tip ever synced: a few). */
  list(repoId: string): Promise<CommitMapRecord[]>;
  /** Withdraws mappings (their commits were not stored after all). */
  remove(repoId: string, upstreamShas: string[]): Promise<void>;
  /** Forgets a repository's mappings (it was deleted). */
  deleteRepo(repoId: string): Promise<void>;
}

const toRecord = (e: CommitMapEntity): CommitMapRecord => ({ repoId: e.repoId, upstreamSha: e.upstreamSha, localSha: e.localSha, method: e.method, importedAt: new Date(e.importedAt) });

export function createCommitMapDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): CommitMapDb {
  const repo = () => ds.getRepository(CommitMapEntity);
  return {
    async add(rows) {
      if (rows.length === 0) return;
      const now = Date.now();
      await write(() =>
        ds
          .createQueryBuilder()
          .insert()
          .into(CommitMapEntity)
          .values(rows.map((r) => ({ ...r, importedAt: now })))
          .orIgnore()
          .execute(),
      );
    },
    async list(repoId) {
      return (await repo().find({ where: { repoId }, order: { importedAt: 'ASC' } })).map(toRecord);
    },
    async remove(repoId, upstreamShas) {
      for (let i = 0; i < upstreamShas.length; i += 500) {
        const chunk = upstreamShas.slice(i, i + 500);
        await write(() => repo().delete({ repoId, upstreamSha: In(chunk) }));
      }
    },
    async deleteRepo(repoId) {
      await write(() => repo().delete({ repoId }));
    },
  };
}
