import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { GitFormatError } from '../../core/errors.js';
import { fsckObject } from '../objects/fsck.js';
import { hashFramed, hashObject, objectHeader } from '../objects/hash.js';
import { OFS_DELTA, REF_DELTA, TYPE_CODE, TYPE_NAME, type ObjectType } from '../objects/types.js';
import { applyDelta, deltaResultSize } from './delta.js';
import { decodeEntryHeader, decodeOfsOffset, encodeEntryHeader } from './entry-header.js';
import { writeIndex } from './idx.js';
import type { IncomingPack } from './incoming-pack.js';
import { firstWindow, HEADROOM, inflateAt, inflateExact, inflateStreaming, readAt, readInto } from './inflate.js';

export interface IndexedObject {
  oid: string;
  type: ObjectType;
  offset: number;
  /** CRC32 of the stored entry (header and zlib stream), as in the idx. */
  crc: number;
  /** Inflated size of the entry's data: the object's, or for a delta the delta's (as git's idx tools show). */
  size: number;
}

export interface IndexedPack {
  /** Hex pack checksum (the trailer), after thin-pack completion. */
  checksum: string;
  /** Every object, in pack order (appended bases last). */
  objects: IndexedObject[];
  /** idx v2 bytes for the (completed) pack. */
  idx: Buffer;
  /** How many bases were appended to complete a thin pack. */
  appendedBases: number;
  /** Ids of those bases, which the pack referred to without containing them. */
  externalRefs: string[];
  /** Sum of the sizes of the pack's objects as stored uncompressed (delta results counted whole), appended bases left out. */
  inflatedBytes: number;
  /** With fsck: ids that trees of the pack name as '.gitmodules' (to check as git's fsck does, see gitmodules.ts). */
  gitmodules: string[];
}

export interface IndexPackOptions {
  /** Objects the repository already has: the bases a thin pack leaves out. */
  lookupExternal?: (oid: string) => { type: ObjectType; data: Buffer } | null;
  /** Run fsckObject on every commit, tree and tag. */
  fsck?: boolean;
  /** The pack is still arriving into the file: index it as it comes (see IncomingPack). */
  incoming?: IncomingPack;
  /** Refuse packs announcing more objects than this. */
  maxObjects?: number;
  /**
   * Refuse objects larger than this, checked from the entry header (whole objects) or the delta
   * header (result size) before anything of that size is allocated.
   */
  maxObjectBytes?: number;
  /**
   * Sees every object of the pack once, while its content is at hand (not the appended bases);
   * data is null for blobs over 1 MiB, which are streamed and never held whole.
   */
  onObject?: (oid: string, type: ObjectType, data: Buffer | null) => void;
}

interface Entry {
  offset: number;
  typeCode: number;
  /** Inflated size of the stored data (object or delta). */
  size: number;
  dataOffset: number;
  crc: number;
  /** OFS_DELTA: index of the base entry. */
  baseIndex?: number;
  /** REF_DELTA: the base's id. */
  baseOid?: string;
  oid?: string;
  type?: ObjectType;
  /** Inflated data kept from the first pass (within a budget) so the second need not inflate again. */
  data?: Buffer;
}

/** Inflated data kept between the passes, in total and per object. */
const KEEP_TOTAL = 32 << 20;
const KEEP_ONE = 1 << 20;
const WINDOW = 8 << 20;

/**
 * Reads a pack front to back through one window (few syscalls, no per-object reads) and feeds
 * every byte before `hashEnd` to the SHA-1 exactly once as the window moves.
 */
class SequentialReader {
  private buf: Buffer = Buffer.alloc(0);
  /** The memory behind `buf`, reused as the window moves (views handed out before are invalid then). */
  private space: Buffer = Buffer.alloc(0);
  private start = 0;
  private hashedTo = 0;
  private readonly hash = crypto.createHash('sha1');

