import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../db/db.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { indexPack } from '../pack/index-pack.js';
import { enumerateObjects } from './enumerate.js';
import type { GitStore } from './git-store.js';
import { writePack } from './pack-builder.js';
import { packKey } from './pack-cache.js';

export interface CompactorOptions {
  /** Compact a repository once it has this many live packs (0: never on its own). */
  minPacks: number;
  /** Wait this long after the last new pack of a repository, so a burst of pushes compacts once. */
  delayMs: number;
  /** Superseded packs stay readable this long, for requests that started before the swap. */
  graceMs: number;
  tmpDir: string;
}

export interface CompactionResult {
  name: string;
  objects: number;
  bytes: number;
  replaced: number;
  /** Objects no ref reaches, kept at the end of the pack (compaction never drops an object). */
  unreachable: number;
}

/**
 * Background compaction: a repository's live packs (one per push or API commit) become one pack,
 * so fetches consult one index and a full clone can stream the stored pack as it is.
 *
 * The new pack holds every object reachable from the refs in the order a full clone sends them,
 * then every other object of the old packs (nothing is ever dropped: this is not garbage
 * collection). Stored entries are copied verbatim (deltas kept, offsets rewritten); the result is
 * indexed and verified like a received pack, stored, and swapped in with one transaction that
 * succeeds only if all the packs it replaces are still live. Replaced packs are deleted after a
 * grace period. One compaction at a time per process.
 */
export class Compactor {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly deletions = new Set<NodeJS.Timeout>();
  /** `repoId/name` of superseded packs whose grace period runs in this process. */
  private readonly pending = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: GitStore,
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly opts: CompactorOptions,
    private readonly log: Logger,
  ) {}

  /** A repository got a new pack: compact it after a quiet period if it has enough packs. */
  schedule(repoId: string): void {
    if (this.closed || this.opts.minPacks <= 0) return;
    clearTimeout(this.timers.get(repoId));
    const timer = setTimeout(() => {
      this.timers.delete(repoId);
      void this.run(async () => {
        const live = await this.db.packs.listLive(repoId);
        if (live.length >= this.opts.minPacks) await this.compact(repoId);
      });
    }, this.opts.delayMs);
    timer.unref();
    this.timers.set(repoId, timer);
  }

  /** Runs `job` after the ones before it; failures are logged, never thrown. */
  private run<T>(job: () => Promise<T>): Promise<T | null> {
    const next = this.queue.then(job).catch((err: unknown) => {
      this.log.error({ err }, 'compaction failed');
      return null;
    });
    this.queue = next;
    return next;
  }

  /** Compacts now (queued behind running compactions); null when there was nothing to do. */
  compactNow(repoId: string): Promise<CompactionResult | null> {
    return this.run(() => this.compact(repoId));
  }

  private async compact(repoId: string): Promise<CompactionResult | null> {
    await this.sweep(repoId);
    const live = await this.db.packs.listLive(repoId);
    if (live.length < 2) return null;
    const started = performance.now();
    const objects = await this.store.objects(repoId);
    const refs = await this.db.refs.list(repoId);
    const wants = [...new Set(refs.map((r) => r.oid))];
    const reachable = wants.length ? enumerateObjects(objects, { wants, commonHaves: [], clientShallow: [] }).objects : [];
    const order = [...reachable];
    const seen = new Set(reachable);
    for (const pack of objects.packs) {
      for (let i = 0; i < pack.index.count; i++) {
        const oid = pack.index.oidAt(i).toString('hex');
        if (!seen.has(oid)) {
          seen.add(oid);
          order.push(oid);
        }
      }
    }
    await fsp.mkdir(this.opts.tmpDir, { recursive: true });
    const tmp = path.join(this.opts.tmpDir, `compact-${crypto.randomUUID()}.pack`);
    let stored = false;
    try {
      const out = fs.createWriteStream(tmp);
      const failed = new Promise<never>((_, reject) => out.once('error', reject));
      failed.catch(() => undefined);
      await Promise.race([
        failed,
        writePack(objects, order, (chunk) => (out.write(chunk) ? undefined : Promise.race([failed, new Promise<void>((r) => out.once('drain', r))])), {
          ofsDelta: true,
          thin: false,
          clientHas: new Set(),
        }),
      ]);
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      // Verified like a received pack: every object inflated, hashed and counted.
      const indexed = await indexPack(tmp);
      if (indexed.objects.length !== order.length) throw new Error(`compacted pack of ${repoId} has ${indexed.objects.length} objects, expected ${order.length}`);
      const name = indexed.checksum;
      if (live.some((p) => p.name === name)) return null;
      const bytes = (await fsp.stat(tmp)).size;
      await this.store.storePack(repoId, { name, objectCount: order.length, sizeBytes: bytes, idx: indexed.idx, packPath: tmp });
      stored = true;
      const replaced = live.map((p) => p.name);
      if (!(await this.db.packs.replace(repoId, { repoId, name, objectCount: order.length, sizeBytes: bytes, source: 'compact' }, replaced))) {
        this.log.info({ repoId }, 'compaction lost a race with another one; its pack is dropped');
        await this.deleteFiles(repoId, name);
        return null;
      }
      for (const p of replaced) this.pending.add(`${repoId}/${p}`);
      this.later(async () => {
        for (const p of replaced) this.pending.delete(`${repoId}/${p}`);
        await this.sweep(repoId, replaced);
      });
      const result = { name, objects: order.length, bytes, replaced: replaced.length, unreachable: order.length - reachable.length };
      this.log.info({ repoId, ...result, ms: Math.round(performance.now() - started) }, 'compacted');
      return result;
    } finally {
      if (!stored) await fsp.rm(tmp, { force: true });
    }
  }

  /** Runs `job` after the grace period (queued like compactions). */
  private later(job: () => Promise<unknown>): void {
    const timer = setTimeout(() => {
      this.deletions.delete(timer);
      void this.run(job);
    }, this.opts.graceMs);
    timer.unref();
    this.deletions.add(timer);
  }

  /**
   * Deletes superseded packs of a repository: those named, or (names omitted) all of them but
   * those in their grace period here, such as packs left by a process that stopped before their
   * grace period ended. (Another replica's grace period is not known here: see the README.)
   */
  private async sweep(repoId: string, names?: string[]): Promise<void> {
    const candidates = names ?? (await this.db.packs.listSuperseded(repoId)).map((p) => p.name).filter((n) => !this.pending.has(`${repoId}/${n}`));
    for (const name of await this.db.packs.forgetSuperseded(repoId, candidates)) {
      await this.store.packs.forget(repoId, name);
      await this.deleteFiles(repoId, name);
    }
  }

  private async deleteFiles(repoId: string, name: string): Promise<void> {
    await this.blobs.delete(packKey(repoId, name, 'idx'));
    await this.blobs.delete(packKey(repoId, name, 'pack'));
  }

  /** Stops scheduling and waits for the running job; pending deletions are left to a later sweep. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    for (const t of this.deletions) clearTimeout(t);
    this.timers.clear();
    this.deletions.clear();
    await this.queue;
  }
}
