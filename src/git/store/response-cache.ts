import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A response being written: bytes go to a temp file, which becomes the cached response on commit. */
export interface ResponseRecording {
  write(chunk: Buffer): void;
  commit(): void;
  abort(): void;
}

/**
 * Packs sent for filtered clones (`--filter=blob:none`, `tree:0`, ...), kept on local disk and sent
 * again as they are to the next identical request. A response depends only on the repository's
 * (immutable) pack and the request, so an entry never goes stale: a push or compaction makes a new
 * pack, and so new keys; old entries age out. Bounded by bytes, least recently used first.
 */
export class ResponseCache {
  private readonly entries = new Map<string, { size: number; used: number }>();
  private bytes = 0;
  /** The last use's time: uses get strictly increasing times, so two in one millisecond keep their order. */
  private last = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (!name.endsWith('.pack')) {
        fs.rmSync(file, { force: true }); // a recording a stopped process left behind
        continue;
      }
      const { size, mtimeMs } = fs.statSync(file);
      this.entries.set(name, { size, used: mtimeMs });
      this.last = Math.max(this.last, mtimeMs);
      this.bytes += size;
    }
    this.evict();
  }

  private now(): number {
    this.last = Math.max(Date.now(), this.last + 0.001);
    return this.last;
  }

  private fileName(packName: string, key: string): string {
    return `${packName}-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 32)}.pack`;
  }

  /** The cached response's file, or null. */
  find(packName: string, key: string): string | null {
    const name = this.fileName(packName, key);
    const e = this.entries.get(name);
    if (!e) return null;
    e.used = this.now();
    return path.join(this.dir, name);
  }

  record(packName: string, key: string): ResponseRecording {
    const name = this.fileName(packName, key);
    const tmp = path.join(this.dir, `${name}.${crypto.randomUUID()}.tmp`);
    const fd = fs.openSync(tmp, 'w');
    let size = 0;
    let open = true;
    const close = () => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    return {
      write(chunk) {
        for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        size += chunk.length;
      },
      commit: () => {
        close();
        if (size > this.maxBytes / 4) {
          fs.rmSync(tmp, { force: true }); // too large to be worth a place
          return;
        }
        fs.renameSync(tmp, path.join(this.dir, name));
        const old = this.entries.get(name);
        if (old) this.bytes -= old.size;
        this.entries.set(name, { size, used: this.now() });
        this.bytes += size;
        this.evict();
      },
      abort() {
        close();
        fs.rmSync(tmp, { force: true });
      },
    };
  }

  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [name, e] of [...this.entries].sort((a, b) => a[1].used - b[1].used)) {
      if (this.bytes <= this.maxBytes) break;
      // A response being streamed keeps its open file: removing the name is safe.
      fs.rmSync(path.join(this.dir, name), { force: true });
      this.entries.delete(name);
      this.bytes -= e.size;
    }
  }
}
