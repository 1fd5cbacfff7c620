import { invalid } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import type { Compactor } from '../git/store/compactor.js';
import { enumerateObjects } from '../git/store/enumerate.js';
import type { GitStore } from '../git/store/git-store.js';
import { MAX_POINTER_SIZE, parsePointer } from '../lfs/pointer.js';
import type { JobEngine } from '../jobs/engine.js';
import type { JobHandler, JobKindOptions } from '../jobs/types.js';
import type { LfsRecords } from '../lfs/records.js';
import type { BlobStore } from '../storage/blob-store.js';

/** Where packhub keeps what in object storage; anything else in the bucket is left alone. */
const PACK_KEY = /^repos\/([^/]+)\/packs\/pack-([0-9a-f]{40})\.(pack|idx|mtimes)$/;
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

const lfsKey = (oid: string) => `lfs/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`;

export interface GcDeps {
  db: Db;
  lfs: LfsRecords;
  blobs: BlobStore;
  store: GitStore;
  compactor: Compactor;
  log: Logger;
  /** Told what a run found reclaimable and what it reclaimed (metrics). */
  report?: (r: GcReport) => void;
}

export interface GcReport {
  dryRun: boolean;
  repos: number;
  git: {
    /** Unreachable objects past their grace period: dropped by compaction (dry run: to drop). */
    droppedObjects: number;
    /** Dry run: bytes those objects take in their packs. Otherwise: bytes the compactions saved (old packs minus new). */
    droppedBytes: number;
    /** Superseded packs waiting for their grace period (deleted by a later run once it is over). */
    supersededBytes: number;
  };
  lfs: {
    /** Links of repositories to LFS objects that no pointer reachable from their refs names any more. */
    unlinked: number;
    /** Objects no repository links, deleted (dry run: to delete), and their bytes. */
    deleted: number;
    deletedBytes: number;
    /** Objects no repository links, still in their grace period. */
    waitingBytes: number;
  };
  /** The sweep of objects no row names (packs of lost races, unverified uploads, ...). */
  sweep: SweepResult;
}

/** The LFS oids named by pointer files reachable from a repository's refs. */
async function pointedLfs(store: GitStore, repoId: string): Promise<Set<string>> {
  const objects = await store.objects(repoId);
  const refs = await store.refs(repoId);
  const wants = [...new Set(refs.map((r) => r.oid))];
  const out = new Set<string>();
  if (!wants.length) return out;
  for (const oid of enumerateObjects(objects, { wants, commonHaves: [], clientShallow: [] }).objects) {
    if (objects.type(oid) !== 'blob' || objects.size(oid) > MAX_POINTER_SIZE) continue;
    const p = parsePointer(objects.read(oid).data);
    if (p) out.add(p.oid);
  }
  return out;
}

/**
 * Garbage collection, all of it (`packhub gc` and the server's schedule):
 *  1. git: every repository is compacted with unreachable objects past the grace period left out
 *     (see Compactor for why that is safe against concurrent pushes); superseded packs past their
 *     own grace period leave storage.
 *  2. LFS: a repository's links to objects that no pointer reachable from its refs names, made
 *     longer than the grace period ago, are removed (its quota usage drops); a pointer reachable
 *     again re-links an object that is still stored. An object no repository links is marked
 *     orphaned, and deleted once it has been so for the grace period (counted once however many
 *     repositories shared it) unless its stored copy is younger than that (an upload of the same
 *     content is under way); if a link appears while it is being deleted, its row is restored.
 *     A push that checked its LFS objects longer than the grace period before it commits could
 *     still name a deleted object: the grace period is the bound, as for git-lfs prune.
 *  3. The storage sweep (sweepStorage).
 * With dryRun nothing changes and the report says what would go.
 */
