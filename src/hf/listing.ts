import type { Logger } from '../core/logger.js';
import type { Db, RepoRecord } from '../db/db.js';
import type { ListingQuery, ListingRow } from '../db/listing-db.js';
import type { GitStore } from '../git/store/git-store.js';
import { cardTags, filterTags, summarizeHead, type HeadSummary } from './repo-json.js';

/** Tags stored per head for `filter=` (a filter is at most 200 characters; past this many a card's tags are not indexed). */
const MAX_TAG_LENGTH = 200;
const MAX_TAGS = 10_000;
/** Repositories summarized at once when many are stale (each opens the repository's packs). */
const REPAIR_CONCURRENCY = 4;
/** Stale repositories read per round of a full repair. */
const STALE_BATCH = 500;

export interface ListedRepo {
  repo: RepoRecord;
  /** The default branch's head commit's summary; null for a repository without commits. */
  head: HeadSummary | null;
}

/** The tags a head's `filter=` matches, as stored (bounded, no NUL, which PostgreSQL text refuses). */
export function indexedTags(card: Record<string, unknown> | undefined): string[] {
  const tags = [...filterTags({ tags: cardTags(card), cardData: card })];
  return tags.filter((t) => t.length > 0 && t.length <= MAX_TAG_LENGTH && !t.includes('\0')).slice(0, MAX_TAGS);
}

/**
 * Listings of repositories from the database (src/db/listing-db.ts): visibility, search, order and
 * page in SQL, and each repository's head summary (lastModified, cardData, tags) stored per head
 * commit. A summary of another commit than the head is rebuilt when read (so a branch moved by
 * another replica shows at the next listing); writes here refresh it at once (`refresh`).
 */
export function createListingService(deps: { db: Db; store: GitStore; log: Logger }) {
  const { db, store, log } = deps;

  /** Reads the head commit's summary from the repository's objects and stores it (null: no head any more). */
  async function rebuild(repoId: string, head: string | null): Promise<HeadSummary | null> {
    if (head === null) {
      await db.listing.forget(repoId);
      return null;
    }
    const summary = summarizeHead(await store.objects(repoId), head);
    await db.listing.put({ repoId, headSha: head, lastModified: summary.lastModified, card: summary.card ? JSON.stringify(summary.card) : null }, indexedTags(summary.card));
    return summary;
  }

  /** Runs fn over items, `REPAIR_CONCURRENCY` at a time. */
  async function each<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(REPAIR_CONCURRENCY, items.length) }, worker));
  }

  /** Rebuilds every stale summary among the repositories the query matches (before filtering or sorting by them). */
  async function repairAll(q: ListingQuery): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const stale = await db.listing.stale(q, STALE_BATCH, after);
      if (stale.length === 0) return;
      await each(stale, async ({ repoId, head }) => {
        try {
          await rebuild(repoId, head);
        } catch (err) {
          // Left as it is: the repository shows (or fails) when its page is rendered.
          log.warn({ err, repoId }, 'could not summarize a repository for the listing');
        }
      });
      after = stale.at(-1)!.repoId;
    }
  }

  /** The head summary a page row shows: the stored one when it is of the head, else rebuilt now. */
  async function headOf(row: ListingRow): Promise<HeadSummary | null> {
    if (row.head === null) return null;
    if (row.summary && row.summary.headSha === row.head) {
      const card = row.summary.card === null ? undefined : (JSON.parse(row.summary.card) as Record<string, unknown>);
      return { sha: row.head, lastModified: row.summary.lastModified, card };
    }
    return rebuild(row.repo.id, row.head);
  }

  return {
    /**
     * One page of the listing, and whether more follow. Filtering by tags or sorting by
     * lastModified reads every matching repository's summary, so stale ones are rebuilt first.
     */
    async list(q: ListingQuery): Promise<{ items: ListedRepo[]; more: boolean }> {
      // Names and tags never hold NUL (and PostgreSQL refuses it in text): nothing matches.
      if ([q.search, q.authorKey, ...(q.filters ?? [])].some((s) => s?.includes('\0'))) return { items: [], more: false };
      if (q.filters?.length || q.sort === 'lastModified') await repairAll(q);
      const { rows, more } = await db.listing.page(q);
      const items: ListedRepo[] = rows.map((row) => ({ repo: row.repo, head: null }));
      await each(
        rows.map((row, i) => ({ row, i })),
        async ({ row, i }) => {
          items[i]!.head = await headOf(row);
        },
      );
      return { items, more };
    },

    /**
     * Summarizes every repository whose summary is missing or stale (after the upgrade that added
     * them, or writes another process made while none listed): in the background at startup, so
     * that the first listing filtered by tags or sorted by lastModified does not wait for it.
     */
    async warm(): Promise<void> {
      try {
        for (const type of ['model', 'dataset', 'space'] as const) await repairAll({ type, readable: null });
      } catch (err) {
        log.warn({ err }, 'could not summarize repositories for listings');
      }
    },

    /** After refs of a repository moved here: its summary follows its head (best effort; a listing repairs it anyway). */
    async refresh(repoId: string): Promise<void> {
      try {
        const { head, summary } = await db.listing.current(repoId);
        if ((summary?.headSha ?? null) !== head) await rebuild(repoId, head);
      } catch (err) {
        log.warn({ err, repoId }, 'could not refresh the listing summary');
      }
    },
  };
}

export type ListingService = ReturnType<typeof createListingService>;
