import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { GitFormatError } from '../../core/errors.js';
import { OFS_DELTA, REF_DELTA, TYPE_NAME, type ObjectType } from '../objects/types.js';
import { applyDelta, readDeltaSizes } from './delta.js';
import { decodeEntryHeader, decodeOfsOffset } from './entry-header.js';
import type { PackIndex } from './idx.js';
import { firstWindow, inflateAt, inflateExact, inflateHead, inflatePrefix, readAt, readInto } from './inflate.js';
import { ObjectCache } from './object-cache.js';

export interface EntryInfo {
  /** 1-4 for whole objects, OFS_DELTA or REF_DELTA. */
  typeCode: number;
  /** Inflated size of the entry's data: the object's, or for a delta the delta's. */
  size: number;
  /** Bytes of the entry header, base offset or base id included. */
  headerLength: number;
  /** Where the zlib stream starts. */
  dataOffset: number;
  /** OFS_DELTA: the base entry's offset. */
  baseOffset?: number;
  /** REF_DELTA: the base object's id. */
  baseOid?: string;
}

export interface RawEntry extends EntryInfo {
  /** The stored zlib stream, exactly as in the pack. */
  compressed: Buffer;
  /** Offset just after the entry. */
  end: number;
}

export interface PackObject {
  type: ObjectType;
  /** Shared with the cache: do not modify. */
  data: Buffer;
}

/** Longest delta chain followed before giving up (git writes at most 4095). */
const MAX_CHAIN = 10_000;
/** Most bytes read ahead for rawEntry (entries copied in pack order) and for objectHead (a folder's small files). */
const ENTRY_READ_AHEAD = 1 << 20;
const HEAD_READ_AHEAD = 64 << 10;

/**
 * Positional reads of one file that read ahead once calls go forward through it: a call that starts
 * after where the previous one started and at most shortly after where it ended extends a run, and
 * after two such calls each read takes a window (32 KiB, doubling with the run up to `max`) that
 * the following calls are served from. Scattered reads stay exact. Each window is a new buffer, so
 * slices handed out stay valid; with `shared`, windows are read into one buffer for the whole
 * process instead (no garbage per window), and what a read returns is valid only until the next
 * read of any shared reader.
 */
class ReadAhead {
  private window: { start: number; bytes: Buffer } | null = null;
  private lastStart = -1;
  private lastEnd = -1;
  private run = 0;

  constructor(
    private readonly fd: number,
    private readonly limit: number,
    private readonly max: number,
    private readonly shared = false,
  ) {}

  /** Bytes [offset, offset + length) (fewer at the end of the file). */
  read(offset: number, length: number): Buffer {
    // objectHead asks for more than a small object takes, so the next object may start before the last read's end.
    const forward = offset > this.lastStart && offset - this.lastEnd < HEAD_READ_AHEAD;
    this.run = forward ? this.run + 1 : 0;
    this.lastStart = offset;
    this.lastEnd = offset + length;
    const w = this.shared && sharedWindow.owner !== this ? null : this.window;
    if (w && offset >= w.start && offset + length <= w.start + w.bytes.length) return w.bytes.subarray(offset - w.start, offset - w.start + length);
    if (this.run < 2) return readAt(this.fd, offset, length);
    const ahead = Math.min(this.max, (32 * 1024) << Math.min(5, this.run >> 2));
    const want = Math.max(length, Math.min(ahead, this.limit - offset));
    let bytes: Buffer;
    if (this.shared && want <= SHARED_WINDOW) {
      sharedWindow.bytes ??= Buffer.allocUnsafeSlow(SHARED_WINDOW);
      sharedWindow.owner = this;
      bytes = readInto(this.fd, sharedWindow.bytes, offset, want);
    } else bytes = readAt(this.fd, offset, want);
    this.window = { start: offset, bytes };
    // The shared buffer is one for the process: counted nowhere; a window of its own is.
    if (bytes === sharedWindow.bytes) release(this);
    else retain(this, bytes.length);
    return bytes.subarray(0, length);
  }