export async function collectGarbage(deps: GcDeps, opts: { graceMs: number; dryRun?: boolean }): Promise<GcReport> {
  const dryRun = !!opts.dryRun;
  const report: GcReport = {
    dryRun,
    repos: 0,
    git: { droppedObjects: 0, droppedBytes: 0, supersededBytes: 0 },
    lfs: { unlinked: 0, deleted: 0, deletedBytes: 0, waitingBytes: 0 },
    sweep: { scanned: 0, removed: [], removedBytes: 0, young: 0 },
  };
  const repos = await deps.db.repos.list();
  report.repos = repos.length;
  for (const repo of repos) {
    try {
      if (dryRun) {
        const plan = await deps.compactor.plan(repo.id);
        report.git.droppedObjects += plan.droppedObjects;
        report.git.droppedBytes += plan.droppedBytes;
      } else {
        const r = await deps.compactor.collect(repo.id);
        if (r) {
          report.git.droppedObjects += r.dropped;
          report.git.droppedBytes += Math.max(0, r.replacedBytes - r.bytes);
        }
      }
      report.git.supersededBytes += await deps.compactor.supersededBytes(repo.id);

      const now = Date.now();
      const pointed = await pointedLfs(deps.store, repo.id);
      const links = await deps.db.gc.lfsLinks(repo.id);
      const linked = new Set(links.map((l) => l.oid));
      const stale = links.filter((l) => !pointed.has(l.oid) && now - l.linkedAt.getTime() >= opts.graceMs).map((l) => l.oid);
      report.lfs.unlinked += stale.length;
      if (!dryRun) {
        await deps.db.gc.lfsUnlink(repo.id, stale);
        // Objects permanently deleted from the repository stay unlinked whatever its history still points at.
        const relink = [...pointed].filter((oid) => !linked.has(oid));
        const deleted = relink.length ? await deps.db.lfsFiles.deletedIn(repo.id, relink) : new Set<string>();
        for (const oid of relink) if (!deleted.has(oid) && (await deps.lfs.objectSize(oid)) !== null) await deps.lfs.link(repo.id, oid);
      }
    } catch (err) {
      deps.log.warn({ err, repoId: repo.id }, 'garbage collection of a repository failed; the others go on');
    }
  }

  const now = Date.now();
  const cutoff = now - opts.graceMs;
  if (!dryRun) await deps.db.gc.lfsMarkOrphans(now);
  for (const o of await deps.db.gc.lfsOrphans()) {
    if (o.orphanedAt > cutoff) {
      report.lfs.waitingBytes += o.size;
      continue;
    }
    let modified: Date | null = null;
    for await (const e of deps.blobs.list(lfsKey(o.oid))) if (e.key === lfsKey(o.oid)) modified = e.modified;
    if (modified && now - modified.getTime() < opts.graceMs) {
      report.lfs.waitingBytes += o.size;
      continue;
    }
    if (!dryRun) {
      if (!(await deps.db.gc.lfsForget(o.oid, cutoff))) continue;
      if ((await deps.lfs.reposLinking(o.oid, 1)).length > 0) {
        // Linked again while its row went: the row comes back, the content stays.
        await deps.lfs.recordObject(o.oid, o.size);
        continue;
      }
      await deps.blobs.delete(lfsKey(o.oid));
    }
    report.lfs.deleted++;
    report.lfs.deletedBytes += o.size;
  }

  report.sweep = await sweepStorage(deps, { graceMs: opts.graceMs, dryRun });
  deps.report?.(report);
  deps.log.info({ dryRun, repos: report.repos, git: report.git, lfs: report.lfs, swept: report.sweep.removed.length, sweptBytes: report.sweep.removedBytes }, 'garbage collection');
  return report;
}

/** Puts a run's report on the metrics registry. */
export function gcMetrics(m: {
  gcReclaimable: { set(labels: { kind: string }, value: number): void };
  gcReclaimed: { inc(labels: { kind: string }, value: number): void };
}): (r: GcReport) => void {
  return (r) => {
    if (r.dryRun) return;
    m.gcReclaimable.set({ kind: 'git' }, r.git.supersededBytes);
    m.gcReclaimable.set({ kind: 'lfs' }, r.lfs.waitingBytes);
    m.gcReclaimed.inc({ kind: 'git' }, r.git.droppedBytes);
    m.gcReclaimed.inc({ kind: 'lfs' }, r.lfs.deletedBytes);
    m.gcReclaimed.inc({ kind: 'sweep' }, r.sweep.removedBytes);
  };
}

/** The job kind of a garbage collection (`packhub jobs`, the dashboard's button, the schedule). */
export const GC_JOB = 'storage.gc';

