import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../core/errors.js';
import { FsBlobStore } from './fs-blob-store.js';
import { createBlobStore } from './index.js';

const isBlobNotFound = (e: unknown) => e instanceof AppError && e.kind === 'not_found' && e.code === 'BlobNotFound';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('FsBlobStore', () => {
  let dir: string;
  let root: string;
  let store: FsBlobStore;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-fs-'));
    root = path.join(dir, 'objects');
    const created = await createBlobStore({ kind: 'fs', root });
    assert.ok(created instanceof FsBlobStore);
    assert.ok(fs.statSync(root).isDirectory(), 'createBlobStore creates the root');
    store = created;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores a stream and reads it back, whole and by inclusive ranges', async () => {
    const body = crypto.randomBytes(300_000);
    await store.put('a/b/blob', Readable.from([body.subarray(0, 1000), body.subarray(1000)]));
    assert.deepEqual(Buffer.concat(await (await store.get('a/b/blob')).toArray()), body);
    assert.deepEqual(Buffer.concat(await (await store.get('a/b/blob', { start: 10, end: 19 })).toArray()), body.subarray(10, 20));
    assert.deepEqual(Buffer.concat(await (await store.get('a/b/blob', { start: 299_990 })).toArray()), body.subarray(299_990));
    assert.deepEqual(await store.stat('a/b/blob'), { size: body.length });
    assert.equal(store.localPath('a/b/blob'), path.join(root, 'a', 'b', 'blob'));
    assert.deepEqual(fs.readFileSync(store.localPath('a/b/blob')), body);
  });

  it('a failed write leaves neither the object nor a temp file behind', async () => {
    async function* failing() {
      yield Buffer.from('partial data');
      throw new Error('client went away');
    }
    await assert.rejects(store.put('c/failed', Readable.from(failing())), /client went away/);
    assert.equal(await store.stat('c/failed'), null);
    assert.deepEqual(fs.readdirSync(path.join(root, 'c')), []);
  });

  it('an overwrite is atomic: readers see the old or the new object, never a mix', async () => {
    await store.put('d/x', Readable.from([Buffer.from('old')]));
    const reader = await store.get('d/x');
    await store.put('d/x', Readable.from([Buffer.from('new contents')]));
    assert.equal(await text(reader), 'old', 'an open reader keeps the object it opened');
    assert.equal(await text(await store.get('d/x')), 'new contents');
  });

  it('putFile copies, or with move renames the file into place', async () => {
    const src = path.join(dir, 'src.bin');
    fs.writeFileSync(src, 'file body');
    await store.putFile('e/copy', src);
    assert.ok(fs.existsSync(src), 'a copy leaves the source');
    await store.putFile('e/moved', src, { move: true });
    assert.ok(!fs.existsSync(src), 'a move consumes the source');
    assert.equal(await text(await store.get('e/copy')), 'file body');
    assert.equal(await text(await store.get('e/moved')), 'file body');
  });

  it('download copies into a local file atomically', async () => {
    const dest = path.join(dir, 'dl', 'deep', 'copy.bin');
    await store.download('e/copy', dest);
    assert.equal(fs.readFileSync(dest, 'utf8'), 'file body');
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), ['copy.bin']);
    await assert.rejects(store.download('e/missing', path.join(dir, 'dl', 'x')), isBlobNotFound);
    assert.ok(!fs.existsSync(path.join(dir, 'dl', 'x')));
  });

  it('missing keys: get and download throw BlobNotFound, stat is null, delete succeeds', async () => {
    await assert.rejects(store.get('nope/nothing'), isBlobNotFound);
    await assert.rejects(store.get('a/b'), isBlobNotFound, 'a directory of keys is not an object');
    assert.equal(await store.stat('nope/nothing'), null);
    assert.equal(await store.stat('a/b'), null);
    await store.delete('nope/nothing');
    await store.put('f/gone', Readable.from([Buffer.from('x')]));
    await store.delete('f/gone');
    await store.delete('f/gone');
    assert.equal(await store.stat('f/gone'), null);
  });

  it('copy writes a new key atomically and leaves the source; a missing source is BlobNotFound', async () => {
    await store.put('cp/src', Readable.from([Buffer.from('copy me')]));
    await store.copy('cp/src', 'cp/deep/dest');
    assert.equal(await text(await store.get('cp/deep/dest')), 'copy me');
    assert.equal(await text(await store.get('cp/src')), 'copy me');
    await assert.rejects(store.copy('cp/missing', 'cp/other'), isBlobNotFound);
    assert.equal(await store.stat('cp/other'), null);
    assert.deepEqual(fs.readdirSync(path.join(root, 'cp')).sort(), ['deep', 'src'], 'no temp file left');
    assert.equal((await store.stat('cp/src', { checksum: true }))?.sha256, undefined, 'local files keep no checksum');
  });

  it('lists by plain key prefix in key order, without temp files', async () => {
    await store.put('l/a-c', Readable.from([Buffer.from('12')]));
    await store.put('l/a/b', Readable.from([Buffer.from('1')]));
    await store.put('l/ab', Readable.from([Buffer.from('123')]));
    await store.put('l/b/z', Readable.from([Buffer.from('1234')]));
    fs.writeFileSync(path.join(root, 'l', 'zz.tmp-123'), 'in progress');
    const listed = await collect(store.list('l/'));
    assert.ok(listed.every((x) => x.modified instanceof Date && Date.now() - x.modified.getTime() < 60_000));
    assert.deepEqual(listed.map(({ key, size }) => ({ key, size })), [
      { key: 'l/a-c', size: 2 },
      { key: 'l/a/b', size: 1 },
      { key: 'l/ab', size: 3 },
      { key: 'l/b/z', size: 4 },
    ]);
    assert.deepEqual((await collect(store.list('l/a'))).map((x) => x.key), ['l/a-c', 'l/a/b', 'l/ab']);
    assert.deepEqual((await collect(store.list('l/a/'))).map((x) => x.key), ['l/a/b']);
    assert.deepEqual(await collect(store.list('nothing/here/')), []);
    const all = (await collect(store.list(''))).map((x) => x.key);
    assert.ok(all.includes('a/b/blob') && all.includes('l/b/z'));
    assert.deepEqual(all, [...all].sort());
  });

  it('rejects unsafe keys before touching the disk', async () => {
    for (const key of ['../escape', 'a/../../b', '/abs', 'a//b', 'a/./b', '']) {
      await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])), /unsafe blob key/, key);
      await assert.rejects(store.get(key), /unsafe blob key/, key);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'escape')));
  });

  it('ping checks that the root is writable', async () => {
    await store.ping();
    const ro = new FsBlobStore(path.join(dir, 'file-not-dir', 'root'));
    await fsp.writeFile(path.join(dir, 'file-not-dir'), '');
    await assert.rejects(ro.ping());
  });
});
