import { In, type DataSource, type SelectQueryBuilder } from 'typeorm';
import type { RepoRecord, RepoType } from './types.js';
import { RefEntity, RepoDownloadEntity, RepoEntity, RepoLikeEntity, RepoListingEntity, RepoListingTagEntity } from './entities/index.js';

/** What a listing asks for: visibility, narrowing, order and page (src/repos/listing.ts builds it). */
export interface ListingQuery {
  type: RepoType;
  /**
   * Namespaces whose private repositories the caller may read (src/auth/permissions.ts `can`): their
   * own name and their organizations'; null for a site admin (every repository).
   */
  readable: string[] | null;
  /** Lower-cased text that `namespace/name` must contain. */
  search?: string;
  /** Only this namespace (compared case-insensitively, as lookups are). */
  authorKey?: string;
  /** true: gated repositories only ('auto' or 'manual'); false: ungated only. */
  gated?: boolean;
  /** Tags every one of which the head commit's summary must carry. */
  filters?: string[];
  /** null: by namespace and name. */
  sort?: ListingSort | null;
  /** 1 ascending, -1 descending. */
  direction?: 1 | -1;
  /** First day counted in `downloads` (sort=downloads). */
  downloadsSince?: number;
  offset?: number;
  limit?: number;
}

export type ListingSort = 'createdAt' | 'id' | 'likes' | 'downloads' | 'lastModified';

/** A stored summary of a head commit (src/repos/listing-summary.ts). */
export interface ListingSummaryRecord {
  repoId: string;
  headSha: string;
  /** Committer time, ms since the epoch. */
  lastModified: number;
  /** The README front matter, as JSON text, or null. */
  card: string | null;
}

export interface ListingRow {
  repo: RepoRecord;
  /** The commit the default branch names now (as `resolveRevision(…, 'HEAD', …)` finds it), or null. */
  head: string | null;
  /** The stored summary, which may be of another commit than head (then it is stale). */
  summary: ListingSummaryRecord | null;
}

/** Listings of repositories answered in SQL, and the per-repository summaries they sort and filter by. */
export interface ListingDb {
  /** One page in order, and whether more rows follow it. */
  page(q: ListingQuery): Promise<{ rows: ListingRow[]; more: boolean }>;
  /**
   * The repositories the query matches (filters, sort and page aside) whose summary is not of their
   * head: at most `max`, in id order, after the id `after` when given.
   */
  stale(q: ListingQuery, max: number, after?: string): Promise<{ repoId: string; head: string | null }[]>;
  /** The head (or null) and stored summary of one repository. */
  current(repoId: string): Promise<{ head: string | null; summary: ListingSummaryRecord | null }>;
  /** Stores a summary with its filter tags, replacing what was stored for the repository. */
  put(summary: ListingSummaryRecord, tags: string[]): Promise<void>;
  /** Drops the repository's summary (it has no head, or it is deleted). */
  forget(repoId: string): Promise<void>;
}

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e.message ?? '');
};

/** `refs/heads/<default>` first, then `refs/tags/<default>`, peeled: what resolveRevision reads for HEAD. */
const HEAD = 'COALESCE(hb.peeled, hb.oid, ht.peeled, ht.oid)';

/** LIKE pattern for a substring, with its wildcards and the escape character escaped. */
export const containsPattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The listing queries over `repositories`, `refs`, `repo_listing(_tags)`, `repo_gates`, `repo_likes`
 * and `repo_downloads`, for SQLite and PostgreSQL. `write` serializes writes on SQLite; `read` is
 * how reads of refs wait on SQLite (see typeorm-db.ts).
 */