  /** Forgets the window (slices handed out stay valid: they hold their buffer). */
  drop(): void {
    this.window = null;
    release(this);
  }
}

/**
 * Most bytes of read-ahead windows kept between reads, over every open pack of the process. Each
 * reader keeps its last window for the reads that follow; with hundreds of open packs (many
 * repositories) that would be hundreds of MiB, so the oldest windows are dropped past this (their
 * reader's next read starts a new one).
 */
const RETAINED_WINDOW_BYTES = 16 << 20;
/** Readers holding a window of their own, oldest window first, with its size. */
const retained = new Map<ReadAhead, number>();
let retainedBytes = 0;

function retain(reader: ReadAhead, bytes: number): void {
  release(reader);
  retained.set(reader, bytes);
  retainedBytes += bytes;
  for (const [r] of retained) {
    if (retainedBytes <= RETAINED_WINDOW_BYTES || r === reader) break;
    r.drop();
  }
}

function release(reader: ReadAhead): void {
  const had = retained.get(reader);
  if (had === undefined) return;
  retained.delete(reader);
  retainedBytes -= had;
}

/** Read-ahead windows kept between reads, over every open pack (bounded by RETAINED_WINDOW_BYTES). */
export function readAheadStats(): { windows: number; bytes: number } {
  return { windows: retained.size, bytes: retainedBytes };
}

/** The window buffer of the shared readers (objectHead's, which keeps nothing it reads), and the reader whose window it holds. */
const SHARED_WINDOW = 64 << 10;
const sharedWindow: { bytes: Buffer | null; owner: ReadAhead | null } = { bytes: null, owner: null };

/** One bounded cache of delta bases for every open pack of the process. */
const baseCache = new ObjectCache<PackObject>(32 << 20, (o) => o.data.length);

/**
 * The object as the base cache keeps it: its bytes in a buffer of their own. Small objects are
 * inflated into slices of Node's shared 8 KiB allocation pool, and a kept slice keeps its whole
 * slab alive (with the other objects' bytes in it): the cache held about twice its weight in
 * array buffers before.
 */
function owned(o: PackObject): PackObject {
  if (o.data.buffer.byteLength - o.data.length <= 64) return o;
  const data = Buffer.allocUnsafeSlow(o.data.length);
  o.data.copy(data);
  return { type: o.type, data };
}
let nextPackId = 0;

/** Entries and bytes of the delta-base cache shared by every open pack (for metrics and the memory report of bench/huge.ts). */
export function baseCacheStats(): { entries: number; bytes: number } {
  return { entries: baseCache.size, bytes: baseCache.weight };
}

/**
 * Random access to an immutable pack file through its index: positional reads, one zlib stream
 * per entry, delta chains resolved iteratively with a bounded cache of bases. Never reads the
 * whole pack; a whole object (and the deltas of its chain, one at a time) is the unit of memory.
 */