  /** `size()`: bytes in the file now (a pack still arriving grows). hashEnd null: hash nothing. */
  constructor(
    private readonly fd: number,
    private readonly size: () => number,
    private readonly hashEnd: number | null,
  ) {}

  /** Bytes [pos, pos+len), fewer at the end of the file. Positions only move forward. */
  view(pos: number, len: number): Buffer {
    const size = this.size();
    const want = Math.max(0, Math.min(len, size - pos));
    if (pos < this.start || pos + want > this.start + this.buf.length) {
      const len = Math.min(size - pos, Math.max(want, WINDOW));
      if (this.space.length < len) this.space = Buffer.allocUnsafe(Math.max(len, WINDOW));
      this.buf = readInto(this.fd, this.space, pos, len);
      this.start = pos;
      if (this.hashEnd !== null) {
        const to = Math.min(this.hashEnd, pos + this.buf.length);
        if (this.hashedTo < pos) throw new Error('pack reader skipped bytes');
        if (this.hashedTo < to) {
          this.hash.update(this.buf.subarray(this.hashedTo - pos, to - pos));
          this.hashedTo = to;
        }
      }
    }
    return this.buf.subarray(pos - this.start, pos - this.start + want);
  }

  digest(): Buffer {
    if (this.hashEnd === null) throw new Error('this reader hashes nothing');
    while (this.hashedTo < this.hashEnd) this.view(this.hashedTo, Math.min(WINDOW, this.hashEnd - this.hashedTo));
    return this.hash.digest();
  }
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sha1OfFile(fd: number, end: number): Buffer {
  const h = crypto.createHash('sha1');
  for (let pos = 0; pos < end; pos += WINDOW) h.update(readAt(fd, pos, Math.min(WINDOW, end - pos)));
  return h.digest();
}

/** The entry whose offset is `offset` (entries are in offset order), or -1. */
function entryIndexAt(entries: Entry[], offset: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const o = entries[mid]!.offset;
    if (o === offset) return mid;
    if (o < offset) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/**
 * index-pack: checks a received pack and builds its idx. One sequential pass verifies framing,
 * zlib streams, sizes, CRCs, the trailing SHA-1 and that nothing follows it, and ids whole objects;
 * a second pass resolves deltas from each base down through its children, applying each delta
 * once (inflated data kept from the first pass within a budget, inflated again past it). A thin pack is completed with the bases it lacks from `lookupExternal`: they are
 * appended, and the object count and trailer rewritten, so the file becomes self-contained.
 * Memory: the objects' metadata, a bounded amount of inflated data, and one delta chain at a time.
 */
export async function indexPack(packPath: string, opts: IndexPackOptions = {}): Promise<IndexedPack> {
  const fd = fs.openSync(packPath, 'r');
  const indexer = new Indexer(fd, packPath, opts);
  try {
    return await indexer.run();
  } catch (err) {
    opts.incoming?.stop(err as Error);
    throw err;
  } finally {
    indexer.closeWriter();
    fs.closeSync(fd);
  }
}

class Indexer {
  private readonly entries: Entry[] = [];
  /** Output space for streamed inflation. */
  private readonly chunk = Buffer.allocUnsafe(1 << 20);
  /** OFS children of each entry, as linked lists: first child, then next sibling (-1 ends). */
  private firstOfsChild = new Int32Array(0);
  private nextOfsSibling = new Int32Array(0);
  /** REF_DELTA entries by the id of their base, until that base is resolved. */
  private readonly refChildren = new Map<string, number[]>();
  private fileSize = 0;
  /** End of the last entry: where the trailer is. */
  private entriesEnd = 0;
  /** End of the last base appended to complete a thin pack. */
  private appendedEnd = 0;
  private readonly maxObject: number;
  /** See IndexedPack.inflatedBytes. */
  private inflatedBytes = 0;
  private readonly gitmodules: string[] = [];

  /** Opened for writing only to complete a thin pack. */
  private writeFd: number | null = null;

  constructor(
    private readonly fd: number,
    private readonly packPath: string,
    private readonly opts: IndexPackOptions,
  ) {
    this.maxObject = opts.maxObjectBytes ?? Infinity;
  }

  private writer(): number {
    this.writeFd ??= fs.openSync(this.packPath, 'r+');
    return this.writeFd;
  }

  closeWriter(): void {
    if (this.writeFd !== null) fs.closeSync(this.writeFd);
    this.writeFd = null;
  }

  async run(): Promise<IndexedPack> {
    const count = await this.readHeader();
    const trailer = await this.scan(count);
    this.linkChildren();
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.typeCode === OFS_DELTA || e.typeCode === REF_DELTA) continue;
      const data = e.data;
      e.data = undefined;
      if (this.hasChildren(i, e.oid!)) this.resolveFrom(e.type!, data ?? this.inflate(e), e.oid!, i);
    }
    const appended: IndexedObject[] = [];
    try {
      if (this.refChildren.size > 0) this.appendMissingBases(appended);
      const objects = this.collect(appended);
      const checksum = appended.length > 0 ? this.rewriteCountAndTrailer(count + appended.length) : trailer;
      // Sorted by hex id here (string comparison), so writeIndex finds them in order.
      const byId = objects.slice().sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
      const idx = writeIndex(
        byId.map((o) => ({ oid: Buffer.from(o.oid, 'hex'), offset: o.offset, crc: o.crc })),
        checksum,
      );
      const externalRefs = appended.map((o) => o.oid);
      return { checksum: checksum.toString('hex'), objects, idx, appendedBases: appended.length, externalRefs, inflatedBytes: this.inflatedBytes, gitmodules: this.gitmodules };
    } catch (err) {
      // Put the file back as it was received.
      if (appended.length > 0) {
        const w = this.writer();
        fs.ftruncateSync(w, this.entriesEnd);
        fs.writeSync(w, trailer, 0, 20, this.entriesEnd);
        fs.writeSync(w, uint32(count), 0, 4, 8);
      }
      throw err;
    }
  }

