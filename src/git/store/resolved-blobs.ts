import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GitFormatError } from '../../core/errors.js';
import { DeltaStreamApplier, fileBase } from '../pack/delta-stream.js';
import type { PackFile } from '../pack/pack-file.js';

/**
 * Large blobs stored as deltas, resolved once into files on local disk so that downloads stream
 * them (resolving a delta needs random access to its base: a file gives it without holding the
 * blob in memory). Keyed by object id (content-addressed: never stale), bounded by bytes, least
 * recently used first; every step of a delta chain goes through a temp file of its own.
 */
export class ResolvedBlobs {
  private readonly entries = new Map<string, number>(); // oid -> size, least recently used first
  private readonly pending = new Map<string, Promise<string>>();
  private bytes = 0;
  private scanned = false;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** On first use: files an earlier process resolved count (they are complete: renamed into place), its temp files go. */
  private scan(): void {
    if (this.scanned) return;
    this.scanned = true;
    fs.mkdirSync(this.dir, { recursive: true });
    const found: { oid: string; size: number; mtime: number }[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      if (!/^[0-9a-f]{40}$/.test(name)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      const st = fs.statSync(file);
      found.push({ oid: name, size: st.size, mtime: st.mtimeMs });
    }
    for (const f of found.sort((a, b) => a.mtime - b.mtime)) {
      this.entries.set(f.oid, f.size);
      this.bytes += f.size;
    }
  }

  private file(oid: string): string {
    return path.join(this.dir, oid);
  }

  /** The object at `offset` of `pack` (a delta) as a stream from its resolved file. */
  async stream(oid: string, pack: PackFile, offset: number): Promise<{ size: number; stream: () => Readable }> {
    const file = await this.resolve(oid, pack, offset);
    const size = this.entries.get(oid) ?? fs.statSync(file).size;
    // Opened now: eviction may unlink the file, an open descriptor keeps reading it.
    const fd = fs.openSync(file, 'r');
    let used = false;
    return {
      size,
      stream: () => {
        if (used) throw new Error('stream() called twice');
        used = true;
        return fs.createReadStream('', { fd, highWaterMark: 1 << 20 });
      },
    };
  }

  private resolve(oid: string, pack: PackFile, offset: number): Promise<string> {
    this.scan();
    const size = this.entries.get(oid);
    if (size !== undefined && fs.existsSync(this.file(oid))) {
      this.entries.delete(oid);
      this.entries.set(oid, size);
      return Promise.resolve(this.file(oid));
    }
    let p = this.pending.get(oid);
    if (!p) {
      p = this.build(oid, pack, offset);
      this.pending.set(oid, p);
      void p.finally(() => this.pending.delete(oid)).catch(() => undefined);
    }
    return p;
  }

  /**
   * Base first, each delta applied from the previous step's file into the next: nothing held whole,
   * and the event loop free between pieces (a blob of 100 MiB takes a while).
   */
  private async build(oid: string, pack: PackFile, offset: number): Promise<string> {
    const { deltas, base } = pack.deltaChain(offset);
    const temps: string[] = [];
    const temp = () => {
      const t = path.join(this.dir, `${oid}.${crypto.randomUUID()}.tmp`);
      temps.push(t);
      return t;
    };
    try {
      let prev = temp();
      await pipeline(pack.entryStream(base.offset, base.info), fs.createWriteStream(prev));
      let prevSize = base.info.size;
      if (fs.statSync(prev).size !== prevSize) throw new GitFormatError(`object at offset ${base.offset} of ${path.basename(pack.path)} does not inflate to its size`);
      for (let i = deltas.length - 1; i >= 0; i--) {
        const { offset: at, info } = deltas[i]!;
        const next = temp();
        const baseFd = fs.openSync(prev, 'r');
        const fd = fs.openSync(next, 'w');
        try {
          const applier = new DeltaStreamApplier(fileBase(baseFd, prevSize), fd);
          for await (const piece of pack.entryStream(at, info)) applier.push(piece as Buffer);
          prevSize = applier.finish();
        } finally {
          fs.closeSync(fd);
          fs.closeSync(baseFd);
        }
        fs.rmSync(prev, { force: true });
        prev = next;
      }
      fs.renameSync(prev, this.file(oid));
      const had = this.entries.get(oid);
      if (had !== undefined) this.bytes -= had;
      this.entries.delete(oid);
      this.entries.set(oid, prevSize);
      this.bytes += prevSize;
      this.evict(oid);
      return this.file(oid);
    } finally {
      for (const t of temps) fs.rmSync(t, { force: true });
    }
  }

  private evict(keep: string): void {
    for (const [oid, size] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (oid === keep) continue;
      this.entries.delete(oid);
      this.bytes -= size;
      fs.rmSync(this.file(oid), { force: true });
    }
  }
}
