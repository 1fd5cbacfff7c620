import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { GitFormatError } from '../core/errors.js';
import { checkGitmodules } from './objects/gitmodules.js';
import { parseCommit } from './objects/commit.js';
import { OidSet } from './objects/oid-set.js';
import { parseTag } from './objects/tag.js';
import { TYPE_CODE, TYPE_NAME, type ObjectType } from './objects/types.js';
import { PackIndex } from './pack/idx.js';
import { IncomingPack } from './pack/incoming-pack.js';
import { indexPack, type IndexedPack } from './pack/index-pack.js';
import { PackFile } from './pack/pack-file.js';
import { LoadedPack } from './store/pack-cache.js';
import { RepoObjects } from './store/repo-objects.js';
import type { StoredPack } from './store/git-store.js';

/**
 * Collects what the received objects name, as index-pack hands them over (no second read), with the
 * type each link requires: a commit's tree a tree and its parents commits, a tree entry a tree
 * (mode 40000) or a blob (files, symlinks), a tag's object the type the tag states. As `git fsck`
 * does, an object of another type there is refused (no client could check such a commit out).
 */
class Connectivity {
  /** Every object named by a received one -> (index in `referrers` of an object naming it) * 8 + expected type code. */
  private readonly named = new OidSet(4096);
  private readonly referrers: string[] = [];
  private readonly hex = Buffer.alloc(20);

  see = (oid: string, type: ObjectType, data: Buffer | null): void => {
    if (data === null) return; // a large blob
    if (type === 'tree') this.seeTree(oid, data);
    else if (type === 'commit') {
      const c = parseCommit(data);
      const by = this.referrers.push(oid) - 1;
      this.link(c.tree, by, TYPE_CODE.tree);
      for (const p of c.parents) this.link(p, by, TYPE_CODE.commit);
    } else if (type === 'tag') {
      const t = parseTag(data);
      this.link(t.object, this.referrers.push(oid) - 1, TYPE_CODE[t.type]);
    }
  };

  private link(oid: string, by: number, type: number): void {
    this.hex.write(oid, 'hex');
    this.add(this.hex, 0, by, type);
  }

  private add(buf: Buffer, at: number, by: number, type: number): void {
    const prev = this.named.addOrGet(buf, at, by * 8 + type);
    if (prev >= 0 && (prev & 7) !== type) {
      const oid = buf.toString('hex', at, at + 20);
      throw new GitFormatError(`object ${oid} is named as a ${TYPE_NAME[prev & 7]} by ${this.referrers[prev >>> 3]} and as a ${TYPE_NAME[type]} by ${this.referrers[by]}`);
    }
  }

  /** The ids of a tree's entries, gitlinks (mode 160000: commits of another repository) left out. fsck has checked the modes. */
  private seeTree(oid: string, data: Buffer): void {
    const by = this.referrers.push(oid) - 1;
    for (let pos = 0; pos < data.length; ) {
      const nul = data.indexOf(0, pos);
      if (nul < 0 || nul + 21 > data.length) throw new GitFormatError(`tree ${oid} is truncated`);
      // "160000 " a gitlink, "40000 " a directory, anything else (1006xx, 100755, 120000) a blob.
      const gitlink = data[pos] === 0x31 && data[pos + 1] === 0x36 && data[pos + 6] === 0x20;
      if (!gitlink) this.add(data, nul + 1, by, data[pos] === 0x34 && data[pos + 5] === 0x20 ? TYPE_CODE.tree : TYPE_CODE.blob);
      pos = nul + 21;
    }
  }

  /** Every object the pack brings must have what it names, of the type named (I1: the live object set stays closed). */
  /** What the received objects name that they do not bring: what the pack relies on the repository to have. */
  *external(received: ReadonlyMap<string, ObjectType>): Iterable<string> {
    for (const [oid] of this.named.entries()) if (!received.has(oid)) yield oid;
  }

  check(received: ReadonlyMap<string, ObjectType>, existing: RepoObjects): void {
    for (const [oid, value] of this.named.entries()) {
      const actual = received.get(oid) ?? existing.type(oid);
      const by = this.referrers[value >>> 3];
      if (actual === null) throw new GitFormatError(`missing necessary objects: ${oid} (named by ${by})`);
      const expected = value & 7;
      if (TYPE_CODE[actual] !== expected) {
        throw new GitFormatError(`object ${oid} is a ${actual}, but ${by} names it as a ${TYPE_NAME[expected]}`);
      }
    }
  }
}

/** The blobs trees of the push name '.gitmodules' must be blobs that git's fsck accepts (objects already stored were checked when they came). */
function checkGitmodulesOf(ids: string[], received: ReadonlyMap<string, ObjectType>, objects: RepoObjects): void {
  for (const oid of new Set(ids)) {
    const type = received.get(oid);
    if (type === undefined) continue;
    if (type !== 'blob') throw new GitFormatError(`.gitmodules ${oid} is a ${type}, not a blob (gitmodulesBlob)`);
    try {
      checkGitmodules(objects.read(oid).data);
    } catch (err) {
      if (err instanceof GitFormatError) throw new GitFormatError(`blob ${oid}: ${err.message}`, err);
      throw err;
    }
  }
}