  /**
   * Where the entries end as far as known: the file size less the trailer. While the pack is still
   * arriving, first waits until that is at least `end` or the stream has ended.
   */
  private async entriesLimit(end: number): Promise<number> {
    const incoming = this.opts.incoming;
    if (incoming) {
      if (!incoming.done && incoming.written - 20 < end) await incoming.wait(end + 20);
      this.fileSize = incoming.written;
    }
    return this.fileSize - 20;
  }

  private async readHeader(): Promise<number> {
    if (this.opts.incoming) await this.opts.incoming.wait(32);
    this.fileSize = this.opts.incoming ? this.opts.incoming.written : fs.fstatSync(this.fd).size;
    const header = readAt(this.fd, 0, 12);
    if (this.fileSize === 0) throw new GitFormatError('pack missing: the file is empty');
    if (header.length < 4 || header.toString('latin1', 0, 4) !== 'PACK') throw new GitFormatError("not a pack: it does not start with 'PACK'");
    if (this.fileSize < 32) throw new GitFormatError(`pack truncated at offset ${this.fileSize} (a pack has at least 32 bytes)`);
    const version = header.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw new GitFormatError(`unsupported pack version ${version}`);
    const count = header.readUInt32BE(8);
    if (this.opts.maxObjects !== undefined && count > this.opts.maxObjects) {
      throw new GitFormatError(`pack has ${count} objects, more than the limit of ${this.opts.maxObjects}`);
    }
    return count;
  }

