import { In, type DataSource, type EntityManager } from 'typeorm';
import { LfsObjectEntity, RepoLfsDeletionEntity, RepoLfsObjectEntity } from './entities/index.js';

/** A repository's link to a stored LFS object, with the object's size. */
export interface RepoLfsFile {
  oid: string;
  size: number;
  /** When the object was linked to the repository (its push). */
  linkedAt: Date;
}

/** LFS file management of a repository (`lfs-files`): its linked objects, and their permanent deletion. */
export interface LfsFilesDb {
  /** Every LFS object linked to the repository, newest link first, then by oid. */
  list(repoId: string): Promise<RepoLfsFile[]>;
  /**
   * Unlinks these objects from the repository and records them as deleted there (garbage collection
   * then neither links them again from old pointers nor keeps them for this repository), in one
   * transaction. Returns the oids that were linked.
   */
  delete(repoId: string, oids: string[]): Promise<string[]>;
  /** The objects among `oids` deleted from the repository (see `delete`). */
  deletedIn(repoId: string, oids: string[]): Promise<Set<string>>;
}

const CHUNK = 500;

export function createLfsFilesDb(ds: DataSource, tx: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>): LfsFilesDb {
  return {
    async list(repoId) {
      const rows = await ds
        .createQueryBuilder(RepoLfsObjectEntity, 'l')
        .innerJoin(LfsObjectEntity, 'o', 'o.oid = l.oid')
        .select('l.oid', 'oid')
        .addSelect('o.size', 'size')
        .addSelect('l.created_at', 'linkedAt')
        .where('l.repo_id = :repoId', { repoId })
        .orderBy('l.created_at', 'DESC')
        .addOrderBy('l.oid', 'ASC')
        .getRawMany<{ oid: string; size: string | number; linkedAt: string | Date }>();
      return rows.map((r) => ({ oid: r.oid, size: Number(r.size), linkedAt: toDate(r.linkedAt) }));
    },
    async delete(repoId, oids) {
      const out: string[] = [];
      for (let i = 0; i < oids.length; i += CHUNK) {
        const part = oids.slice(i, i + CHUNK);
        await tx(async (m) => {
          const linked = await m.getRepository(RepoLfsObjectEntity).find({ where: { repoId, oid: In(part) }, select: { oid: true } });
          await m.getRepository(RepoLfsObjectEntity).delete({ repoId, oid: In(part) });
          await m.createQueryBuilder().insert().into(RepoLfsDeletionEntity).values(part.map((oid) => ({ repoId, oid }))).orIgnore().execute();
          out.push(...linked.map((l) => l.oid));
        });
      }
      return out;
    },
    async deletedIn(repoId, oids) {
      const out = new Set<string>();
      for (let i = 0; i < oids.length; i += CHUNK) {
        const rows = await ds.getRepository(RepoLfsDeletionEntity).find({ where: { repoId, oid: In(oids.slice(i, i + CHUNK)) }, select: { oid: true } });
        for (const r of rows) out.add(r.oid);
      }
      return out;
    },
  };
}

/** SQLite answers raw datetimes as UTC text without a zone. */
function toDate(v: string | Date): Date {
  if (v instanceof Date) return v;
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(' ', 'T')}Z`);
}
