import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { PackFile } from '../pack/pack-file.js';
import { PackIndex } from '../pack/idx.js';

export const packKey = (repoId: string, name: string, ext: 'pack' | 'idx') => `repos/${repoId}/packs/pack-${name}.${ext}`;

const PARSED_CACHE_ENTRIES = 50_000;
/**
 * Parsed objects are held within this many bytes (estimated: parsed trees of large folders take
 * far more than their count says; 50,000 trees of 100 entries would be most of a gigabyte). 32 MiB
 * holds every tree of a 100,000-file checkout (~1,050 trees, ~22 MiB by this estimate) with room
 * for commits; the estimate is above the real heap size (names and ids are one byte a character).
 */
const PARSED_CACHE_BYTES = 32 << 20;
const parsedCache = new Map<string, { value: unknown; bytes: number; tick: number }>();
let parsedBytes = 0;
/** Insertions into parsedCache so far: an entry's `tick` is this count when it was last (re)inserted. */
let parsedTick = 0;

/** Rough heap bytes of a parsed commit or tree (strings at 2 bytes a character, objects at ~64 bytes). */
function parsedSize(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 64;
    for (const e of value as { name?: string; oid?: string; mode?: string }[]) n += 96 + 2 * ((e.name?.length ?? 0) + (e.oid?.length ?? 0) + (e.mode?.length ?? 0));
    return n;
  }
  const c = value as { message?: string } | null;
  return 512 + 2 * (typeof c?.message === 'string' ? c.message.length : 0);
}
let nextLoadedPack = 0;

/** An opened, immutable pack with its index and a lazily built offset → index-position map. */
export class LoadedPack {
  private byOffset?: { offsets: Float64Array; positions: Uint32Array };
  lastUsed = Date.now();
  /** Set when a full clone was found to need exactly this pack: the wants that proved it. */
  fullCloneKey: string | null = null;
  private readonly parsedPrefix = `${nextLoadedPack++}:`;

  /**
   * Parsed commits and trees, kept across requests (packs are immutable) in one cache for the
   * whole process, so walks of hot repositories stop re-parsing the same objects.
   */
  parsed(offset: number): unknown {
    const key = this.parsedPrefix + offset;
    const hit = parsedCache.get(key);
    if (hit === undefined) return undefined;
    // Moved to the newest end only once more insertions than half the entries came after it (until
    // then it cannot be the oldest), not on every use: a walk reads the same few trees thousands of
    // times. An entry used at least once every size/2 insertions is never evicted.
    if (parsedTick - hit.tick > parsedCache.size >> 1) {
      parsedCache.delete(key);
      hit.tick = ++parsedTick;
      parsedCache.set(key, hit);
    }
    return hit.value;
  }

  remember<T>(offset: number, value: T): T {
    const key = this.parsedPrefix + offset;
    const bytes = parsedSize(value);
    const old = parsedCache.get(key);
    if (old) parsedBytes -= old.bytes;
    if (old) parsedCache.delete(key);
    parsedCache.set(key, { value, bytes, tick: ++parsedTick });
    parsedBytes += bytes;
    // Least recently used first, until the cache is within both bounds.
    for (const [k, v] of parsedCache) {
      if (parsedBytes <= PARSED_CACHE_BYTES && parsedCache.size <= PARSED_CACHE_ENTRIES) break;
      parsedCache.delete(k);
      parsedBytes -= v.bytes;
    }
    return value;
  }

  constructor(
    readonly repoId: string,
    readonly name: string,
    readonly file: PackFile,
    readonly index: PackIndex,
    readonly bytes: number,
  ) {}

  /** Bytes the entry at this offset takes in the pack (header and compressed data). */
  entrySize(offset: number): number {
    const { offsets } = this.sortedOffsets();
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = offsets[mid]!;
      if (v === offset) return (mid + 1 < offsets.length ? offsets[mid + 1]! : this.bytes - 20) - offset;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`no object at offset ${offset} in pack ${this.name}`);
  }

  private sortedOffsets(): { offsets: Float64Array; positions: Uint32Array } {
    if (!this.byOffset) {
      const n = this.index.count;
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      const offs = new Float64Array(n);
      for (let i = 0; i < n; i++) offs[i] = this.index.offsetAt(i);
      order.sort((a, b) => offs[a]! - offs[b]!);
      const sorted = new Float64Array(n);
      for (let i = 0; i < n; i++) sorted[i] = offs[order[i]!]!;
      this.byOffset = { offsets: sorted, positions: order };
    }
    return this.byOffset;
  }

  /** The oid stored at an entry offset (for copying OFS deltas, whose base is named by offset). */
  oidAtOffset(offset: number): Buffer {
    const { offsets, positions } = this.sortedOffsets();
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = offsets[mid]!;
      if (v === offset) return this.index.oidAt(positions[mid]!);
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`no object at offset ${offset} in pack ${this.name}`);
  }
}

/**
 * Opens packs for reading. On the filesystem backend packs are read in place; on S3 they are
 * downloaded once into a bounded local disk cache. Packs are immutable, so an opened pack is valid
 * forever; the least recently used are closed (and their cached copies removed) past the limits.
 */
