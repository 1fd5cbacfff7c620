import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../core/errors.js';
import { assertSafeKey, type BlobListing, type BlobStat, type BlobStore, type ByteRange } from './blob-store.js';

const notFound = (key: string) => new AppError('not_found', 'BlobNotFound', `object ${key} not found`);
const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** Temp files live beside their destination (same filesystem, so the rename is atomic) and are never listed. */
const TMP_MARK = '.tmp-';
const tempName = (dest: string) => `${dest}${TMP_MARK}${crypto.randomUUID()}`;

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make a rename durable: the directory entry itself must reach the disk. */
async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the data itself is already synced.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}

/**
 * BlobStore on a local directory. Writes go to a temp file in the destination's directory that is
 * fsynced and renamed into place, so readers see the whole object or nothing.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;

  constructor(private readonly root: string) {}

  localPath(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async writeAtomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const dest = this.localPath(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempName(dest);
    try {
      await write(tmp);
      await fsyncPath(tmp);
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(path.dirname(dest));
  }

  async put(key: string, body: Readable): Promise<void> {
    await this.writeAtomically(key, (tmp) => pipeline(body, fs.createWriteStream(tmp, { flags: 'wx' })));
  }

  async putFile(key: string, filePath: string, opts: { move?: boolean } = {}): Promise<void> {
    if (opts.move) {
      const dest = this.localPath(key);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      // The object's age counts from when it is stored (garbage collection's grace period), not
      // from when the caller last wrote the file.
      const now = new Date();
      await fsp.utimes(filePath, now, now);
      await fsyncPath(filePath);
      try {
        await fsp.rename(filePath, dest);
        await fsyncDir(path.dirname(dest));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err; // another filesystem: copy
      }
    }
    await this.writeAtomically(key, (tmp) => fsp.copyFile(filePath, tmp));
  }

  async openFile(key: string): Promise<fsp.FileHandle> {
    const p = this.localPath(key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(p, 'r');
    } catch (err) {
      throw isMissing(err) ? notFound(key) : err;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw notFound(key);
    }
    return fh;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const fh = await this.openFile(key);
    // 1 MiB reads: large objects stream at disk speed instead of in 64 KiB steps.
    return fh.createReadStream({ highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async download(key: string, filePath: string): Promise<void> {
    const src = this.localPath(key);
    await fsp.mkdir(path.dirname(filePath), { recursive: true });
    const tmp = tempName(filePath);
    try {
      await fsp.copyFile(src, tmp);
      await fsp.rename(tmp, filePath);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw isMissing(err) ? notFound(key) : err;
    }
  }

  /** Local files carry no stored checksum: `checksum` is ignored. */
  async stat(key: string, _opts?: { checksum?: boolean }): Promise<BlobStat | null> {
    try {
      const st = await fsp.stat(this.localPath(key));
      return st.isFile() ? { size: st.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** A copy into a temp file renamed into place (`ifMatch` does not apply: local files have no ETag). */
  async copy(from: string, to: string): Promise<void> {
    const src = this.localPath(from);
    try {
      await this.writeAtomically(to, (tmp) => fsp.copyFile(src, tmp));
    } catch (err) {
      throw isMissing(err) ? notFound(from) : err;
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.localPath(key);
    try {
      const st = await fsp.lstat(p);
      if (!st.isFile()) return; // a "directory" of keys is not an object
      await fsp.rm(p, { force: true });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  /**
   * Keys starting with `prefix` (a plain string prefix, as on S3), in lexicographic key order.
   * Streams a directory walk: memory holds one directory listing at a time.
   */
  async *list(prefix: string): AsyncIterable<BlobListing> {
    // Walk from the deepest directory that the prefix names completely, then filter by the rest.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    if (dirKey) assertSafeKey(dirKey);
    const walk = async function* (dir: string, rel: string): AsyncGenerator<BlobListing> {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      // A directory sorts as its name plus '/', which is where its keys fall in key order.
      const sortKey = (d: fs.Dirent) => (d.isDirectory() ? `${d.name}/` : d.name);
      entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
      for (const d of entries) {
        if (d.name.includes(TMP_MARK)) continue;
        const key = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          // Descend only where keys can still match the prefix.
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(path.join(dir, d.name), key);
        } else if (d.isFile() && key.startsWith(prefix)) {
          try {
            const st = await fsp.stat(path.join(dir, d.name));
            yield { key, size: st.size, modified: st.mtime };
          } catch (err) {
            if (!isMissing(err)) throw err; // deleted while listing
          }
        }
      }
    };
    yield* walk(dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root, dirKey);
  }

  async ping(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
    await fsp.access(this.root, fs.constants.W_OK);
  }
}
