import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { Db, PackRecord, RefRecord } from '../../db/db.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { indexPack } from '../pack/index-pack.js';
import { Readable } from 'node:stream';
import { cloneKey, cloneWants, provenCloneKey } from './clone-key.js';
import { enumerateObjects } from './enumerate.js';
import type { GitStore } from './git-store.js';
import { writePack } from './pack-builder.js';
import { packKey } from './pack-cache.js';
import { RepoObjects } from './repo-objects.js';

export interface CompactorOptions {
  /** Compact a repository once it has this many live packs (0: never on its own). */
  minPacks: number;
  /** Wait this long after the last new pack of a repository, so a burst of pushes compacts once. */
  delayMs: number;
  /** Superseded packs stay readable this long, for requests that started before the swap (on every replica). */
  graceMs: number;
  /** Objects no ref reaches are kept this long after they became unreachable (or arrived), then dropped. */
  unreachableGraceMs: number;
  tmpDir: string;
}

export interface CompactionResult {
  name: string;
  objects: number;
  bytes: number;
  replaced: number;
  /** Bytes of the packs replaced (they leave storage after the grace period). */
  replacedBytes: number;
  /** Objects no ref reaches, still in their grace period: kept at the end of the pack. */
  unreachable: number;
  /** Objects no ref reaches whose grace period is over: left out of the new pack. */
  dropped: number;
}

/** Per object of a compacted pack that no ref reached: when it was first found so (epoch ms). */
const cruftKey = (repoId: string, name: string) => `repos/${repoId}/packs/pack-${name}.mtimes`;

