import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../../core/logger.js';
import type { Db, RefRecord, RefUpdate, RefUpdateResult } from '../../db/db.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { PackCache, packKey } from './pack-cache.js';
import { RepoObjects } from './repo-objects.js';
import { ResolvedBlobs } from './resolved-blobs.js';
import { ResponseCache } from './response-cache.js';

export interface StoredPack {
  name: string;
  objectCount: number;
  sizeBytes: number;
  idx: Buffer;
  packPath: string;
}

/**
 * A repository's git data: objects in immutable packs in the BlobStore, refs in the db. The only
 * way refs change is `commit`, after the pack it depends on is durable (the invariant that a ref
 * never names an object that is not stored).
 */
export class GitStore {
  readonly packs: PackCache;
  /** Responses to filtered clones, on local disk (a quarter of the cache budget). */
  readonly responses: ResponseCache;
  /** Large blobs stored as deltas, resolved to local files for downloads (a quarter of the cache budget). */
  readonly resolved: ResolvedBlobs;
  /** Told after a commit that registered a new pack (compaction listens). */
  onNewPack: ((repoId: string) => void) | null = null;
  /** Told after a commit with the ref updates that were applied (events and webhooks listen). */
  onRefsUpdated: ((repoId: string, updates: RefUpdate[]) => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    cacheDir: string,
    cacheMaxBytes: number,
    private readonly log: Logger,
  ) {
    this.packs = new PackCache(blobs, cacheDir, cacheMaxBytes, log.child({ module: 'pack-cache' }));
    this.responses = new ResponseCache(path.join(cacheDir, 'responses'), Math.floor(cacheMaxBytes / 4));
    this.resolved = new ResolvedBlobs(path.join(cacheDir, 'blobs'), Math.floor(cacheMaxBytes / 4));
  }

  async objects(repoId: string): Promise<RepoObjects> {
    const live = await this.db.packs.listLive(repoId);
    live.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const packs = await Promise.all(live.map((p) => this.packs.get(repoId, p.name)));
    return new RepoObjects(packs);
  }

  /**
   * A blob's content as a stream that never holds it whole: inflated from the pack as it goes when
   * stored whole, else resolved from its delta chain into a file of the local cache and streamed
   * from there. null when the repository lacks it.
   */
  async streamBlob(objects: RepoObjects, oid: string): Promise<{ size: number; stream: () => Readable } | null> {
    const loc = objects.locate(oid);
    if (!loc) return null;
    return loc.pack.file.streamObject(loc.offset) ?? (await this.resolved.stream(oid, loc.pack.file, loc.offset));
  }

  refs(repoId: string): Promise<RefRecord[]> {
    return this.db.refs.list(repoId);
  }

  /**
   * Make a received (complete, indexed, validated) pack durable: pack first, then its index. The
   * temp file at packPath is consumed (renamed into place on a local store).
   */
  async storePack(repoId: string, pack: StoredPack, opts: { thenCommit?: boolean } = {}): Promise<void> {
    // With thenCommit (the caller registers it by commit() next), counted until then: see discardPack.
    const key = `${repoId}/${pack.name}`;
    if (opts.thenCommit) this.storing.set(key, (this.storing.get(key) ?? 0) + 1);
    try {
      await this.packs.adopt(repoId, pack.name, pack.packPath, pack.idx);
      await this.blobs.putFile(packKey(repoId, pack.name, 'pack'), pack.packPath, { move: true });
      await this.blobs.put(packKey(repoId, pack.name, 'idx'), Readable.from([pack.idx]), { size: pack.idx.length });
    } catch (err) {
      if (opts.thenCommit) this.release(key);
      throw err;
    }
  }

  /**
   * After a repository's rows are deleted: its packs leave storage and the cache. (LFS objects are
   * shared by content across repositories and stay.)
   */
  async deleteRepository(repoId: string): Promise<void> {
    await this.packs.forgetRepository(repoId);
    for await (const { key } of this.blobs.list(`repos/${repoId}/`)) await this.blobs.delete(key);
  }

  /** Packs being stored by this process and not yet registered or discarded (name -> count). */
  private readonly storing = new Map<string, number>();

  private release(key: string): void {
    const n = (this.storing.get(key) ?? 1) - 1;
    if (n > 0) this.storing.set(key, n);
    else this.storing.delete(key);
  }

  /**
   * Make a stored pack that no ref update came to use go away (the compare-and-swap was lost):
   * best effort. Packs are named by their content, so a pack of the same name that another write
   * of this process is storing, or that the db lists, is kept.
   */
  async discardPack(repoId: string, name: string, log: Logger = this.log): Promise<void> {
    try {
      if ((this.storing.get(`${repoId}/${name}`) ?? 0) > 0) return;
      if ((await this.db.packs.listLive(repoId)).some((p) => p.name === name)) return;
      await this.packs.discard(repoId, name);
      await this.blobs.delete(packKey(repoId, name, 'pack'));
      await this.blobs.delete(packKey(repoId, name, 'idx'));
    } catch (err) {
      log.warn({ err, repoId, pack: name }, 'could not delete an unused pack');
    }
  }

  /** Register the stored pack (stored with thenCommit) and swap refs (compare-and-swap in the db). */
  async commit(repoId: string, pack: StoredPack | null, updates: RefUpdate[], atomic: boolean): Promise<RefUpdateResult[]> {
    const record = pack ? { repoId, name: pack.name, objectCount: pack.objectCount, sizeBytes: pack.sizeBytes, source: 'receive' as const } : null;
    let results: RefUpdateResult[];
    try {
      results = await this.db.commitPush(repoId, record, updates, { atomic });
    } finally {
      if (pack) this.release(`${repoId}/${pack.name}`);
    }
    if (pack) this.onNewPack?.(repoId);
    const applied = new Set(results.filter((r) => r.ok).map((r) => r.name));
    if (applied.size) this.onRefsUpdated?.(repoId, updates.filter((u) => applied.has(u.name)));
    return results;
  }
}