export interface IngestOptions {
  repoId: string;
  /** The pack bytes as they arrive (a push body after its commands, a fetch's band 1). */
  source: AsyncIterable<Buffer>;
  tmpDir: string;
  /** The repository's objects before this pack: thin-pack bases and the connectivity check's other half. */
  existing: RepoObjects;
  /** Largest object (and delta result) the pack may hold. */
  maxObjectBytes?: number;
  /** Called with the running byte count as the pack arrives; throws to refuse it (size limits). */
  checkSize?: (total: number) => void;
  /** See every object of the pack while index-pack has its content (null for blobs over 1 MiB). */
  observers?: ((oid: string, type: ObjectType, data: Buffer | null) => void)[];
  /** The whole pack is in the temp file; indexing finishes next. */
  onReceived?: (total: number) => void | Promise<void>;
  /** Who sends the pack, for the error when nothing came ('the push'). */
  sender?: string;
  /**
   * Indexing failed while the pack was still arriving: the caller may stop the source (a fetch is
   * cut short instead of downloaded to its end); the indexing error is then the one thrown.
   */
  onIndexFailed?: (err: unknown) => void;
  /** Indexed, before the connectivity check: throws to refuse the pack (a quota on inflated size). */
  onIndexed?: (indexed: IndexedPack) => void;
}

/**
 * A received pack, indexed, fsck'd and connectivity-checked, in a temp file that the caller owns
 * until `release()`: `stored` goes to GitStore.storePack (which consumes the file) when the pack
 * holds objects, and `objects` is the repository's objects with the pack's added.
 */
export interface IngestedPack {
  /** Bytes received. */
  bytes: number;
  indexed: IndexedPack;
  /** The objects the pack brought: id -> type. */
  received: ReadonlyMap<string, ObjectType>;
  /** The repository's objects plus the pack's. */
  objects: RepoObjects;
  /** null when the pack holds no object (nothing to store). */
  stored: StoredPack | null;
  /** What the pack's objects name that it does not bring (checked present in `existing`); see GitStore.commit. */
  needs(): Iterable<string>;
  /** Close the pack and remove the temp file (if storePack has not consumed it). Idempotent. */
  release(): Promise<void>;
}

/**
 * The shared receiving half of a push and of a mirror fetch: the pack is streamed into a temp file
 * and indexed while it arrives (thin packs completed from `existing`, every object fsck'd, sizes
 * bounded), then every object the pack names must be in the pack or already stored, with the type
 * it is named as (invariant I1). Nothing is stored and no ref moves here. On any failure the temp
 * file is gone before the error is thrown.
 */
export async function ingestPack(opts: IngestOptions): Promise<IngestedPack> {
  await fsp.mkdir(opts.tmpDir, { recursive: true });
  const tmpPack = path.join(opts.tmpDir, `incoming-${crypto.randomUUID()}.pack`);
  let packFile: PackFile | null = null;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    packFile?.close();
    await fsp.rm(tmpPack, { force: true });
  };
  try {
    // Received and indexed at once: index-pack reads the file as it grows (as git index-pack --stdin).
    const incoming = await IncomingPack.create(tmpPack);
    const receiving = incoming.receive(opts.source, opts.checkSize);
    const connectivity = new Connectivity();
    const observers = opts.observers ?? [];
    const onObject = (oid: string, type: ObjectType, data: Buffer | null) => {
      connectivity.see(oid, type, data);
      for (const o of observers) o(oid, type, data);
    };
    const existing = opts.existing;
    const indexing = indexPack(tmpPack, { incoming, lookupExternal: (oid) => existing.tryRead(oid), fsck: true, onObject, maxObjectBytes: opts.maxObjectBytes });
    let indexError: unknown = null;
    // Awaited below, after the receiving side has its say.
    indexing.catch((err: unknown) => {
      indexError = err;
      opts.onIndexFailed?.(err);
    });
    let total: number;
    try {
      total = await receiving;
    } catch (err) {
      // Size limits and a vanished sender explain a failed index, not the other way round; unless
      // the caller stopped the source because the index failed.
      await indexing.catch(() => undefined);
      if (opts.onIndexFailed && indexError) throw indexError;
      throw err;
    }
    if (total === 0) {
      await indexing.catch(() => undefined);
      throw new GitFormatError(`pack missing: ${opts.sender ?? 'the sender'} sent no pack data`);
    }
    await opts.onReceived?.(total);
    const indexed = await indexing;
    opts.onIndexed?.(indexed);
    const received = new Map<string, ObjectType>();
    for (const o of indexed.objects) received.set(o.oid, o.type);
    let objects = existing;
    let stored: StoredPack | null = null;
    if (indexed.objects.length > 0) {
      connectivity.check(received, existing);
      const index = PackIndex.fromBuffer(indexed.idx);
      packFile = await PackFile.open(tmpPack, index);
      const size = (await fsp.stat(tmpPack)).size;
      objects = new RepoObjects([new LoadedPack(opts.repoId, indexed.checksum, packFile, index, size), ...existing.packs]);
      checkGitmodulesOf(indexed.gitmodules, received, objects);
      stored = { name: indexed.checksum, objectCount: indexed.objects.length, sizeBytes: size, idx: indexed.idx, packPath: tmpPack };
    }
    return { bytes: total, indexed, received, objects, stored, needs: () => connectivity.external(received), release };
  } catch (err) {
    await release();
    throw err;
  }
}

/** What a ref records as peeled: for an annotated tag, the object it finally names; else null. */
export function peeledOf(objects: RepoObjects, oid: string): string | null {
  const t = objects.type(oid);
  return t === 'tag' ? objects.peel(oid).oid : null;
}
