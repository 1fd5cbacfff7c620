import fs from 'node:fs';
import { GitFormatError } from '../../core/errors.js';
import { OFS_DELTA, REF_DELTA, TYPE_NAME, type ObjectType } from '../objects/types.js';
import { applyDelta, readDeltaSizes } from './delta.js';
import { decodeEntryHeader, decodeOfsOffset } from './entry-header.js';
import type { PackIndex } from './idx.js';
import { inflateAt, inflatePrefix, readAt } from './inflate.js';

export interface EntryInfo {
  typeCode: number;
  /** Inflated size of the entry's data (the object, or the delta). */
  size: number;
  headerLength: number;
  dataOffset: number;
  baseOffset?: number;
  baseOid?: string;
}

/**
 * One bounded LRU of resolved objects for every open pack of the process (delta bases are read
 * again and again); a per-pack cache would grow with the number of packs.
 */
class ObjectCache {
  private readonly map = new Map<string, { type: ObjectType; data: Buffer }>();
  private bytes = 0;
  constructor(private readonly max: number) {}
  get(key: string) {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: { type: ObjectType; data: Buffer }) {
    if (v.data.length > this.max / 8 || this.map.has(key)) return;
    this.map.set(key, v);
    this.bytes += v.data.length;
    for (const [k, old] of this.map) {
      if (this.bytes <= this.max) break;
      this.map.delete(k);
      this.bytes -= old.data.length;
    }
  }
}

const sharedCache = new ObjectCache(64 * 1024 * 1024);
let nextPackId = 0;

/**
 * Random access to an immutable pack file through its index: positional reads, one zlib stream
 * per entry, delta chains resolved iteratively with a bounded cache of bases.
 */
export class PackFile {
  private readonly cacheId = `${nextPackId++}:`;
  private sortedOffsets?: Float64Array;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly size: number,
    readonly index: PackIndex,
  ) {}

  static async open(path: string, index: PackIndex): Promise<PackFile> {
    const fd = fs.openSync(path, 'r');
    const size = fs.fstatSync(fd).size;
    const head = readAt(fd, 0, 12);
    if (head.length < 12 || head.toString('latin1', 0, 4) !== 'PACK') {
      fs.closeSync(fd);
      throw new GitFormatError(`${path} is not a pack file`);
    }
    const trailer = readAt(fd, size - 20, 20);
    if (!trailer.equals(index.packChecksum)) {
      fs.closeSync(fd);
      throw new GitFormatError(`${path} does not match its index`);
    }
    return new PackFile(path, fd, size, index);
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  entryAt(offset: number): EntryInfo {
    const head = readAt(this.fd, offset, 32);
    const h = decodeEntryHeader(head, 0);
    let pos = h.length;
    const info: EntryInfo = { typeCode: h.typeCode, size: h.size, headerLength: 0, dataOffset: 0 };
    if (h.typeCode === OFS_DELTA) {
      const o = decodeOfsOffset(head, pos);
      pos += o.length;
      info.baseOffset = offset - o.distance;
    } else if (h.typeCode === REF_DELTA) {
      info.baseOid = head.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!TYPE_NAME[h.typeCode]) {
      throw new GitFormatError(`bad object type ${h.typeCode} at offset ${offset} in ${this.path}`);
    }
    info.headerLength = pos;
    info.dataOffset = offset + pos;
    return info;
  }

  /** Where the entry starting at `offset` ends (the next entry, or the trailer). */
  entryEnd(offset: number): number {
    if (!this.sortedOffsets) {
      const n = this.index.count;
      const offs = new Float64Array(n);
      for (let i = 0; i < n; i++) offs[i] = this.index.offsetAt(i);
      offs.sort();
      this.sortedOffsets = offs;
    }
    const offs = this.sortedOffsets;
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offs[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < offs.length ? offs[lo]! : this.size - 20;
  }

  /** The entry's stored bytes: header fields and the compressed stream exactly as in the pack. */
  rawEntry(offset: number): EntryInfo & { compressed: Buffer } {
    const info = this.entryAt(offset);
    const end = this.entryEnd(offset);
    return { ...info, compressed: readAt(this.fd, info.dataOffset, end - info.dataOffset) };
  }

  private inflateEntry(info: EntryInfo, offset: number): Buffer {
    return inflateAt(this.fd, info.dataOffset, info.size, this.size, offset).data;
  }

  private baseOffsetOf(info: EntryInfo, offset: number): number {
    if (info.baseOffset !== undefined) return info.baseOffset;
    const b = this.index.find(info.baseOid!);
    if (b < 0) throw new GitFormatError(`delta base ${info.baseOid} of the object at offset ${offset} is not in ${this.path}`);
    return b;
  }

  readObject(offset: number): { type: ObjectType; data: Buffer } {
    const cached = sharedCache.get(this.cacheId + offset);
    if (cached) return cached;
    const chain: { offset: number; info: EntryInfo }[] = [];
    let cur = offset;
    let base: { type: ObjectType; data: Buffer } | undefined;
    for (let depth = 0; ; depth++) {
      if (depth > 10_000) throw new GitFormatError(`delta chain too long at offset ${offset}`);
      const hit = cur !== offset ? sharedCache.get(this.cacheId + cur) : undefined;
      if (hit) {
        base = hit;
        break;
      }
      const info = this.entryAt(cur);
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) {
        base = { type: TYPE_NAME[info.typeCode]!, data: this.inflateEntry(info, cur) };
        if (chain.length > 0) sharedCache.set(this.cacheId + cur, base);
        break;
      }
      chain.push({ offset: cur, info });
      cur = this.baseOffsetOf(info, cur);
    }
    let result = base;
    for (let i = chain.length - 1; i >= 0; i--) {
      const { offset: o, info } = chain[i]!;
      result = { type: result.type, data: applyDelta(result.data, this.inflateEntry(info, o)) };
      if (i > 0) sharedCache.set(this.cacheId + o, result);
    }
    return result;
  }

  objectType(offset: number): ObjectType {
    let cur = offset;
    for (let depth = 0; depth <= 10_000; depth++) {
      const info = this.entryAt(cur);
      if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) return TYPE_NAME[info.typeCode]!;
      cur = this.baseOffsetOf(info, cur);
    }
    throw new GitFormatError(`delta chain too long at offset ${offset}`);
  }

  /** The object's size without inflating it: the entry header, or for a delta its result size. */
  objectSize(offset: number): number {
    const info = this.entryAt(offset);
    if (info.typeCode !== OFS_DELTA && info.typeCode !== REF_DELTA) return info.size;
    return readDeltaSizes(inflatePrefix(this.fd, info.dataOffset, this.size)).resultSize;
  }
}