export function createListingDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>, read: <T>(fn: () => Promise<T>) => Promise<T>, kind: 'sqlite' | 'postgres'): ListingDb {
  /** `namespace/name` ordered as JavaScript compares strings (code units), as the listing always did. */
  const idExpr = kind === 'postgres' ? `(r.namespace || '/' || r.name) COLLATE "C"` : `(r.namespace || '/' || r.name)`;
  /** The repository's updated_at in ms since the epoch (lastModified of a repository without commits). */
  const updatedMs = kind === 'postgres' ? 'FLOOR(EXTRACT(EPOCH FROM r.updated_at) * 1000)' : `CAST(ROUND((julianday(r.updated_at) - 2440587.5) * 86400000.0) AS INTEGER)`;

  /** Joins the head (default branch, else tag of that name) and the stored summary of each repository `r`. */
  const withHeads = <T extends SelectQueryBuilder<RepoEntity>>(qb: T): T =>
    qb
      .leftJoin(RefEntity, 'hb', `hb.repo_id = r.id AND hb.name = 'refs/heads/' || r.default_branch`)
      .leftJoin(RefEntity, 'ht', `ht.repo_id = r.id AND ht.name = 'refs/tags/' || r.default_branch`)
      .leftJoin(RepoListingEntity, 'l', 'l.repo_id = r.id');

  /** Repositories of the type the caller may read, narrowed by search, author and gating (heads joined when asked). */
  const base = (q: ListingQuery, heads: boolean): SelectQueryBuilder<RepoEntity> => {
    const qb = ds.createQueryBuilder(RepoEntity, 'r');
    if (heads) withHeads(qb);
    qb.where('r.type = :type', { type: q.type });
    if (q.readable) {
      if (q.readable.length) qb.andWhere('(NOT r.private OR r.namespace IN (:...readable))', { readable: q.readable });
      else qb.andWhere('NOT r.private');
    }
    if (q.search) qb.andWhere(`(r.namespace_key || '/' || r.name_key) LIKE :pattern ESCAPE '\\'`, { pattern: containsPattern(q.search) });
    if (q.authorKey !== undefined) qb.andWhere('r.namespace_key = :authorKey', { authorKey: q.authorKey });
    if (q.gated !== undefined) qb.andWhere(`${q.gated ? '' : 'NOT '}EXISTS (SELECT 1 FROM repo_gates g WHERE g.repo_id = r.id AND g.mode IN ('auto', 'manual'))`);
    return qb;
  };

  /** Heads and stored summaries of these repositories. */
  const headsOf = async (ids: string[]): Promise<Map<string, Record<string, unknown>>> => {
    if (ids.length === 0) return new Map();
    const raws = await read(() =>
      withHeads(ds.createQueryBuilder(RepoEntity, 'r'))
        .select('r.id', 'r_id')
        .addSelect(HEAD, 'head')
        .addSelect('l.head_sha', 'l_head')
        .addSelect('l.last_modified', 'l_modified')
        .addSelect('l.card', 'l_card')
        .where('r.id IN (:...ids)', { ids })
        .getRawMany<Record<string, unknown>>(),
    );
    return new Map(raws.map((x) => [String(x.r_id), x]));
  };

  const summaryOf = (raw: Record<string, unknown>): ListingSummaryRecord | null =>
    raw.l_head == null ? null : { repoId: String(raw.r_id), headSha: String(raw.l_head), lastModified: Number(raw.l_modified), card: raw.l_card == null ? null : String(raw.l_card) };

  return {
    async page(q) {
      // Ordered and paged on what the order needs; heads and summaries are joined for the page only
      // (or for every row when they are the order).
      const byTime = q.sort === 'lastModified';
      const qb = base(q, byTime).select('r.id', 'r_id');
      (q.filters ?? []).forEach((tag, i) => qb.andWhere(`EXISTS (SELECT 1 FROM repo_listing_tags t${i} WHERE t${i}.repo_id = r.id AND t${i}.tag = :tag${i})`, { [`tag${i}`]: tag }));
      const dir = q.direction === 1 ? 'ASC' : 'DESC';
      if (q.sort === 'likes') qb.leftJoin((sq) => sq.select('k.repo_id', 'repo_id').addSelect('COUNT(*)', 'n').from(RepoLikeEntity, 'k').groupBy('k.repo_id'), 'kc', 'kc.repo_id = r.id');
      if (q.sort === 'downloads') {
        qb.leftJoin((sq) => sq.select('d.repo_id', 'repo_id').addSelect('SUM(d.n)', 'n').from(RepoDownloadEntity, 'd').where('d.day >= :since').groupBy('d.repo_id'), 'dc', 'dc.repo_id = r.id');
        qb.setParameter('since', q.downloadsSince ?? 0);
      }
      const sortKey: Record<ListingSort, string> = {
        createdAt: 'r.created_at',
        id: idExpr,
        likes: 'COALESCE(kc.n, 0)',
        downloads: 'COALESCE(dc.n, 0)',
        lastModified: `CASE WHEN ${HEAD} IS NULL THEN ${updatedMs} ELSE l.last_modified END`,
      };
      if (q.sort) {
        qb.addSelect(sortKey[q.sort], 'sort_key').orderBy('sort_key', dir);
        // Ties: likes and downloads by id ascending, the others in namespace, name order (a stable sort of that order).
        if (q.sort === 'likes' || q.sort === 'downloads') qb.addSelect(idExpr, 'id_key').addOrderBy('id_key', 'ASC');
      }
      qb.addOrderBy('r.namespace', 'ASC').addOrderBy('r.name', 'ASC');
      const limit = q.limit ?? 1000;
      const raws = await read(() => qb.offset(q.offset ?? 0).limit(limit + 1).getRawMany<Record<string, unknown>>());
      const more = raws.length > limit;
      const ids = raws.slice(0, limit).map((x) => String(x.r_id));
      const heads = await headsOf(ids);
      const entities = ids.length ? await ds.getRepository(RepoEntity).findBy({ id: In(ids) }) : [];
      const byId = new Map(entities.map(({ namespaceKey: _ns, nameKey: _name, ...r }) => [r.id, r as RepoRecord]));
      const rows: ListingRow[] = [];
      for (const id of ids) {
        const repo = byId.get(id);
        const raw = heads.get(id);
        // Deleted between the reads: left out.
        if (repo && raw) rows.push({ repo, head: raw.head == null ? null : String(raw.head), summary: summaryOf(raw) });
      }
      return { rows, more };
    },
    async stale(q, max, after) {
      const qb = base(q, true);
      if (after !== undefined) qb.andWhere('r.id > :after', { after });
      const raws = await read(() =>
        qb
          .select('r.id', 'r_id')
          .addSelect(HEAD, 'head')
          .andWhere(`COALESCE(l.head_sha, '') <> COALESCE(${HEAD}, '')`)
          .orderBy('r.id')
          .limit(max)
          .getRawMany<Record<string, unknown>>(),
      );
      return raws.map((x) => ({ repoId: String(x.r_id), head: x.head == null ? null : String(x.head) }));
    },
    async current(repoId) {
      const raw = (await headsOf([repoId])).get(repoId);
      if (!raw) return { head: null, summary: null };
      return { head: raw.head == null ? null : String(raw.head), summary: summaryOf(raw) };
    },
    async put(summary, tags) {
      try {
        await write(() =>
          ds.transaction(async (m) => {
            await m.delete(RepoListingTagEntity, { repoId: summary.repoId });
            await m.delete(RepoListingEntity, { repoId: summary.repoId });
            await m.insert(RepoListingEntity, { ...summary });
            for (let i = 0; i < tags.length; i += 500) await m.insert(RepoListingTagEntity, tags.slice(i, i + 500).map((tag) => ({ repoId: summary.repoId, tag })));
          }),
        );
      } catch (err) {
        // Another process stored a summary at the same time (of this head or a newer one): theirs stands.
        if (!isUniqueViolation(err)) throw err;
      }
    },
    async forget(repoId) {
      await write(() =>
        ds.transaction(async (m) => {
          await m.delete(RepoListingTagEntity, { repoId });
          await m.delete(RepoListingEntity, { repoId });
        }),
      );
    },
  };
}
