import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../../core/logger.js';
import type { Db, RefRecord, RefUpdate, RefUpdateResult } from '../../db/db.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { PackCache, packKey } from './pack-cache.js';
import { RepoObjects } from './repo-objects.js';
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
  /** Told after a commit that registered a new pack (compaction listens). */
  onNewPack: ((repoId: string) => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    cacheDir: string,
    cacheMaxBytes: number,
    private readonly log: Logger,
  ) {
    this.packs = new PackCache(blobs, cacheDir, cacheMaxBytes, log.child({ module: 'pack-cache' }));
    this.responses = new ResponseCache(path.join(cacheDir, 'responses'), Math.floor(cacheMaxBytes / 4));
  }

  async objects(repoId: string): Promise<RepoObjects> {
    const live = await this.db.packs.listLive(repoId);
    live.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const packs = await Promise.all(live.map((p) => this.packs.get(repoId, p.name)));
    return new RepoObjects(packs);
  }

  refs(repoId: string): Promise<RefRecord[]> {
    return this.db.refs.list(repoId);
  }

  /**
   * Make a received (complete, indexed, validated) pack durable: pack first, then its index. The
   * temp file at packPath is consumed (renamed into place on a local store).
   */
  async storePack(repoId: string, pack: StoredPack): Promise<void> {
    await this.packs.adopt(repoId, pack.name, pack.packPath, pack.idx);
    await this.blobs.putFile(packKey(repoId, pack.name, 'pack'), pack.packPath, { move: true });
    await this.blobs.put(packKey(repoId, pack.name, 'idx'), Readable.from([pack.idx]), { size: pack.idx.length });
  }

  /**
   * After a repository's rows are deleted: its packs leave storage and the cache. (LFS objects are
   * shared by content across repositories and stay.)
   */
  async deleteRepository(repoId: string): Promise<void> {
    await this.packs.forgetRepository(repoId);
    for await (const { key } of this.blobs.list(`repos/${repoId}/`)) await this.blobs.delete(key);
  }

  /** Register the stored pack and swap refs (compare-and-swap in the db). */
  async commit(repoId: string, pack: StoredPack | null, updates: RefUpdate[], atomic: boolean): Promise<RefUpdateResult[]> {
    const record = pack ? { repoId, name: pack.name, objectCount: pack.objectCount, sizeBytes: pack.sizeBytes, source: 'receive' as const } : null;
    const results = await this.db.commitPush(repoId, record, updates, { atomic });
    if (pack) this.onNewPack?.(repoId);
    return results;
  }
}