  /** Pass 1: every entry in order, then the trailer. Returns the trailer. */
  private async scan(count: number): Promise<Buffer> {
    const incoming = this.opts.incoming;
    // A pack still arriving is hashed on its way in; a complete one as it is read.
    const reader = new SequentialReader(this.fd, () => this.fileSize, incoming ? null : this.fileSize - 20);
    reader.view(0, 12);
    let kept = 0;
    let pos = 12;
    let limit = this.fileSize - 20;
    for (let i = 0; i < count; i++) {
      if (incoming) limit = await this.entriesLimit(pos + 32);
      if (pos >= limit) throw new GitFormatError(`pack truncated at offset ${pos}: ${count - i} of ${count} objects missing`);
      const head = reader.view(pos, 32).subarray(0, limit - pos);
      const h = decodeEntryHeader(head, 0, pos);
      let p = h.length;
      const e: Entry = { offset: pos, typeCode: h.typeCode, size: h.size, dataOffset: 0, crc: 0 };
      if (h.typeCode === OFS_DELTA) {
        const o = decodeOfsOffset(head, p, pos);
        p += o.length;
        const base = pos - o.distance;
        e.baseIndex = o.distance > 0 && base >= 12 ? entryIndexAt(this.entries, base) : -1;
        if (e.baseIndex < 0) throw new GitFormatError(`delta at offset ${pos} names a base at offset ${base}, which is not an entry of this pack`);
      } else if (h.typeCode === REF_DELTA) {
        if (p + 20 > head.length) throw new GitFormatError(`pack truncated at offset ${pos} (base id of a delta)`);
        e.baseOid = head.toString('hex', p, p + 20);
        p += 20;
      } else if (!TYPE_NAME[h.typeCode]) {
        throw new GitFormatError(`invalid object type ${h.typeCode} at offset ${pos}`);
      }
      e.dataOffset = pos + p;
      e.crc = zlib.crc32(head.subarray(0, p));
      // Before anything of that size is allocated. A delta is a little larger than its result at worst.
      const isDelta = h.typeCode === OFS_DELTA || h.typeCode === REF_DELTA;
      if (h.size > (isDelta ? this.maxObject + this.maxObject / 64 + 64 : this.maxObject)) throw this.tooLarge(isDelta ? 'delta' : TYPE_NAME[h.typeCode]!, h.size, pos);
      if (!isDelta) this.inflatedBytes += h.size;
      if (h.typeCode === TYPE_CODE.blob && h.size > KEEP_ONE) {
        // Streamed: a large blob is never held whole here (no check needs its bytes); if it is
        // a delta base, the second pass inflates it again. (A pack still arriving is waited for.)
        if (incoming) limit = await this.entriesLimit(Infinity);
        const hash = crypto.createHash('sha1').update(objectHeader('blob', h.size));
        const start = e.dataOffset;
        const used = inflateStreaming(
          // Up to the end of the file: the stream's end shows as input left over (the trailer at least).
          (u, want) => reader.view(start + u, Math.min(want, this.fileSize - start - u)),
          h.size,
          this.chunk,
          (out, input) => {
            hash.update(out);
            e.crc = zlib.crc32(input, e.crc);
          },
          pos,
        );
        if (start + used > limit) throw new GitFormatError(`pack truncated at offset ${pos} (zlib stream of the object runs past the end)`);
        e.type = 'blob';
        e.oid = hash.digest('hex');
        this.opts.onObject?.(e.oid, 'blob', null);
        this.entries.push(e);
        pos = start + used;
        continue;
      }
      let data: Buffer;
      let used: number;
      for (let len = firstWindow(h.size); ; len *= 2) {
        if (incoming) limit = await this.entriesLimit(e.dataOffset + len);
        const input = reader.view(e.dataOffset, Math.min(len, limit - e.dataOffset));
        const r = inflateExact(input, h.size, pos, isDelta ? 0 : HEADROOM);
        if (r) {
          ({ data, used } = r);
          e.crc = zlib.crc32(input.subarray(0, used), e.crc);
          break;
        }
        if (e.dataOffset + input.length >= limit && (!incoming || incoming.done)) throw new GitFormatError(`pack truncated at offset ${pos} (zlib stream of the object runs past the end)`);
      }
      if (e.typeCode === OFS_DELTA || e.typeCode === REF_DELTA) {
        const resultSize = deltaResultSize(data);
        if (resultSize < 0) throw new GitFormatError(`delta at offset ${pos}: delta header truncated`);
        if (resultSize > this.maxObject) throw this.tooLarge('delta result', resultSize, pos);
        this.inflatedBytes += resultSize;
        if (data.length <= KEEP_ONE && kept + data.length <= KEEP_TOTAL) {
          e.data = data;
          kept += data.length;
        }
      } else {
        e.type = TYPE_NAME[h.typeCode]!;
        e.oid = this.accept(e.type, data, pos);
        if (data.length <= KEEP_ONE && kept + data.length <= KEEP_TOTAL) {
          e.data = data;
          kept += data.length;
        }
      }
      this.entries.push(e);
      pos = e.dataOffset + used;
    }
    if (incoming) limit = await this.entriesLimit(Infinity);
    if (pos < limit) throw new GitFormatError(`pack has ${limit - pos} bytes of garbage after its last object (offset ${pos})`);
    this.entriesEnd = pos;
    const trailer = readAt(this.fd, pos, 20);
    if (!(incoming ? incoming.digest() : reader.digest()).equals(trailer)) throw new GitFormatError('pack checksum mismatch: the trailer is not the SHA-1 of the pack');
    return trailer;
  }

