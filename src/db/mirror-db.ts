import type { DataSource } from 'typeorm';
import { MirrorEntity } from './entities/index.js';

export type MirrorSource = 'registered' | 'proxy' | 'cache-import';
export type MirrorState = 'new' | 'syncing' | 'synced' | 'failed';
/** How a mirror's history is fetched: git smart HTTP only (the upstream's commits), the REST API only
 * (synthetic commits, src/mirror/rest-sync.ts), or auto (git, REST when the upstream has no git). */
export type MirrorHistory = 'git' | 'rest' | 'auto';
export const MIRROR_HISTORIES: readonly MirrorHistory[] = ['git', 'rest', 'auto'];

export interface MirrorFailure {
  path: string;
  error: string;
  at: string;
}

export interface MirrorRecord {
  repoId: string;
  upstreamUrl: string;
  upstreamId: string;
  source: MirrorSource;
  revision: string | null;
  include: string[];
  exclude: string[];
  includePrs: boolean;
  history: MirrorHistory;
  state: MirrorState;
  lastError: string | null;
  refsFetchedAt: Date | null;
  upstreamRevision: string | null;
  /** LFS oid -> why its last download failed. */
  failures: Record<string, MirrorFailure>;
  createdAt: Date;
  updatedAt: Date;
}

export type MirrorPatch = Partial<Omit<MirrorRecord, 'repoId' | 'createdAt' | 'updatedAt'>>;

/** Failures kept per mirror (the most recent ones). */
const MAX_FAILURES = 1000;

export interface MirrorsDb {
  /** Registers a repository as a mirror (idempotent: an existing row is returned unchanged). */
  create(input: Pick<MirrorRecord, 'repoId' | 'upstreamUrl' | 'upstreamId' | 'source'> & MirrorPatch): Promise<MirrorRecord>;
  get(repoId: string): Promise<MirrorRecord | null>;
  list(): Promise<MirrorRecord[]>;
  update(repoId: string, patch: MirrorPatch): Promise<MirrorRecord | null>;
  /** Detach: the repository stays, an ordinary one from now on. */
  delete(repoId: string): Promise<void>;
}

const parse = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

const toRecord = (m: MirrorEntity): MirrorRecord => ({
  ...m,
  source: m.source as MirrorSource,
  state: m.state as MirrorState,
  history: (MIRROR_HISTORIES as readonly string[]).includes(m.history) ? (m.history as MirrorHistory) : 'auto',
  include: parse<string[]>(m.include, []),
  exclude: parse<string[]>(m.exclude, []),
  failures: parse<Record<string, MirrorFailure>>(m.failures, {}),
});

function toColumns(patch: MirrorPatch): Partial<MirrorEntity> {
  const { include, exclude, failures, ...rest } = patch;
  const out: Partial<MirrorEntity> = { ...rest };
  if (include) out.include = JSON.stringify(include);
  if (exclude) out.exclude = JSON.stringify(exclude);
  if (failures) out.failures = JSON.stringify(Object.fromEntries(Object.entries(failures).slice(-MAX_FAILURES)));
  return out;
}

export function createMirrorsDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): MirrorsDb {
  const repo = () => ds.getRepository(MirrorEntity);
  return {
    async create(input) {
      await write(() =>
        ds
          .createQueryBuilder()
          .insert()
          .into(MirrorEntity)
          .values({ state: 'new', ...toColumns(input), repoId: input.repoId, updatedAt: new Date() })
          .orIgnore()
          .execute(),
      );
      return toRecord(await repo().findOneByOrFail({ repoId: input.repoId }));
    },
    async get(repoId) {
      const m = await repo().findOneBy({ repoId });
      return m ? toRecord(m) : null;
    },
    async list() {
      return (await repo().find({ order: { createdAt: 'ASC' } })).map(toRecord);
    },
    async update(repoId, patch) {
      await write(() => repo().update({ repoId }, { ...toColumns(patch), updatedAt: new Date() }));
      return this.get(repoId);
    },
    async delete(repoId) {
      await write(() => repo().delete({ repoId }));
    },
  };
}