export class PackFile {
  private readonly cacheId = nextPackId++;
  private sortedOffsets?: Float64Array;
  private readonly head = Buffer.alloc(32);
  /** Entries end before the trailer. */
  private readonly limit: number;
  /** Reads of rawEntry (entries copied in pack order) and of objectHead (a folder's small files): apart, so neither breaks the other's run. */
  private readonly entries: ReadAhead;
  private readonly heads: ReadAhead;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly size: number,
    readonly index: PackIndex,
  ) {
    this.limit = size - 20;
    this.entries = new ReadAhead(fd, this.limit, ENTRY_READ_AHEAD);
    this.heads = new ReadAhead(fd, this.limit, HEAD_READ_AHEAD, true);
  }

  /** Opens a pack and checks that it is the one its index describes (header, count, trailer). */
  static async open(packPath: string, index: PackIndex): Promise<PackFile> {
    const fd = fs.openSync(packPath, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const header = readAt(fd, 0, 12);
      if (size < 32 || header.toString('latin1', 0, 4) !== 'PACK') throw new GitFormatError(`${path.basename(packPath)} is not a pack file`);
      const version = header.readUInt32BE(4);
      if (version !== 2 && version !== 3) throw new GitFormatError(`${path.basename(packPath)}: unsupported pack version ${version}`);
      if (header.readUInt32BE(8) !== index.count) throw new GitFormatError(`${path.basename(packPath)} has ${header.readUInt32BE(8)} objects, its index ${index.count}`);
      if (!readAt(fd, size - 20, 20).equals(index.packChecksum)) throw new GitFormatError(`${path.basename(packPath)} does not match its index (pack checksum differs)`);
      return new PackFile(packPath, fd, size, index);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  close(): void {
    this.entries.drop();
    this.heads.drop();
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  /** The entry header at `offset` (from `read`, the bytes there, when given): type, size, where its data starts and its delta base. */
  entryAt(offset: number, read?: Buffer): EntryInfo {
    if (!Number.isSafeInteger(offset) || offset < 12 || offset >= this.limit) throw new GitFormatError(`offset ${offset} is outside the entries of ${path.basename(this.path)}`);
    const head = read ?? this.head.subarray(0, fs.readSync(this.fd, this.head, 0, Math.min(32, this.limit - offset), offset));
    const h = decodeEntryHeader(head, 0, offset);
    let pos = h.length;
    const info: EntryInfo = { typeCode: h.typeCode, size: h.size, headerLength: 0, dataOffset: 0 };
    if (h.typeCode === OFS_DELTA) {
      const o = decodeOfsOffset(head, pos, offset);
      pos += o.length;
      info.baseOffset = offset - o.distance;
      if (o.distance <= 0 || info.baseOffset < 12) throw new GitFormatError(`delta at offset ${offset} of ${path.basename(this.path)} names a base at offset ${info.baseOffset}, outside the pack`);
    } else if (h.typeCode === REF_DELTA) {
      if (pos + 20 > head.length) throw new GitFormatError(`pack truncated at offset ${offset} (base id of a delta)`);
      info.baseOid = head.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!TYPE_NAME[h.typeCode]) {
      throw new GitFormatError(`invalid object type ${h.typeCode} at offset ${offset} of ${path.basename(this.path)}`);
    }
    info.headerLength = pos;
    info.dataOffset = offset + pos;
    return info;
  }

  /** Where the entry at `offset` ends: the next entry's offset in pack order, or the trailer. */
  private nextEntryOffset(offset: number): number {
    if (!this.sortedOffsets) {
      const offs = new Float64Array(this.index.count);
      for (let i = 0; i < offs.length; i++) offs[i] = this.index.offsetAt(i);
      this.sortedOffsets = offs.sort();
    }
    const offs = this.sortedOffsets;
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offs[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < offs.length ? offs[lo]! : this.limit;
  }

  /**
   * The entry's header fields and its zlib stream exactly as stored, for copying into another
   * pack. The stream ends where the next entry in pack order starts (or at the trailer): nothing
   * is inflated. Stored packs were fully verified (every stream inflated, every object hashed)
   * when they were indexed, and the receiving client verifies what it is sent.
   */
  rawEntry(offset: number): RawEntry {
    const end = this.nextEntryOffset(offset);
    // One read for the header and the stream together.
    const bytes = end - offset <= 1 << 20 ? this.entries.read(offset, end - offset) : null;
    const info = this.entryAt(offset, bytes ?? undefined);
    if (end <= info.dataOffset) throw new GitFormatError(`entry at offset ${offset} of ${path.basename(this.path)} overlaps the next one`);
    const compressed = bytes ? bytes.subarray(info.dataOffset - offset) : readAt(this.fd, info.dataOffset, end - info.dataOffset);
    return { ...info, compressed, end };
  }

  private inflate(info: EntryInfo, offset: number): Buffer {
    return inflateAt(this.fd, info.dataOffset, info.size, this.limit, offset).data;
  }

  private baseOffsetOf(info: EntryInfo, offset: number): number {
    if (info.baseOffset !== undefined) return info.baseOffset;
    const b = this.index.find(info.baseOid!);
    if (b < 0) throw new GitFormatError(`delta base ${info.baseOid} of the object at offset ${offset} not found in ${path.basename(this.path)}`);
    return b;
  }

  /** The object at `offset`, delta chains resolved (iteratively, with cached bases). */
  readObject(offset: number): PackObject {
    const chain: { offset: number; info: EntryInfo }[] = [];
    let cur = offset;
    let result: PackObject | undefined;
    for (;;) {
      result = baseCache.get(this.cacheId, cur);
      if (result) break;
      const info = this.entryAt(cur);
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) {
        result = { type: TYPE_NAME[info.typeCode]!, data: this.inflate(info, cur) };
        if (chain.length > 0) baseCache.set(this.cacheId, cur, (result = owned(result)));
        break;
      }
      if (chain.length >= MAX_CHAIN) throw new GitFormatError(`delta chain longer than ${MAX_CHAIN} (or a cycle) at offset ${offset} of ${path.basename(this.path)}`);
      chain.push({ offset: cur, info });
      cur = this.baseOffsetOf(info, cur);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const { offset: o, info } = chain[i]!;
      result = { type: result.type, data: applyDelta(result.data, this.inflate(info, o)) };
      // Every object of the chain but the one asked for is a base of the next.
      if (i > 0) baseCache.set(this.cacheId, o, (result = owned(result)));
    }
    return result;
  }

  /**
   * The entries from `offset` down its delta chain: the deltas, the object asked for first, then
   * the whole object at the end. Inflates nothing.
   */
  deltaChain(offset: number): { deltas: { offset: number; info: EntryInfo }[]; base: { offset: number; info: EntryInfo } } {
    const deltas: { offset: number; info: EntryInfo }[] = [];
    let cur = offset;
    for (;;) {
      const info = this.entryAt(cur);
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) return { deltas, base: { offset: cur, info } };
      if (deltas.length >= MAX_CHAIN) throw new GitFormatError(`delta chain longer than ${MAX_CHAIN} (or a cycle) at offset ${offset} of ${path.basename(this.path)}`);
      deltas.push({ offset: cur, info });
      cur = this.baseOffsetOf(info, cur);
    }
  }

  /** An entry's data (a whole object's or a delta's), inflated as a stream of pieces of up to 1 MiB. */
  entryStream(offset: number, info: EntryInfo = this.entryAt(offset)): Readable {
    const end = this.nextEntryOffset(offset);
    const inflate = zlib.createInflate({ chunkSize: 1 << 20 });
    const raw = fs.createReadStream(this.path, { start: info.dataOffset, end: end - 1, highWaterMark: 1 << 20 });
    raw.on('error', (err) => inflate.destroy(err));
    return raw.pipe(inflate);
  }

  /** The object's type: the type of the base at the end of its delta chain. Inflates nothing. */
  objectType(offset: number): ObjectType {
    let cur = offset;
    for (let depth = 0; depth <= MAX_CHAIN; depth++) {
      // Through the read-ahead of objectHead: the types of many objects asked for in pack order
      // (a lazy fetch's wants) come from a few windows instead of one read each.
      if (!Number.isSafeInteger(cur) || cur < 12 || cur >= this.limit) throw new GitFormatError(`offset ${cur} is outside the entries of ${path.basename(this.path)}`);
      const info = this.entryAt(cur, this.heads.read(cur, Math.min(32, this.limit - cur)));
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) return TYPE_NAME[info.typeCode]!;
      cur = this.baseOffsetOf(info, cur);
    }
    throw new GitFormatError(`delta chain longer than ${MAX_CHAIN} (or a cycle) at offset ${offset} of ${path.basename(this.path)}`);
  }

  /**
   * A whole (non-delta) object's content as a stream inflated from the pack, never held whole; null
   * for a delta (resolving one needs its base in memory: use readObject).
   */
  streamObject(offset: number): { size: number; stream: () => Readable } | null {
    const info = this.entryAt(offset);
    if (info.typeCode === OFS_DELTA || info.typeCode === REF_DELTA) return null;
    return { size: info.size, stream: () => this.entryStream(offset, info) };
  }

  /**
   * The object's type, size and first `want` bytes, for sniffing content (is this blob an LFS
   * pointer?) without inflating every small object whole. `head` is null when the object has
   * `maxSize` bytes or more (nothing inflated). A whole object costs one positional read of its
   * header and stream together and an inflate of `want` bytes; a delta is resolved whole
   * (readObject), as deltas are few among small blobs.
   */
  objectHead(offset: number, want: number, maxSize: number): { type: ObjectType; size: number; head: Buffer | null } {
    if (!Number.isSafeInteger(offset) || offset < 12 || offset >= this.limit) throw new GitFormatError(`offset ${offset} is outside the entries of ${path.basename(this.path)}`);
    // Header (at most 32 bytes) and the whole stream of any object under maxSize in one read.
    const bytes = this.heads.read(offset, Math.min(32 + firstWindow(maxSize), this.limit - offset));
    const info = this.entryAt(offset, bytes);
    if (info.typeCode === OFS_DELTA || info.typeCode === REF_DELTA) {
      const size = this.objectSize(offset);
      if (size >= maxSize) return { type: this.objectType(offset), size, head: null };
      const o = this.readObject(offset);
      return { type: o.type, size, head: o.data.subarray(0, want) };
    }
    const type = TYPE_NAME[info.typeCode]!;
    if (info.size >= maxSize) return { type, size: info.size, head: null };
    const n = Math.min(want, info.size);
    const head = n === 0 ? Buffer.alloc(0) : (inflatePrefix(bytes.subarray(info.headerLength), n, offset) ?? inflateHead(this.fd, info.dataOffset, n, this.limit, offset));
    return { type, size: info.size, head };
  }

  /**
   * The object's size, and the object itself when it is smaller than `maxSize` (null otherwise,
   * nothing inflated). A whole object costs one positional read, of its header and stream together
   * (the stream ends where the next entry starts), where objectSize then readObject take three; a
   * delta is resolved by readObject.
   */
  objectUpTo(offset: number, maxSize: number): { size: number; object: PackObject | null } {
    if (!Number.isSafeInteger(offset) || offset < 12 || offset >= this.limit) throw new GitFormatError(`offset ${offset} is outside the entries of ${path.basename(this.path)}`);
    const end = this.nextEntryOffset(offset);
    // zlib's stored blocks add 5 bytes a 16 KiB block: a longer entry holds no whole object under maxSize.
    if (end - offset <= maxSize + (maxSize >> 10) + 64) {
      const bytes = readAt(this.fd, offset, end - offset);
      const info = this.entryAt(offset, bytes);
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) {
        if (info.size >= maxSize) return { size: info.size, object: null };
        const r = inflateExact(bytes.subarray(info.headerLength), info.size, offset);
        if (!r) throw new GitFormatError(`pack truncated at offset ${offset} (zlib stream of the object runs past the next entry)`);
        return { size: info.size, object: { type: TYPE_NAME[info.typeCode]!, data: r.data } };
      }
    }
    const size = this.objectSize(offset);
    return { size, object: size < maxSize ? this.readObject(offset) : null };
  }

  /** The object's inflated size: the entry header, or for a delta the result size in the delta's first bytes. */
  objectSize(offset: number): number {
    const info = this.entryAt(offset);
    if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) return info.size;
    // Two varints of at most 10 bytes each.
    return readDeltaSizes(inflateHead(this.fd, info.dataOffset, Math.min(info.size, 20), this.limit, offset)).resultSize;
  }
}