/**
 * Background compaction and the git half of garbage collection: a repository's live packs (one per
 * push or API commit) become one pack, so fetches consult one index and a full clone can stream the
 * stored pack as it is.
 *
 * The new pack holds every object reachable from the refs (all refs: branches, tags, refs/pr/*,
 * refs/mirror-archive/*, ...) in the order a full clone sends them, then the unreachable objects
 * still in their grace period with everything they name (so every stored object stays complete),
 * with a side file (`pack-<name>.mtimes`) saying since when each of those is unreachable. The grace
 * period of an unreachable object runs from the creation of the pushed pack that brought it, or
 * from the compaction that first found it unreachable (objects of a compacted pack that were
 * reachable then), or from the time its side file records. Unreachable objects past it are dropped.
 * Stored entries are copied verbatim (deltas kept, offsets rewritten); the result is indexed and
 * verified like a received pack, stored, and swapped in with one transaction. Replaced packs are
 * deleted once their grace period (`graceMs`, counted from the swap and recorded in the db, so every
 * replica honours it) is over. One compaction at a time per process.
 *
 * Dropping objects races with writes, as `git gc` does with pushes: a push may have checked its pack
 * against objects that include one about to be dropped (a delta base it did not send, a parent, a
 * ref target it names without sending). It is made safe at the two commit points, both under the
 * repository row lock in the db:
 *  - A compaction that drops nothing swaps packs as before (it keeps every object).
 *  - A compaction that drops objects commits only if the live packs are exactly the ones it read
 *    and no ref was created or moved since it computed reachability (db.gc.replacePruning); it then
 *    bumps the repository's gc epoch. Otherwise its pack is thrown away and a later run tries again.
 *  - Every write (push, API commit, branch creation) reads the epoch before the live packs it checks
 *    against, and its commit point (db.commitPush) requires that epoch unchanged. If a dropping
 *    compaction committed in between, nothing is applied and the write is checked again against the
 *    live objects (GitStore.commit): what its objects name and what its refs point at must still be
 *    there (and are then complete, see above), or its refs fail with 'missing necessary objects'.
 * Locks serialize the two: a push committing holds the row in share mode, so a dropping compaction
 * waits for it and then sees its refs (and gives up); a compaction holding the row makes the push
 * wait and then see the new epoch. Thin-pack bases a push relied on are appended to its pack when
 * it is received, so a stored pack never depends on another pack. No ref can therefore end up
 * naming an object that a compaction dropped; the grace period only makes such a retry (or a
 * failed push) rare, as git's gc.pruneExpire does.
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

  /**
   * A repository got a new pack: compact it after a quiet period if it has enough packs. Below that,
   * find out at once whether a pack now holds the whole history (the first push, or a force push over
   * a repository created with an initial commit), so a clone soon after the push streams it as it is:
   * a pack pushed on top of earlier history is told apart by a walk of its commits, cheaply.
   */
  schedule(repoId: string): void {
    if (this.closed || this.opts.minPacks <= 0) return;
    void this.run(async () => {
      const live = await this.db.packs.listLive(repoId);
      if (live.length < this.opts.minPacks && live.some((p) => !p.cloneKey)) await this.proveCloneKey(repoId, null, false, undefined, live.map((p) => p.name));
    });
    clearTimeout(this.timers.get(repoId));
    const timer = setTimeout(() => {
      this.timers.delete(repoId);
      void this.run(async () => {
        if ((await this.db.packs.listLive(repoId)).length >= this.opts.minPacks) await this.compact(repoId, false);
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
    return this.run(() => this.compact(repoId, false));
  }

  /**
   * Garbage collection of one repository (queued like compactions): deletes superseded packs past
   * their grace period, then compacts if there are several packs or unreachable objects to drop.
   * Failures are thrown.
   */
  collect(repoId: string): Promise<CompactionResult | null> {
    const next = this.queue.then(async () => {
      const r = await this.compact(repoId, true);
      await this.sweep(repoId); // with no grace period (as `packhub gc` may set it), what it replaced goes now
      return r;
    });
    this.queue = next.catch(() => null);
    return next;
  }

  /** Bytes of superseded packs of a repository waiting for their grace period to end. */
  async supersededBytes(repoId: string): Promise<number> {
    return (await this.db.packs.listSuperseded(repoId)).reduce((n, p) => n + p.sizeBytes, 0);
  }

  /**
   * What garbage collection would drop from a repository now (a dry run): unreachable objects past
   * their grace period, with the bytes their entries take in the packs.
   */
  async plan(repoId: string): Promise<{ droppedObjects: number; droppedBytes: number }> {
    const live = await this.db.packs.listLive(repoId);
    if (live.length === 0) return { droppedObjects: 0, droppedBytes: 0 };
    const a = await this.analyze(repoId, live);
    const keep = new Set([...a.reachable, ...a.kept]);
    let droppedBytes = 0;
    const counted = new Set<string>();
    for (const pack of a.objects.packs) {
      for (let j = 0; j < pack.index.count; j++) {
        const oid = pack.index.oidAt(j).toString('hex');
        if (!keep.has(oid) && !counted.has(oid)) {
          counted.add(oid);
          droppedBytes += pack.entrySize(pack.index.offsetAt(j));
        }
      }
    }
    return { droppedObjects: a.dropped, droppedBytes };
  }

  /** Reachability over the live packs (newest first in `live`, sorted here): what is kept, and since when unreachable objects are so. */
  private async analyze(repoId: string, live: PackRecord[]) {
    const now = Date.now();
    const refs = await this.db.refs.list(repoId);
    live.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const objects = new RepoObjects(await Promise.all(live.map((p) => this.store.packs.get(repoId, p.name))));
    const wants = [...new Set(refs.map((r) => r.oid))];
    const reachable = wants.length ? enumerateObjects(objects, { wants, commonHaves: [], clientShallow: [] }).objects : [];
    const seen = new Set(reachable);
    // Unreachable objects and since when they are so.
    const since = new Map<string, number>();
    for (const [i, pack] of objects.packs.entries()) {
      const record = live[i]!;
      const cruft = record.source === 'compact' ? await this.readCruft(repoId, record.name) : null;
      for (let j = 0; j < pack.index.count; j++) {
        const oid = pack.index.oidAt(j).toString('hex');
        if (seen.has(oid) || since.has(oid)) continue;
        since.set(oid, record.source === 'compact' ? (cruft?.get(oid) ?? now) : record.createdAt.getTime());
      }
    }
    const young = [...since].filter(([, t]) => now - t < this.opts.unreachableGraceMs).map(([oid]) => oid);
    // Young objects are kept with all they name (which may be older), so nothing kept is incomplete.
    const kept = young.length ? enumerateObjects(objects, { wants: young, commonHaves: [], clientShallow: [] }).objects.filter((o) => !seen.has(o)) : [];
    return { refs, objects, reachable, kept, since, dropped: since.size - kept.length };
  }

  private async compact(repoId: string, gc: boolean): Promise<CompactionResult | null> {
    await this.sweep(repoId);
    const live = await this.db.packs.listLive(repoId);
    if (live.length === 0 || (live.length < 2 && !gc)) return null;
    const started = performance.now();
    const { refs, objects, reachable, kept, since, dropped } = await this.analyze(repoId, live);
    const order = [...reachable, ...kept];
    if (live.length < 2 && dropped === 0) return null;
    const replaced = live.map((p) => p.name);
    const replacedBytes = live.reduce((n, p) => n + p.sizeBytes, 0);
    if (order.length === 0) {
      // No ref and nothing young: every pack goes.
      if (!(await this.db.gc.replacePruning(repoId, null, replaced, refs))) return null;
      this.retire(repoId, replaced);
      return { name: '', objects: 0, bytes: 0, replaced: replaced.length, replacedBytes, unreachable: 0, dropped };
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
      // The same bytes as a live pack (all that is kept came in one push): that pack stays, the others go.
      const already = live.some((p) => p.name === name);
      if (already && dropped === 0) return null;
      const superseded = replaced.filter((n) => n !== name);
      const bytes = (await fsp.stat(tmp)).size;
      if (!already) {
        if (kept.length) await this.writeCruft(repoId, name, kept.map((oid) => [oid, since.get(oid)!]));
        await this.store.storePack(repoId, { name, objectCount: order.length, sizeBytes: bytes, idx: indexed.idx, packPath: tmp });
        stored = true;
      }
      const record = { repoId, name, objectCount: order.length, sizeBytes: bytes, source: 'compact' as const };
      const swapped = dropped > 0 ? await this.db.gc.replacePruning(repoId, record, replaced, refs) : await this.db.packs.replace(repoId, record, superseded);
      if (!swapped) {
        this.log.info({ repoId, dropping: dropped }, 'the repository changed while compacting; its pack is dropped (a later run tries again)');
        if (!already) await this.deleteFiles(repoId, name);
        return null;
      }
      this.retire(repoId, superseded);
      // Unreachable objects kept for their grace period are in no clone: such a pack answers none exactly.
      if (kept.length === 0) await this.proveCloneKey(repoId, name, true, refs);
      const result = { name, objects: order.length, bytes, replaced: superseded.length, replacedBytes: replacedBytes - (already ? bytes : 0), unreachable: kept.length, dropped };
      this.log.info({ repoId, ...result, ms: Math.round(performance.now() - started) }, 'compacted');
      return result;
    } finally {
      if (!stored) await fsp.rm(tmp, { force: true });
    }
  }

  /**
   * Finds whether pack `name` answers the repository's full clone exactly and keeps that with the
   * pack, so the next clone streams the stored file without walking the history (src/git/store/clone-key.ts).
   * `name` null: whichever live pack holds every wanted tip (usually one at most), unless one is proven already.
   * `live`: the names of every live pack (by default `name` alone), which the walk reads through.
   * `closedOverRefs`: the pack was just written with exactly what `refs` reach. Best effort.
   */
  private async proveCloneKey(repoId: string, name: string | null, closedOverRefs: boolean, refs?: RefRecord[], live: string[] = name ? [name] : []): Promise<void> {
    try {
      const packs = await Promise.all(live.map((n) => this.store.packs.get(repoId, n)));
      const objects = new RepoObjects(packs);
      const allRefs = refs ?? (await this.db.refs.list(repoId));
      const wants = cloneWants(allRefs);
      const known = wants.length ? cloneKey(wants) : null;
      const candidates = name ? [packs[live.indexOf(name)]!] : packs.filter((p) => p.fullCloneKey !== known && wants.every((w) => p.index.has(w)));
      for (const pack of candidates) {
        const key = provenCloneKey(objects, allRefs, closedOverRefs, pack);
        if (!key) continue;
        pack.fullCloneKey = key;
        await this.db.packs.setCloneKey(repoId, pack.name, key);
        this.log.info({ repoId, pack: pack.name }, 'a full clone is this pack as it is');
        return;
      }
    } catch (err) {
      this.log.warn({ err, repoId, pack: name }, 'could not record the full clone of a pack');
    }
  }

  /** Superseded packs leave storage after the grace period (or at a later sweep, on any replica). */
  private retire(repoId: string, replaced: string[]): void {
    for (const p of replaced) this.pending.add(`${repoId}/${p}`);
    this.later(async () => {
      for (const p of replaced) this.pending.delete(`${repoId}/${p}`);
      await this.sweep(repoId, replaced);
    });
  }

  private async readCruft(repoId: string, name: string): Promise<Map<string, number> | null> {
    const key = cruftKey(repoId, name);
    if (!(await this.blobs.stat(key))) return null;
    const chunks: Buffer[] = [];
    for await (const c of await this.blobs.get(key)) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    const out = new Map<string, number>();
    for (let at = 0; at + 28 <= buf.length; at += 28) out.set(buf.toString('hex', at, at + 20), buf.readDoubleBE(at + 20));
    return out;
  }

  private async writeCruft(repoId: string, name: string, entries: [string, number][]): Promise<void> {
    const buf = Buffer.alloc(entries.length * 28);
    entries.forEach(([oid, t], i) => {
      buf.write(oid, i * 28, 'hex');
      buf.writeDoubleBE(t, i * 28 + 20);
    });
    await this.blobs.put(cruftKey(repoId, name), Readable.from([buf]), { size: buf.length });
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
   * Deletes superseded packs of a repository: those named, or (names omitted) those whose grace
   * period is over, such as packs left by a process that stopped before their grace period ended
   * or superseded by another replica.
   */
  private async sweep(repoId: string, names?: string[]): Promise<void> {
    const now = Date.now();
    const candidates =
      names ??
      (await this.db.packs.listSuperseded(repoId))
        // Another replica (or process) may have superseded it: its grace period is in the row.
        .filter((p) => (p.supersededAt === null ? !this.pending.has(`${repoId}/${p.name}`) : now - p.supersededAt >= this.opts.graceMs))
        .map((p) => p.name);
    for (const name of await this.db.packs.forgetSuperseded(repoId, candidates)) {
      await this.store.packs.forget(repoId, name);
      await this.deleteFiles(repoId, name);
    }
  }

  private async deleteFiles(repoId: string, name: string): Promise<void> {
    await this.blobs.delete(packKey(repoId, name, 'idx'));
    await this.blobs.delete(packKey(repoId, name, 'pack'));
    await this.blobs.delete(cruftKey(repoId, name));
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
