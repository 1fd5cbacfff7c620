import type { Readable } from 'node:stream';
import { GitFormatError } from '../../core/errors.js';
import type { ObjectType } from '../objects/types.js';
import { parseCommit, type Commit } from '../objects/commit.js';
import { parseTree, type TreeEntry } from '../objects/tree.js';
import { parseTag, type Tag } from '../objects/tag.js';
import type { LoadedPack } from './pack-cache.js';

export interface ObjectLocation {
  pack: LoadedPack;
  offset: number;
}

export class MissingObjectError extends GitFormatError {
  constructor(readonly oid: string) {
    super(`object ${oid} not found`);
  }
}

/**
 * The objects of one repository: the union of its live packs (newest first). Every read is a
 * positional read in an immutable pack; nothing here mutates.
 */
export class RepoObjects {
  /**
   * `epoch`: the repository's gc epoch read before its live packs were listed (null when these
   * objects are not such a snapshot); a write checked against these objects commits with it.
   */
  constructor(
    readonly packs: LoadedPack[],
    readonly epoch: number | null = null,
  ) {}

  locate(oid: string | Buffer): ObjectLocation | null {
    for (const pack of this.packs) {
      const offset = pack.index.find(oid);
      if (offset >= 0) return { pack, offset };
    }
    return null;
  }

  /**
   * The indexes of `oids` in stored order: pack by pack (newest first, as `packs`), by offset within
   * each; ids not found last. Reading objects in this order goes forward through each pack, so its
   * reads come from read-ahead windows instead of one seek per object. Typed arrays only: no
   * object per id (a lazy fetch names up to every blob of a repository).
   */
  storedOrder(oids: readonly string[]): Uint32Array {
    const packOf = new Uint32Array(oids.length).fill(this.packs.length);
    const offsetOf = new Float64Array(oids.length);
    for (let i = 0; i < oids.length; i++) {
      for (let p = 0; p < this.packs.length; p++) {
        const offset = this.packs[p]!.index.find(oids[i]!);
        if (offset < 0) continue;
        packOf[i] = p;
        offsetOf[i] = offset;
        break;
      }
    }
    return Uint32Array.from(oids, (_, i) => i).sort((a, b) => packOf[a]! - packOf[b]! || offsetOf[a]! - offsetOf[b]!);
  }

  has(oid: string | Buffer): boolean {
    return this.locate(oid) !== null;
  }

  read(oid: string): { type: ObjectType; data: Buffer } {
    const loc = this.locate(oid);
    if (!loc) throw new MissingObjectError(oid);
    return loc.pack.file.readObject(loc.offset);
  }

  tryRead(oid: string): { type: ObjectType; data: Buffer } | null {
    const loc = this.locate(oid);
    return loc ? loc.pack.file.readObject(loc.offset) : null;
  }

  type(oid: string): ObjectType | null {
    const loc = this.locate(oid);
    return loc ? loc.pack.file.objectType(loc.offset) : null;
  }

  /** A whole stored object's content as a stream (see PackFile.streamObject); null when missing or a delta. */
  stream(oid: string): { size: number; stream: () => Readable } | null {
    const loc = this.locate(oid);
    return loc ? loc.pack.file.streamObject(loc.offset) : null;
  }

  /** The object's size, and its content when smaller than `maxSize` (see PackFile.objectUpTo). */
  readUpTo(oid: string, maxSize: number): { size: number; object: { type: ObjectType; data: Buffer } | null } {
    const loc = this.locate(oid);
    if (!loc) throw new MissingObjectError(oid);
    return loc.pack.file.objectUpTo(loc.offset, maxSize);
  }

  size(oid: string): number {
    const loc = this.locate(oid);
    if (!loc) throw new MissingObjectError(oid);
    return loc.pack.file.objectSize(loc.offset);
  }

  /** Parsed commits and trees are cached on their (immutable) pack; callers must not mutate them. */
  commit(oid: string): Commit {
    const loc = this.locate(oid);
    if (!loc) throw new MissingObjectError(oid);
    const hit = loc.pack.parsed(loc.offset) as Commit | TreeEntry[] | undefined;
    if (hit && !Array.isArray(hit)) return hit;
    const o = loc.pack.file.readObject(loc.offset);
    if (o.type !== 'commit') throw new GitFormatError(`object ${oid} is a ${o.type}, not a commit`);
    return loc.pack.remember(loc.offset, parseCommit(o.data));
  }

  tree(oid: string): TreeEntry[] {
    const loc = this.locate(oid);
    if (!loc) throw new MissingObjectError(oid);
    const hit = loc.pack.parsed(loc.offset) as Commit | TreeEntry[] | undefined;
    if (hit && Array.isArray(hit)) return hit;
    const o = loc.pack.file.readObject(loc.offset);
    if (o.type !== 'tree') throw new GitFormatError(`object ${oid} is a ${o.type}, not a tree`);
    return loc.pack.remember(loc.offset, parseTree(o.data));
  }

  tag(oid: string): Tag {
    const o = this.read(oid);
    if (o.type !== 'tag') throw new GitFormatError(`object ${oid} is a ${o.type}, not a tag`);
    return parseTag(o.data);
  }

  /** Follow annotated tags to the object they finally name. */
  peel(oid: string): { oid: string; type: ObjectType } {
    let cur = oid;
    for (let i = 0; i < 64; i++) {
      const t = this.type(cur);
      if (t === null) throw new MissingObjectError(cur);
      if (t !== 'tag') return { oid: cur, type: t };
      cur = this.tag(cur).object;
    }
    throw new GitFormatError(`tag chain too deep at ${oid}`);
  }
}
