import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import type { LfsRecords } from '../lfs/records.js';
import type { BlobStore } from '../storage/blob-store.js';

/** Where packhub keeps what in object storage; anything else in the bucket is left alone. */
const PACK_KEY = /^repos\/([^/]+)\/packs\/pack-([0-9a-f]{40})\.(pack|idx)$/;
const LFS_KEY = /^lfs\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/;
const STAGING_PREFIX = 'lfs-staging/';

export interface SweepOptions {
  /** Objects younger than this are kept whatever the database says (work in progress elsewhere). */
  graceMs: number;
  dryRun?: boolean;
  now?: number;
}

export interface SweepResult {
  /** Objects looked at. */
  scanned: number;
  /** Objects no row names, older than the grace period: deleted (or, dry run, to be deleted). */
  removed: { key: string; size: number }[];
  removedBytes: number;
  /** Unnamed objects still in their grace period. */
  young: number;
}

/**
 * Deletes storage objects that no database row names once they are older than the grace period:
 * packs of pushes and commits that lost their ref race or crashed before their commit point, packs
 * of deleted repositories, LFS uploads that were never verified (staging), LFS objects stored
 * without their record. Objects named by a row are never touched here; superseded packs belong to
 * compaction, which knows their own grace period. Safe to run on every replica at once: deleting is
 * idempotent, and a row is always written after its object is durable, so an object younger than
 * the grace period may still be about to be named.
 */
export async function sweepStorage(deps: { db: Db; lfs: LfsRecords; blobs: BlobStore; log: Logger }, opts: SweepOptions): Promise<SweepResult> {
  const now = opts.now ?? Date.now();
  const result: SweepResult = { scanned: 0, removed: [], removedBytes: 0, young: 0 };
  // Keys come in key order, so one repository's packs are contiguous: its names are fetched once.
  let namesOf: { repoId: string; names: Set<string> } | null = null;
  const packNames = async (repoId: string): Promise<Set<string>> => {
    if (namesOf?.repoId !== repoId) {
      const [live, superseded] = await Promise.all([deps.db.packs.listLive(repoId), deps.db.packs.listSuperseded(repoId)]);
      namesOf = { repoId, names: new Set([...live, ...superseded].map((p) => p.name)) };
    }
    return namesOf.names;
  };
  const consider = async (key: string, size: number, modified: Date, named: () => Promise<boolean>) => {
    result.scanned++;
    if (await named()) return;
    if (now - modified.getTime() < opts.graceMs) {
      result.young++;
      return;
    }
    if (!opts.dryRun) await deps.blobs.delete(key);
    result.removed.push({ key, size });
    result.removedBytes += size;
  };

  for await (const { key, size, modified } of deps.blobs.list('repos/')) {
    const m = PACK_KEY.exec(key);
    if (m) await consider(key, size, modified, async () => (await packNames(m[1]!)).has(m[2]!));
  }
  for await (const { key, size, modified } of deps.blobs.list('lfs/')) {
    const m = LFS_KEY.exec(key);
    if (m) await consider(key, size, modified, async () => (await deps.lfs.objectSize(m[1]!)) !== null);
  }
  // Uploads wait here until they are verified and moved into place; what is left was never verified.
  for await (const { key, size, modified } of deps.blobs.list(STAGING_PREFIX)) await consider(key, size, modified, async () => false);

  if (result.removed.length > 0 || result.young > 0) {
    deps.log.info({ scanned: result.scanned, removed: result.removed.length, removedBytes: result.removedBytes, young: result.young, dryRun: !!opts.dryRun }, 'storage sweep');
  }
  return result;
}

/**
 * Sweeps storage every `intervalMs` (0: never), the first time a few minutes after start. Runs one
 * sweep at a time; failures are logged and the next one is tried on schedule.
 */
export function scheduleStorageSweeps(deps: Parameters<typeof sweepStorage>[0], opts: { intervalMs: number; graceMs: number }): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  let closed = false;
  const next = (delay: number) => {
    if (closed || opts.intervalMs <= 0) return;
    timer = setTimeout(() => {
      running = sweepStorage(deps, { graceMs: opts.graceMs })
        .catch((err: unknown) => deps.log.error({ err }, 'storage sweep failed'))
        .finally(() => next(opts.intervalMs));
    }, delay);
    timer.unref();
  };
  // Replicas started together should not all sweep at the same moment.
  next(Math.min(opts.intervalMs, 5 * 60_000) * (0.5 + Math.random() / 2));
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
