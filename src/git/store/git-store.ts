import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '../../core/logger.js';
import { STALE_OBJECTS, type Db, type RefRecord, type RefUpdate, type RefUpdateResult, type RepoRecord } from '../../db/db.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { externalNames } from './object-names.js';
import { PackCache, packKey } from './pack-cache.js';
import { RepoObjects } from './repo-objects.js';
import { RepoStateCache, packOrder, type RepoState } from './repo-state-cache.js';
import { ResolvedBlobs } from './resolved-blobs.js';
import { ResponseCache } from './response-cache.js';

/**
 * What a write was checked against: the objects snapshot (with its gc epoch), and the objects outside
 * its own pack that it relies on (what its new objects name). If a compaction drops objects before
 * the write commits, these are looked for again among the live objects.
 */
export interface WriteBasis {
  objects: RepoObjects;
  needs: () => Iterable<string>;
}

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
  /** Refs, live packs and gc epoch of recently read repositories, under their state version (see snapshot). */
  readonly states = new RepoStateCache((repoId) => this.readState(repoId));
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
    // The epoch first: a compaction that drops objects between the two reads makes it stale, never the other way round.
    const epoch = await this.db.gc.epoch(repoId);
    const live = await this.db.packs.listLive(repoId);
    live.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const packs = await Promise.all(live.map((p) => this.packs.get(repoId, p.name)));
    // The full clone a pack answers as it is, proven on any replica (src/git/store/clone-key.ts).
    for (const [i, p] of live.entries()) if (p.cloneKey && !packs[i]!.fullCloneKey) packs[i]!.fullCloneKey = p.cloneKey;
    return new RepoObjects(packs, epoch);
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

  /**
   * A repository's refs and objects as of its row `repo` (read from the db during this request) or
   * later: kept per state version, so a repository read again and again costs no query here while
   * nothing changes it, and a change by any process (which gives it a new state version) is seen at
   * once. Callers must not mutate the refs. A record without a state version is read through.
   */
  async snapshot(repo: RepoRecord): Promise<{ refs: RefRecord[]; objects: RepoObjects }> {
    if (repo.stateVersion === undefined) {
      const [refs, objects] = await Promise.all([this.refs(repo.id), this.objects(repo.id)]);
      return { refs, objects };
    }
    const state = await this.states.get(repo.id, repo.stateVersion);
    // Opened packs are kept by the pack cache (which may close unused ones): asked for each time.
    const packs = await Promise.all(state.packs.map((name) => this.packs.get(repo.id, name)));
    return { refs: state.refs, objects: new RepoObjects(packs, state.epoch) };
  }

  /** Refs first, then the epoch, then the live packs: the packs hold every object the refs name (refs move only after their pack is live). */
  private async readState(repoId: string): Promise<RepoState> {
    const refs = await this.refs(repoId);
    const epoch = await this.db.gc.epoch(repoId);
    const packs = packOrder(await this.db.packs.listLive(repoId));
    return { refs, packs, epoch };
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
    this.states.forget(repoId);
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

  /**
   * Register the stored pack (stored with thenCommit) and swap refs (compare-and-swap in the db).
   *
   * The commit point of every write holds the gc epoch of the objects the write was checked against
   * (`basis`; without one, the refs' targets and what the pack names are checked here, now). When a
   * compaction dropped objects since, the db applies nothing more and the write is checked again
   * against the live objects: what it relies on is still there (retry at the new epoch) or it is
   * not (the refs fail with 'missing necessary objects'). So no ref ever ends up naming an object a
   * compaction dropped (see Compactor).
   */
  async commit(repoId: string, pack: StoredPack | null, updates: RefUpdate[], atomic: boolean, basis?: WriteBasis): Promise<RefUpdateResult[]> {
    const record = pack ? { repoId, name: pack.name, objectCount: pack.objectCount, sizeBytes: pack.sizeBytes, source: 'receive' as const } : null;
    const results = new Map<string, RefUpdateResult>();
    try {
      let needs: Set<string> | null = null;
      const needed = async (): Promise<Set<string>> => (needs ??= basis ? new Set(basis.needs()) : pack ? await this.namedByPack(repoId, pack) : new Set());
      let epoch = basis?.objects.epoch ?? null;
      let register = record;
      let pending = updates;
      if (epoch === null) {
        const fresh = await this.objects(repoId);
        epoch = fresh.epoch!;
        const missing = await this.missing(repoId, fresh, pack, pending, await needed());
        if (missing) return updates.map((u) => ({ name: u.name, ok: false, reason: 'missing necessary objects' }));
      }
      for (let attempt = 0; ; attempt++) {
        const out = await this.db.commitPush(repoId, register, pending, { atomic, epoch });
        for (const r of out) results.set(r.name, r);
        const stale = pending.filter((u) => {
          const r = results.get(u.name);
          return r && !r.ok && r.reason === STALE_OBJECTS;
        });
        if (stale.length === 0) break;
        const fresh = await this.objects(repoId);
        const live = !!pack && fresh.packs.some((p) => p.repoId === repoId && p.name === pack.name);
        const superseded = !!pack && !live && (await this.db.packs.listSuperseded(repoId)).some((p) => p.name === pack.name);
        // A pack registered before the epoch moved and compacted since: what it brought counts only if the compaction kept it.
        const missing = attempt >= 8 || (await this.missing(repoId, fresh, live || superseded ? null : pack, stale, await needed()));
        this.log.info({ repoId, refs: stale.map((u) => u.name), missing }, 'a compaction dropped objects while this write committed; checked again');
        if (missing) {
          for (const u of stale) results.set(u.name, { name: u.name, ok: false, reason: 'missing necessary objects' });
          break;
        }
        epoch = fresh.epoch!;
        register = live || superseded ? null : record;
        pending = stale;
      }
    } finally {
      if (pack) this.release(`${repoId}/${pack.name}`);
    }
    if (pack) this.onNewPack?.(repoId);
    const applied = updates.filter((u) => results.get(u.name)?.ok);
    if (applied.length) this.onRefsUpdated?.(repoId, applied);
    return updates.map((u) => results.get(u.name)!);
  }

  /** True when something the write relies on is neither among `objects` nor in `pack` (which is to be registered with it). */
  private async missing(repoId: string, objects: RepoObjects, pack: StoredPack | null, updates: RefUpdate[], needs: Set<string>): Promise<boolean> {
    let own: RepoObjects | null = null;
    if (pack) own = new RepoObjects([await this.packs.get(repoId, pack.name).catch(() => null)].filter((p) => p !== null));
    const has = (oid: string) => objects.has(oid) || !!own?.has(oid);
    for (const oid of needs) if (!has(oid)) return true;
    for (const u of updates) if (u.newOid && !has(u.newOid)) return true;
    return false;
  }

  /** What the objects of a stored pack name outside it (for writes that did not say). */
  private async namedByPack(repoId: string, pack: StoredPack): Promise<Set<string>> {
    const loaded = await this.packs.get(repoId, pack.name);
    const objects = new RepoObjects([loaded]);
    const all = function* () {
      for (let i = 0; i < loaded.index.count; i++) {
        const oid = loaded.index.oidAt(i).toString('hex');
        const type = objects.type(oid)!;
        yield { oid, type, data: type === 'blob' ? null : objects.read(oid).data };
      }
    };
    return externalNames(all());
  }
}