export class PackCache {
  private readonly open = new Map<string, Promise<LoadedPack>>();
  private cachedBytes = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly cacheDir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
    private readonly maxOpen = 512,
  ) {}

  private key(repoId: string, name: string) {
    return `${repoId}/${name}`;
  }

  private localFile(repoId: string, name: string, ext: 'pack' | 'idx') {
    return path.join(this.cacheDir, 'packs', repoId, `pack-${name}.${ext}`);
  }

  get(repoId: string, name: string): Promise<LoadedPack> {
    const k = this.key(repoId, name);
    let p = this.open.get(k);
    if (!p) {
      p = this.load(repoId, name);
      this.open.set(k, p);
      p.catch(() => this.open.delete(k));
      // A failed load is the caller's error (it gets the rejection); eviction runs after a load.
      p.then(
        () => this.evict().catch((err: unknown) => this.log.warn({ err }, 'pack cache eviction failed')),
        () => undefined,
      );
    }
    return p.then((lp) => {
      lp.lastUsed = Date.now();
      return lp;
    });
  }

  /** Register a pack whose files are already local (just received): avoids a download on S3. */
  async adopt(repoId: string, name: string, packPath: string, idx: Buffer): Promise<void> {
    if (this.store.localPath) return; // read in place from the store
    const dest = this.localFile(repoId, name, 'pack');
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.writeFile(this.localFile(repoId, name, 'idx'), idx);
    await fsp.copyFile(packPath, dest);
  }

  private async load(repoId: string, name: string): Promise<LoadedPack> {
    let packPath: string;
    let idxPath: string;
    if (this.store.localPath) {
      packPath = this.store.localPath(packKey(repoId, name, 'pack'));
      idxPath = this.store.localPath(packKey(repoId, name, 'idx'));
    } else {
      packPath = this.localFile(repoId, name, 'pack');
      idxPath = this.localFile(repoId, name, 'idx');
      if (!fs.existsSync(idxPath)) await this.store.download(packKey(repoId, name, 'idx'), idxPath);
      if (!fs.existsSync(packPath)) {
        await this.store.download(packKey(repoId, name, 'pack'), packPath);
        this.log.debug({ repoId, pack: name }, 'pack downloaded to cache');
      }
    }
    const index = PackIndex.fromBuffer(await fsp.readFile(idxPath));
    const file = await PackFile.open(packPath, index);
    const bytes = (await fsp.stat(packPath)).size;
    if (!this.store.localPath) this.cachedBytes += bytes;
    return new LoadedPack(repoId, name, file, index, bytes);
  }

  private async evict(): Promise<void> {
    if (this.open.size <= this.maxOpen && this.cachedBytes <= this.maxBytes) return;
    const loaded: LoadedPack[] = [];
    for (const p of this.open.values()) loaded.push(await p.catch(() => null as unknown as LoadedPack));
    const byAge = loaded.filter(Boolean).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const lp of byAge) {
      if (this.open.size <= this.maxOpen && this.cachedBytes <= this.maxBytes) break;
      // Keep packs used in the last minute: a request may be reading them right now.
      if (Date.now() - lp.lastUsed < 60_000) continue;
      this.open.delete(this.key(lp.repoId, lp.name));
      lp.file.close();
      if (!this.store.localPath) {
        this.cachedBytes -= lp.bytes;
        await fsp.rm(this.localFile(lp.repoId, lp.name, 'pack'), { force: true });
        await fsp.rm(this.localFile(lp.repoId, lp.name, 'idx'), { force: true });
      }
    }
  }

  /** Closes a pack that is gone from the repository (superseded by compaction) and drops its cached copy. */
  async forget(repoId: string, name: string): Promise<void> {
    const k = this.key(repoId, name);
    const p = this.open.get(k);
    if (!p) return;
    this.open.delete(k);
    const lp = await p.catch(() => null);
    if (!lp) return;
    lp.file.close();
    if (!this.store.localPath) {
      this.cachedBytes -= lp.bytes;
      await fsp.rm(this.localFile(repoId, name, 'pack'), { force: true });
      await fsp.rm(this.localFile(repoId, name, 'idx'), { force: true });
    }
  }

  /** Closes a pack that is to be deleted and removes its local copy (adopted or downloaded), open or not. */
  async discard(repoId: string, name: string): Promise<void> {
    await this.forget(repoId, name);
    if (!this.store.localPath) {
      await fsp.rm(this.localFile(repoId, name, 'pack'), { force: true });
      await fsp.rm(this.localFile(repoId, name, 'idx'), { force: true });
    }
  }

  /** Closes every pack of a deleted repository. */
  async forgetRepository(repoId: string): Promise<void> {
    for (const k of [...this.open.keys()]) if (k.startsWith(`${repoId}/`)) await this.forget(repoId, k.slice(repoId.length + 1));
  }

  closeAll(): void {
    for (const p of this.open.values()) void p.then((lp) => lp.file.close()).catch(() => undefined);
    this.open.clear();
  }
}

/** Entries and estimated bytes of the parsed-object cache shared by every open pack (for tests and metrics). */
export function parsedCacheStats(): { entries: number; bytes: number } {
  return { entries: parsedCache.size, bytes: parsedBytes };
}
