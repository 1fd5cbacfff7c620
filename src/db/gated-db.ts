import { In, type DataSource } from 'typeorm';
import { RepoAccessRequestEntity, RepoGateEntity, UserEntity } from './entities/index.js';
import { bumpState } from './gc-db.js';

/** How a repository is gated: not at all, every request accepted at once, or requests reviewed by its admins. */
export type GateMode = false | 'auto' | 'manual';
export type AccessStatus = 'pending' | 'accepted' | 'rejected';

export interface AccessRequestRecord {
  repoId: string;
  userId: number;
  status: AccessStatus;
  createdAt: Date;
  updatedAt: Date;
  granted: boolean;
  rejectionReason: string | null;
}

export interface AccessRequestListItem extends AccessRequestRecord {
  userName: string;
  email: string | null;
}

/** Gated repositories and their access requests (src/community/gated.ts holds the rules). */
export interface GatedDb {
  mode(repoId: string): Promise<GateMode>;
  /** The mode of each repository (false for one not gated). */
  modes(repoIds: string[]): Promise<Map<string, GateMode>>;
  setMode(repoId: string, mode: GateMode): Promise<void>;
  request(repoId: string, userId: number): Promise<AccessRequestRecord | null>;
  /** Creates or replaces the user's request. */
  put(input: { repoId: string; userId: number; status: AccessStatus; granted?: boolean; rejectionReason?: string | null; createdAt?: Date }): Promise<AccessRequestRecord>;
  /** Requests in one state, oldest first, with the requester's name and email. */
  list(repoId: string, status: AccessStatus, offset: number, limit: number): Promise<AccessRequestListItem[]>;
}

const toRecord = (r: RepoAccessRequestEntity): AccessRequestRecord => ({
  repoId: r.repoId,
  userId: r.userId,
  status: r.status as AccessStatus,
  createdAt: new Date(r.createdAt),
  updatedAt: new Date(r.updatedAt),
  granted: !!r.granted,
  rejectionReason: r.rejectionReason,
});

const asMode = (m: string | undefined): GateMode => (m === 'auto' || m === 'manual' ? m : false);

/** `write` serializes writes on SQLite. */
export function createGatedDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): GatedDb {
  const gates = () => ds.getRepository(RepoGateEntity);
  const requests = () => ds.getRepository(RepoAccessRequestEntity);
  return {
    async mode(repoId) {
      // After any open write on SQLite (one connection): never a mode that may yet roll back.
      return asMode((await write(() => gates().findOneBy({ repoId })))?.mode);
    },
    async modes(repoIds) {
      const out = new Map<string, GateMode>(repoIds.map((id) => [id, false]));
      for (let i = 0; i < repoIds.length; i += 500) {
        for (const g of await gates().findBy({ repoId: In(repoIds.slice(i, i + 500)) })) out.set(g.repoId, asMode(g.mode));
      }
      return out;
    },
    async setMode(repoId, mode) {
      // With a new state version of the repository, in one transaction (GatedService keeps modes by it).
      await write(() =>
        ds.transaction(async (m) => {
          await bumpState(m, repoId);
          if (mode === false) await m.delete(RepoGateEntity, { repoId });
          else await m.upsert(RepoGateEntity, { repoId, mode }, ['repoId']);
        }),
      );
    },
    async request(repoId, userId) {
      const r = await requests().findOneBy({ repoId, userId });
      return r ? toRecord(r) : null;
    },
    async put(input) {
      const now = Date.now();
      const row = {
        repoId: input.repoId,
        userId: input.userId,
        status: input.status,
        createdAt: input.createdAt?.getTime() ?? now,
        updatedAt: now,
        granted: !!input.granted,
        rejectionReason: input.rejectionReason ?? null,
      };
      await write(() => requests().upsert(row, ['repoId', 'userId']));
      return toRecord(Object.assign(new RepoAccessRequestEntity(), row));
    },
    async list(repoId, status, offset, limit) {
      const rows = await ds
        .createQueryBuilder(RepoAccessRequestEntity, 'r')
        .innerJoin(UserEntity, 'u', 'u.id = r.user_id')
        .select(['r.repo_id AS "repoId"', 'r.user_id AS "userId"', 'r.status AS status', 'r.created_at AS "createdAt"', 'r.updated_at AS "updatedAt"'])
        .addSelect(['r.granted AS granted', 'r.rejection_reason AS "rejectionReason"', 'u.name AS "userName"', 'u.email AS email'])
        .where('r.repo_id = :repoId AND r.status = :status', { repoId, status })
        .orderBy('r.created_at', 'ASC')
        .addOrderBy('r.user_id', 'ASC')
        .offset(offset)
        .limit(limit)
        .getRawMany<Record<string, unknown>>();
      return rows.map((r) => ({
        repoId: String(r.repoId),
        userId: Number(r.userId),
        status: r.status as AccessStatus,
        createdAt: new Date(Number(r.createdAt)),
        updatedAt: new Date(Number(r.updatedAt)),
        granted: r.granted === true || r.granted === 1 || r.granted === '1',
        rejectionReason: (r.rejectionReason as string | null) ?? null,
        userName: String(r.userName),
        email: (r.email as string | null) ?? null,
      }));
    },
  };
}
