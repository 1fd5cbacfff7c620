import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { GitFormatError } from '../../core/errors.js';
import { fsckObject } from '../objects/fsck.js';
import { hashObject } from '../objects/hash.js';
import { OFS_DELTA, REF_DELTA, TYPE_CODE, TYPE_NAME, type ObjectType } from '../objects/types.js';
import { applyDelta } from './delta.js';
import { decodeEntryHeader, decodeOfsOffset, encodeEntryHeader } from './entry-header.js';
import { writeIndex } from './idx.js';
import { inflateAt, readAt } from './inflate.js';

export interface IndexedObject {
  oid: string;
  type: ObjectType;
  offset: number;
  crc: number;
  size: number;
}

export interface IndexedPack {
  /** Hex pack checksum (the trailer), after thin-pack completion. */
  checksum: string;
  objects: IndexedObject[];
  /** idx v2 bytes for the (completed) pack. */
  idx: Buffer;
  /** Bases appended to complete a thin pack. */
  appendedBases: number;
}

export interface IndexPackOptions {
  /** Objects the repository already has: bases of REF_DELTAs a thin pack leaves out. */
  lookupExternal?: (oid: string) => { type: ObjectType; data: Buffer } | null;
  fsck?: boolean;
  maxObjects?: number;
  /** Sees every object once, while its content is at hand (for connectivity checks). */
  onObject?: (oid: string, type: ObjectType, data: Buffer) => void;
}

interface Entry {
  offset: number;
  typeCode: number;
  size: number;
  dataOffset: number;
  end: number;
  crc: number;
  baseOffset?: number;
  baseOid?: string;
  oid?: string;
  type?: ObjectType;
  /** Inflated content kept from pass 1 (bounded) so pass 2 does not inflate it again. */
  data?: Buffer;
}

/**
 * Reads a pack front to back through one large window (few syscalls, no per-object reads) and
 * hashes every byte before `hashEnd` exactly once as the window moves.
 */
class SequentialReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private hashedTo = 0;
  private readonly hash = crypto.createHash('sha1');

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly hashEnd: number,
  ) {}

  /** Bytes [pos, pos+len) (fewer at the end of the file). */
  view(pos: number, len: number): Buffer {
    const want = Math.min(len, this.size - pos);
    if (pos < this.start || pos + want > this.start + this.buf.length) {
      this.buf = readAt(this.fd, pos, Math.min(this.size - pos, Math.max(want, 8 << 20)));
      this.start = pos;
      const from = Math.max(this.hashedTo, pos);
      const to = Math.min(this.hashEnd, pos + this.buf.length);
      if (from < to) {
        if (from !== this.hashedTo) throw new Error('pack reader skipped bytes');
        this.hash.update(this.buf.subarray(from - pos, to - pos));
        this.hashedTo = to;
      }
    }
    return this.buf.subarray(pos - this.start, pos - this.start + want);
  }

  digest(): Buffer {
    while (this.hashedTo < this.hashEnd) this.view(this.hashedTo, Math.min(8 << 20, this.hashEnd - this.hashedTo));
    return this.hash.digest();
  }
}