/** What a collection reports as its job's result: bytes given back and bytes waiting for their grace period. */
export function gcSummary(r: GcReport) {
  const found = r.git.droppedBytes + r.lfs.deletedBytes + r.sweep.removedBytes;
  return {
    dryRun: r.dryRun,
    repos: r.repos,
    /** Bytes this run deleted (0 on a dry run). */
    reclaimedBytes: r.dryRun ? 0 : found,
    /** Bytes a later run will delete: superseded packs and unlinked LFS objects in their grace period; on a dry run also what this run would have deleted. */
    reclaimableBytes: r.git.supersededBytes + r.lfs.waitingBytes + (r.dryRun ? found : 0),
    git: r.git,
    lfs: r.lfs,
    sweep: { scanned: r.sweep.scanned, removed: r.sweep.removed.length, removedBytes: r.sweep.removedBytes, young: r.sweep.young },
  };
}

/** Garbage collection as a job: params `{ dryRun?: boolean }`; its result is gcSummary's. */
export function gcJobKind(deps: GcDeps, opts: { graceMs: number }): { handler: JobHandler; options: JobKindOptions } {
  const options: JobKindOptions = {
    acceptParams(params) {
      const p = (params ?? {}) as Record<string, unknown>;
      if (typeof p !== 'object' || Array.isArray(p)) throw invalid('BadJobParams', 'params must be an object');
      for (const k of Object.keys(p)) if (k !== 'dryRun') throw invalid('BadJobParams', `unknown parameter '${k.slice(0, 64)}' (storage.gc takes dryRun)`);
      if (p.dryRun !== undefined && typeof p.dryRun !== 'boolean') throw invalid('BadJobParams', 'params.dryRun must be true or false');
      return p.dryRun ? { dryRun: true } : {};
    },
  };
  const handler: JobHandler = async (ctx) => {
    const dryRun = (ctx.job.params as { dryRun?: unknown }).dryRun === true;
    ctx.log(`${dryRun ? 'dry run: ' : ''}collecting garbage older than ${opts.graceMs} ms`);
    const r = await collectGarbage(deps, { graceMs: opts.graceMs, dryRun });
    const s = gcSummary(r);
    const would = (done: string, todo: string) => (dryRun ? todo : done);
    ctx.log(`git: ${r.repos} repositories; ${r.git.droppedObjects} unreachable objects ${would('dropped', 'to drop')} (${r.git.droppedBytes} bytes); ${r.git.supersededBytes} bytes of superseded packs in their grace period`);
    ctx.log(`lfs: ${r.lfs.unlinked} links ${would('removed', 'to remove')}; ${r.lfs.deleted} objects ${would('deleted', 'to delete')} (${r.lfs.deletedBytes} bytes); ${r.lfs.waitingBytes} bytes in their grace period`);
    ctx.log(`storage sweep: ${r.sweep.scanned} objects scanned; ${r.sweep.removed.length} ${would('deleted', 'to delete')} (${r.sweep.removedBytes} bytes)`);
    ctx.result(s);
  };
  return { handler, options };
}

/**
 * Queues a garbage collection job every `intervalMs` (0: never), the first a few minutes after start,
 * unless one is queued or running already or one completed less than the interval ago (so replicas
 * started together do not each queue one; two that check at the same moment may, which is harmless:
 * collections are safe to run at once). The job runs on whichever replica claims it.
 */
export function scheduleStorageSweeps(jobs: JobEngine, opts: { intervalMs: number }, log: Logger): { close(): void } {
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const due = async () => {
    for (const state of ['queued', 'running'] as const) if ((await jobs.list({ kind: GC_JOB, state, limit: 1 })).length > 0) return false;
    const [last] = await jobs.list({ kind: GC_JOB, state: 'completed', limit: 1 });
    return !last?.finishedAt || Date.now() - last.finishedAt.getTime() >= opts.intervalMs * 0.9;
  };
  const next = (delay: number) => {
    if (closed || opts.intervalMs <= 0) return;
    timer = setTimeout(() => {
      due()
        .then((yes) => (yes ? jobs.enqueue({ kind: GC_JOB, params: {} }) : null))
        .catch((err: unknown) => log.warn({ err }, 'queueing a garbage collection failed'))
        .finally(() => next(opts.intervalMs));
    }, delay);
    timer.unref();
  };
  next(Math.min(opts.intervalMs, 5 * 60_000) * (0.5 + Math.random() / 2));
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
