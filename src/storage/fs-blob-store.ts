import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../core/errors.js';
import { assertSafeKey, type BlobStat, type BlobStore, type ByteRange } from './blob-store.js';

const notFound = (key: string) => new AppError('not_found', 'BlobNotFound', `object ${key} not found`);

/** BlobStore on a local directory. Writes go to a temp file that is fsynced and renamed into place. */
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
    const tmp = `${dest}.tmp-${crypto.randomUUID()}`;
    try {
      await write(tmp);
      const fh = await fsp.open(tmp, 'r');
      await fh.sync();
      await fh.close();
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  async put(key: string, body: Readable): Promise<void> {
    await this.writeAtomically(key, (tmp) => pipeline(body, fs.createWriteStream(tmp)));
  }

  async putFile(key: string, filePath: string, opts: { move?: boolean } = {}): Promise<void> {
    if (opts.move) {
      const dest = this.localPath(key);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      const fh = await fsp.open(filePath, 'r');
      await fh.sync();
      await fh.close();
      try {
        await fsp.rename(filePath, dest);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err; // another filesystem: copy
      }
    }
    await this.writeAtomically(key, (tmp) => fsp.copyFile(filePath, tmp));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const p = this.localPath(key);
    const fh = await fsp.open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? notFound(key) : err;
    });
    return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async download(key: string, filePath: string): Promise<void> {
    await fsp.mkdir(path.dirname(filePath), { recursive: true });
    const tmp = `${filePath}.tmp-${crypto.randomUUID()}`;
    try {
      await fsp.copyFile(this.localPath(key), tmp);
      await fsp.rename(tmp, filePath);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(key);
      throw err;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const st = await fsp.stat(this.localPath(key));
      return st.isFile() ? { size: st.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.localPath(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    const base = prefix ? this.localPath(prefix.replace(/\/+$/, '')) : this.root;
    const walk = async function* (dir: string, rel: string): AsyncGenerator<{ key: string; size: number }> {
      let names: fs.Dirent[];
      try {
        names = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const d of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (d.name.includes('.tmp-')) continue;
        const full = path.join(dir, d.name);
        const key = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) yield* walk(full, key);
        else yield { key, size: (await fsp.stat(full)).size };
      }
    };
    yield* walk(base, prefix.replace(/\/+$/, ''));
  }

  async ping(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
    await fsp.access(this.root, fs.constants.W_OK);
  }
}
