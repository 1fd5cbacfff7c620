import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../core/errors.js';
import type { BlobStat } from '../storage/blob-store.js';
import { FsBlobStore } from '../storage/fs-blob-store.js';
import { ContentStore, lfsKey, stagingKey } from './content-store.js';

const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * A local store that, like S3 with checksums, reports a SHA-256 and an ETag for the keys it was
 * told about, and records what was read and copied.
 */
class ChecksumStore extends FsBlobStore {
  sums = new Map<string, { sha256: string; etag: string }>();
  reads: string[] = [];
  copies: { from: string; to: string; ifMatch?: string }[] = [];
  changedUnderneath = false;

  override async stat(key: string, opts?: { checksum?: boolean }): Promise<BlobStat | null> {
    const st = await super.stat(key);
    const sum = this.sums.get(key);
    return st && sum && opts?.checksum ? { ...st, ...sum } : st;
  }
  override async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    this.reads.push(key);
    return super.get(key, range);
  }
  override async copy(from: string, to: string, opts: { ifMatch?: string } = {}): Promise<void> {
    this.copies.push({ from, to, ifMatch: opts.ifMatch });
    if (this.changedUnderneath) throw new AppError('conflict', 'BlobChanged', `object ${from} changed`);
    await super.copy(from, to);
  }
}

describe('ContentStore.promoteStaged', () => {
  let dir: string;
  let blobs: ChecksumStore;
  let content: ContentStore;
  const put = (key: string, data: Buffer | string) => blobs.put(key, Readable.from([Buffer.from(data)]));

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-content-'));
    blobs = new ChecksumStore(dir);
    content = new ContentStore(blobs);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every staging key under lfs-staging/ (the storage sweep relies on it)', () => {
    assert.equal(stagingKey('repo-1', 7, 'a'.repeat(64)), `lfs-staging/repo-1/7/${'a'.repeat(64)}`);
  });

  it('read-back: verified bytes are promoted by the verifying stream itself, and the staging copy is dropped', async () => {
    const data = 'the real object';
    const oid = sha256(data);
    const key = stagingKey('r', 1, oid);
    await put(key, data);
    assert.equal(await content.promoteStaged(key, oid, data.length, false), 'read-back');
    assert.equal(await text(await blobs.get(lfsKey(oid))), data);
    assert.equal(await blobs.stat(key), null);
  });

  it('wrong bytes: only the staging copy is deleted, the stored object stays as it was', async () => {
    const data = 'stored object A';
    const oid = sha256(data);
    await put(lfsKey(oid), data);
    for (const [wrong, size] of [['forged object B', data.length], ['short', data.length], ['x'.repeat(data.length), data.length + 1]] as const) {
      const key = stagingKey('r', 2, oid);
      await put(key, wrong);
      assert.equal(await content.promoteStaged(key, oid, size, false), 'mismatch');
      assert.equal(await blobs.stat(key), null);
      assert.equal(await text(await blobs.get(lfsKey(oid))), data);
    }
    assert.equal(await content.promoteStaged(stagingKey('r', 2, oid), oid, data.length, true), 'absent');
  });

  it('already stored: a correct staged copy only proves possession, nothing is written', async () => {
    const data = 'stored object C';
    const oid = sha256(data);
    await put(lfsKey(oid), data);
    const before = fs.statSync(blobs.localPath(lfsKey(oid))).mtimeMs;
    const key = stagingKey('r', 3, oid);
    await put(key, data);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await content.promoteStaged(key, oid, data.length, true), 'read-back');
    assert.equal(fs.statSync(blobs.localPath(lfsKey(oid))).mtimeMs, before);
    assert.equal(await blobs.stat(key), null);
  });

  it('checksum: the store SHA-256 decides without reading back; the copy is pinned to the checked ETag', async () => {
    const data = 'object with a stored checksum';
    const oid = sha256(data);
    const key = stagingKey('r', 4, oid);
    await put(key, data);
    blobs.sums.set(key, { sha256: oid, etag: '"e1"' });
    blobs.reads.length = 0;
    assert.equal(await content.promoteStaged(key, oid, data.length, false), 'checksum');
    assert.deepEqual(blobs.reads, []);
    assert.deepEqual(blobs.copies.at(-1), { from: key, to: lfsKey(oid), ifMatch: '"e1"' });
    assert.equal(await text(await blobs.get(lfsKey(oid))), data);
    assert.equal(await blobs.stat(key), null);
  });

  it('checksum: a store checksum of other bytes is a mismatch; an object replaced before the copy is left for its uploader', async () => {
    const data = 'checked object';
    const oid = sha256(data);
    const key = stagingKey('r', 5, oid);
    await put(key, data);
    blobs.sums.set(key, { sha256: sha256('something else'), etag: '"e2"' });
    assert.equal(await content.promoteStaged(key, oid, data.length, false), 'mismatch');
    assert.equal(await blobs.stat(key), null);

    await put(key, data);
    blobs.sums.set(key, { sha256: oid, etag: '"e3"' });
    blobs.changedUnderneath = true;
    try {
      assert.equal(await content.promoteStaged(key, oid, data.length, false), 'changed');
    } finally {
      blobs.changedUnderneath = false;
    }
    assert.equal(await blobs.stat(lfsKey(oid)), null, 'nothing promoted');
    assert.ok(await blobs.stat(key), 'the staged object is not deleted');
  });
});