/** Inflate the zlib stream at `pos` (inflated size known) from the window; returns data and bytes used. */
function inflateFrom(reader: SequentialReader, pos: number, size: number, fileSize: number, where: number): { data: Buffer; used: number } {
  let len = size + (size >> 7) + 512;
  for (;;) {
    const input = reader.view(pos, len);
    try {
      const r = zlib.inflateSync(input, { info: true, maxOutputLength: Math.max(size, 1) + 1 }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      if (r.buffer.length !== size) throw new GitFormatError(`object at offset ${where} inflates to ${r.buffer.length} bytes, header says ${size}`);
      return { data: r.buffer, used: r.engine.bytesWritten };
    } catch (err) {
      if (err instanceof GitFormatError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'Z_BUF_ERROR') {
        if (pos + input.length >= fileSize) throw new GitFormatError(`pack truncated in the object at offset ${where}`);
        len *= 2;
        continue;
      }
      if (code === 'ERR_BUFFER_TOO_LARGE' || (err as Error).message?.includes('maxOutputLength')) {
        throw new GitFormatError(`object at offset ${where} inflates to more than the ${size} bytes its header says`);
      }
      throw new GitFormatError(`zlib stream corrupt in the object at offset ${where}: ${(err as Error).message}`);
    }
  }
}

function sha1File(fd: number, end: number): Buffer {
  const h = crypto.createHash('sha1');
  const chunk = 4 << 20;
  for (let pos = 0; pos < end; pos += chunk) h.update(readAt(fd, pos, Math.min(chunk, end - pos)));
  return h.digest();
}

/**
 * index-pack: walk a received pack once (bounded memory: one object at a time plus the delta chain
 * being resolved), verify framing, zlib streams, sizes and the trailer, resolve every delta, complete
 * a thin pack with the bases it leaves out, fsck the objects, and build the idx.
 */
export async function indexPack(packPath: string, opts: IndexPackOptions = {}): Promise<IndexedPack> {
  const fd = fs.openSync(packPath, 'r+');
  try {
    return indexOpenPack(fd, opts);
  } finally {
    fs.closeSync(fd);
  }
}

function indexOpenPack(fd: number, opts: IndexPackOptions): IndexedPack {
  let fileSize = fs.fstatSync(fd).size;
  if (fileSize < 32) throw new GitFormatError(fileSize === 0 ? 'pack missing: empty body' : `pack truncated: only ${fileSize} bytes`);
  const header = readAt(fd, 0, 12);
  if (header.toString('latin1', 0, 4) !== 'PACK') throw new GitFormatError('not a pack: bad signature');
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new GitFormatError(`unsupported pack version ${version}`);
  const count = header.readUInt32BE(8);
  if (opts.maxObjects !== undefined && count > opts.maxObjects) throw new GitFormatError(`pack has ${count} objects, more than the limit of ${opts.maxObjects}`);

  // Pass 1: framing, inflate, CRC, ids of whole objects; the trailer hash as the window moves.
  const entries: Entry[] = [];
  const byOffset = new Map<number, number>();
  const reader = new SequentialReader(fd, fileSize, fileSize - 20);
  const KEEP_BYTES = 32 << 20;
  let kept = 0;
  let pos = 12;
  reader.view(0, 12);
  for (let i = 0; i < count; i++) {
    if (pos >= fileSize - 20) throw new GitFormatError(`pack truncated: ${count - i} of ${count} objects missing at offset ${pos}`);
    const head = reader.view(pos, 32);
    const h = decodeEntryHeader(head, 0);
    let p = h.length;
    const e: Entry = { offset: pos, typeCode: h.typeCode, size: h.size, dataOffset: 0, end: 0, crc: 0 };
    if (h.typeCode === OFS_DELTA) {
      const o = decodeOfsOffset(head, p);
      p += o.length;
      e.baseOffset = pos - o.distance;
      if (o.distance <= 0 || e.baseOffset < 12 || !byOffset.has(e.baseOffset)) {
        throw new GitFormatError(`delta at offset ${pos} names a base at offset ${e.baseOffset}, which is not an object of this pack`);
      }
    } else if (h.typeCode === REF_DELTA) {
      if (p + 20 > head.length) throw new GitFormatError(`pack truncated at offset ${pos}`);
      e.baseOid = head.toString('hex', p, p + 20);
      p += 20;
    } else if (!TYPE_NAME[h.typeCode]) {
      throw new GitFormatError(`invalid object type ${h.typeCode} at offset ${pos}`);
    }
    e.dataOffset = pos + p;
    const { data, used } = inflateFrom(reader, e.dataOffset, h.size, fileSize, pos);
    e.end = e.dataOffset + used;
    if (e.end > fileSize - 20) throw new GitFormatError(`pack truncated in the object at offset ${pos}`);
    e.crc = zlib.crc32(reader.view(pos, e.end - pos));
    if (data.length <= 1 << 20 && kept + data.length <= KEEP_BYTES) {
      e.data = data;
      kept += data.length;
    }
    if (!e.baseOffset && !e.baseOid) {
      e.type = TYPE_NAME[h.typeCode]!;
      e.oid = hashObject(e.type, data);
      if (opts.fsck) fsckObject(e.type, data);
      opts.onObject?.(e.oid, e.type, data);
    }
    byOffset.set(pos, entries.length);
    entries.push(e);
    pos = e.end;
  }
  if (pos + 20 < fileSize) throw new GitFormatError(`pack has ${fileSize - pos - 20} bytes of garbage after its last object`);
  if (pos + 20 > fileSize) throw new GitFormatError('pack truncated: trailer missing');
  const trailer = readAt(fd, pos, 20);
  if (!reader.digest().equals(trailer)) throw new GitFormatError('pack checksum mismatch: the pack is corrupt');

  // Pass 2: resolve deltas from each base down its children (each delta inflated once).
  const ofsChildren = new Map<number, number[]>();
  const refChildren = new Map<string, number[]>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.baseOffset !== undefined) {
      const list = ofsChildren.get(e.baseOffset);
      if (list) list.push(i);
      else ofsChildren.set(e.baseOffset, [i]);
    } else if (e.baseOid) {
      const list = refChildren.get(e.baseOid);
      if (list) list.push(i);
      else refChildren.set(e.baseOid, [i]);
    }
  }
  const resolveFrom = (rootOid: string, rootType: ObjectType, rootData: Buffer, rootOffset: number | null) => {
    const stack: { type: ObjectType; data: Buffer; oid: string; offset: number | null }[] = [{ type: rootType, data: rootData, oid: rootOid, offset: rootOffset }];
    while (stack.length) {
      const base = stack.pop()!;
      const kids = [...(base.offset !== null ? ofsChildren.get(base.offset) ?? [] : []), ...(refChildren.get(base.oid) ?? [])];
      refChildren.delete(base.oid);
      for (const k of kids) {
        const e = entries[k]!;
        if (e.oid) continue;
        const delta = e.data ?? inflateAt(fd, e.dataOffset, e.size, fileSize, e.offset).data;
        e.data = undefined;
        const data = applyDelta(base.data, delta);
        e.type = base.type;
        e.oid = hashObject(e.type, data);
        if (opts.fsck) fsckObject(e.type, data);
        opts.onObject?.(e.oid, e.type, data);
        stack.push({ type: e.type, data, oid: e.oid, offset: e.offset });
      }
    }
  };
  for (const e of entries) {
    if (e.baseOffset !== undefined || e.baseOid) continue;
    if (!ofsChildren.has(e.offset) && !refChildren.has(e.oid!)) {
      e.data = undefined;
      continue;
    }
    const data = e.data ?? inflateAt(fd, e.dataOffset, e.size, fileSize, e.offset).data;
    e.data = undefined;
    resolveFrom(e.oid!, e.type!, data, e.offset);
  }
  // REF_DELTAs whose base is a delta resolved above are handled by the oid lookups in resolveFrom.
  // What remains names bases outside the pack: a thin pack. Complete it from the repository.
  const appended: { oid: string; type: ObjectType; data: Buffer }[] = [];
  for (const baseOid of [...refChildren.keys()]) {
    if (!refChildren.has(baseOid)) continue;
    const ext = opts.lookupExternal?.(baseOid) ?? null;
    if (!ext) throw new GitFormatError(`delta base ${baseOid} not found: the pack is thin and the repository lacks the base`);
    appended.push({ oid: baseOid, ...ext });
    resolveFrom(baseOid, ext.type, ext.data, null);
  }
  const unresolved = entries.find((e) => !e.oid);
  if (unresolved) throw new GitFormatError(`delta at offset ${unresolved.offset} could not be resolved (cyclic or missing base)`);

  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.oid!)) throw new GitFormatError(`pack contains object ${e.oid} twice`);
    seen.add(e.oid!);
  }

  const objects: IndexedObject[] = entries.map((e) => ({ oid: e.oid!, type: e.type!, offset: e.offset, crc: e.crc, size: e.size }));
  let checksum = trailer;
  if (appended.length > 0) {
    // Append the bases as whole objects, fix the count, and write a new trailer.
    let at = pos;
    for (const b of appended) {
      const entry = Buffer.concat([encodeEntryHeader(TYPE_CODE[b.type], b.data.length), zlib.deflateSync(b.data, { level: 1 })]);
      fs.writeSync(fd, entry, 0, entry.length, at);
      objects.push({ oid: b.oid, type: b.type, offset: at, crc: zlib.crc32(entry), size: b.data.length });
      at += entry.length;
    }
    const countBuf = Buffer.alloc(4);
    countBuf.writeUInt32BE(count + appended.length);
    fs.writeSync(fd, countBuf, 0, 4, 8);
    fs.ftruncateSync(fd, at);
    checksum = sha1File(fd, at);
    fs.writeSync(fd, checksum, 0, 20, at);
    fileSize = at + 20;
  }
  const idx = writeIndex(
    objects.map((o) => ({ oid: Buffer.from(o.oid, 'hex'), offset: o.offset, crc: o.crc })),
    checksum,
  );
  return { checksum: checksum.toString('hex'), objects, idx, appendedBases: appended.length };
}