  private tooLarge(what: string, size: number, offset: number): GitFormatError {
    return new GitFormatError(`${what} at offset ${offset} is ${size} bytes, over the limit of ${this.maxObject} bytes per object (large files belong in LFS)`);
  }

  /** Hashes an object (allocated with HEADROOM in front), checks it, shows it to onObject. */
  private accept(type: ObjectType, data: Buffer, offset: number): string {
    const oid = hashFramed(type, data);
    if (this.opts.fsck && type !== 'blob') {
      try {
        fsckObject(type, data, this.gitmodules);
      } catch (err) {
        if (err instanceof GitFormatError) throw new GitFormatError(`${type} ${oid} at offset ${offset}: ${err.message}`, err);
        throw err;
      }
    }
    this.opts.onObject?.(oid, type, data);
    return oid;
  }

  private linkChildren(): void {
    const n = this.entries.length;
    this.firstOfsChild = new Int32Array(n).fill(-1);
    this.nextOfsSibling = new Int32Array(n).fill(-1);
    // Backwards, so each list ends up in pack order.
    for (let i = n - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.baseIndex !== undefined) {
        this.nextOfsSibling[i] = this.firstOfsChild[e.baseIndex]!;
        this.firstOfsChild[e.baseIndex] = i;
      }
    }
    for (let i = 0; i < n; i++) {
      const oid = this.entries[i]!.baseOid;
      if (oid === undefined) continue;
      const list = this.refChildren.get(oid);
      if (list) list.push(i);
      else this.refChildren.set(oid, [i]);
    }
  }

  private hasChildren(index: number, oid: string): boolean {
    return (index >= 0 && this.firstOfsChild[index]! >= 0) || this.refChildren.has(oid);
  }

  /** The deltas based on an object (entry `index`, or -1 for an appended base); REF links are used up. */
  private takeChildren(index: number, oid: string): number[] {
    const kids: number[] = [];
    if (index >= 0) for (let k = this.firstOfsChild[index]!; k >= 0; k = this.nextOfsSibling[k]!) kids.push(k);
    const refs = this.refChildren.get(oid);
    if (refs) {
      this.refChildren.delete(oid);
      kids.push(...refs);
    }
    return kids;
  }

  private inflate(e: Entry): Buffer {
    return inflateAt(this.fd, e.dataOffset, e.size, this.entriesEnd, e.offset).data;
  }

  /**
   * Pass 2 from one resolved object: depth-first down its deltas. Only the chain being walked is
   * held: a base is dropped as soon as its last child is resolved.
   */
  private resolveFrom(type: ObjectType, data: Buffer, oid: string, index: number): void {
    const stack: { type: ObjectType; data: Buffer; kids: number[]; next: number }[] = [];
    const kids = this.takeChildren(index, oid);
    if (kids.length > 0) stack.push({ type, data, kids, next: 0 });
    while (stack.length > 0) {
      const base = stack[stack.length - 1]!;
      const k = base.kids[base.next++]!;
      if (base.next === base.kids.length) stack.pop();
      const e = this.entries[k]!;
      if (e.oid !== undefined) continue;
      const delta = e.data ?? this.inflate(e);
      e.data = undefined;
      let result: Buffer;
      try {
        result = applyDelta(base.data, delta, HEADROOM, this.maxObject);
      } catch (err) {
        if (err instanceof GitFormatError) throw new GitFormatError(`delta at offset ${e.offset}: ${err.message}`, err);
        throw err;
      }
      e.type = base.type;
      e.oid = this.accept(e.type, result, e.offset);
      const grandKids = this.takeChildren(k, e.oid);
      if (grandKids.length > 0) stack.push({ type: e.type, data: result, kids: grandKids, next: 0 });
    }
  }

  /**
   * Thin pack completion: appends the bases REF_DELTAs name but the pack lacks, as whole objects
   * from the repository, resolving their deltas as it goes. Like git, bases are looked up in the
   * order of the first delta needing them, and ids the repository lacks are skipped (they may be
   * deltas of this pack resolved from a later base) until the end.
   */
  private appendMissingBases(appended: IndexedObject[]): void {
    let at = this.entriesEnd;
    const lacking = new Set<string>();
    for (const e of this.entries) {
      const oid = e.baseOid;
      if (oid === undefined || e.oid !== undefined || !this.refChildren.has(oid) || lacking.has(oid)) continue;
      const base = this.opts.lookupExternal?.(oid) ?? null;
      if (!base) {
        lacking.add(oid);
        continue;
      }
      if (hashObject(base.type, base.data) !== oid) throw new Error(`the repository's object ${oid} does not hash to its id`);
      const entry = Buffer.concat([encodeEntryHeader(TYPE_CODE[base.type], base.data.length), zlib.deflateSync(base.data, { level: 1 })]);
      fs.writeSync(this.writer(), entry, 0, entry.length, at);
      appended.push({ oid, type: base.type, offset: at, crc: zlib.crc32(entry), size: base.data.length });
      at += entry.length;
      this.appendedEnd = at;
      this.resolveFrom(base.type, base.data, oid, -1);
    }
    const missing = this.refChildren.keys().next();
    if (!missing.done) throw new GitFormatError(`delta base ${missing.value} not found: the pack is thin and the repository lacks that object`);
  }

  /** After appending: the new object count in the header, and a new trailer over the whole file. */
  private rewriteCountAndTrailer(count: number): Buffer {
    const end = this.appendedEnd;
    const w = this.writer();
    fs.writeSync(w, uint32(count), 0, 4, 8);
    const checksum = sha1OfFile(w, end);
    fs.writeSync(w, checksum, 0, 20, end);
    fs.ftruncateSync(w, end + 20);
    return checksum;
  }

  /** Every object in pack order; refuses unresolved deltas (cycles) and duplicates. */
  private collect(appended: IndexedObject[]): IndexedObject[] {
    const objects: IndexedObject[] = [];
    for (const e of this.entries) {
      if (e.oid === undefined) {
        const base = e.baseOid ?? `at offset ${this.entries[e.baseIndex!]!.offset}`;
        throw new GitFormatError(`delta at offset ${e.offset} could not be resolved: its base ${base} depends on itself`);
      }
      objects.push({ oid: e.oid, type: e.type!, offset: e.offset, crc: e.crc, size: e.size });
    }
    objects.push(...appended);
    const seen = new Set<string>();
    for (const o of objects) {
      if (seen.has(o.oid)) throw new GitFormatError(`pack contains object ${o.oid} twice`);
      seen.add(o.oid);
    }
    return objects;
  }
}
