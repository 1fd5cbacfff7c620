import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import S3rver from 's3rver';
import type { S3Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { createBlobStore } from './index.js';
import { S3BlobStore } from './s3-blob-store.js';

// s3rver (an S3-compatible server from npm) runs in this process on an ephemeral port.
// Paged listings need NODE_OPTIONS=--openssl-legacy-provider on s3rver's side; these tests avoid them.

const isBlobNotFound = (e: unknown) => e instanceof AppError && e.kind === 'not_found' && e.code === 'BlobNotFound';
const MiB = 1024 * 1024;

async function readAll(r: Readable): Promise<Buffer> {
  return Buffer.concat(await r.toArray());
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('S3BlobStore (against s3rver)', () => {
  let dir: string;
  let server: S3rver;
  let cfg: S3Config;
  let store: S3BlobStore;
  /** The same bucket without the key prefix, to see where objects really land. */
  let raw: S3BlobStore;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-s3-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(dir, 's3'), resetOnClose: true });
    const { port } = await server.run();
    cfg = {
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'packhub-test',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      region: 'us-east-1',
      forcePathStyle: true,
      prefix: 'hub1/',
    };
    const created = await createBlobStore({ kind: 's3', s3: cfg });
    assert.ok(created instanceof S3BlobStore);
    store = created;
    raw = new S3BlobStore({ ...cfg, prefix: '' });
  });
  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('createBlobStore created the missing bucket, and does nothing when it exists', async () => {
    await store.ping();
    await store.ensureBucket();
  });

  it('a stream PUT (unknown length, several chunks) reads back byte-identical', async () => {
    const body = crypto.randomBytes(3 * MiB + 17);
    const stream = new PassThrough();
    const done = store.put('repos/r1/packs/pack-1.pack', stream);
    for (let i = 0; i < body.length; i += 64 * 1024) stream.write(body.subarray(i, i + 64 * 1024));
    stream.end();
    await done;
    const back = await readAll(await store.get('repos/r1/packs/pack-1.pack'));
    assert.equal(back.length, body.length);
    assert.ok(back.equals(body), 'no aws-chunked framing or other bytes were added');
    assert.equal((await store.stat('repos/r1/packs/pack-1.pack'))?.size, body.length);
  });

  it('reads inclusive byte ranges and open-ended ranges', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await store.put('ranges/obj', Readable.from([body]));
    assert.equal((await readAll(await store.get('ranges/obj', { start: 3, end: 7 }))).toString(), '34567');
    assert.equal((await readAll(await store.get('ranges/obj', { start: 15 }))).toString(), 'fghij');
    assert.equal((await readAll(await store.get('ranges/obj', { start: 1, end: 1 }))).toString(), '1');
    // (bytes=0-0 is not tested: s3rver reads an end of 0 as "to the end"; S3 itself returns one byte.)
  });

  it('uploads a file larger than 16 MiB as multipart, and it reads back identical', async () => {
    const file = path.join(dir, 'big.bin');
    const body = crypto.randomBytes(20 * MiB + 123);
    fs.writeFileSync(file, body);
    const commands: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize', name: 'testCommandSpy' },
    );
    try {
      await store.putFile('big/object', file);
    } finally {
      store.client.middlewareStack.remove('testCommandSpy');
    }
    assert.deepEqual(commands, ['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
    assert.ok(fs.existsSync(file), 'without move, the source stays');
    assert.equal((await store.stat('big/object'))?.size, body.length);
    const back = await readAll(await store.get('big/object'));
    assert.ok(back.equals(body));
    const tail = await readAll(await store.get('big/object', { start: 20 * MiB }));
    assert.ok(tail.equals(body.subarray(20 * MiB)));
  });

  it('putFile with move stores a small file and consumes it', async () => {
    const file = path.join(dir, 'small.bin');
    fs.writeFileSync(file, 'small');
    await store.putFile('small/object', file, { move: true });
    assert.ok(!fs.existsSync(file));
    assert.equal((await readAll(await store.get('small/object'))).toString(), 'small');
  });

  it('download writes the object to a local file through a temp file', async () => {
    const dest = path.join(dir, 'cache', 'pack-1.pack');
    await store.download('ranges/obj', dest);
    assert.equal(fs.readFileSync(dest, 'utf8'), '0123456789abcdefghij');
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), ['pack-1.pack']);
    await assert.rejects(store.download('missing/key', path.join(dir, 'cache', 'x')), isBlobNotFound);
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), ['pack-1.pack'], 'no temp file or partial file left');
  });

  it('missing keys: get throws BlobNotFound, stat is null, delete is idempotent', async () => {
    await assert.rejects(store.get('missing/key'), isBlobNotFound);
    await assert.rejects(store.get('missing/key', { start: 1, end: 2 }), isBlobNotFound);
    assert.equal(await store.stat('missing/key'), null);
    await store.delete('missing/key');
    await store.put('del/me', Readable.from([Buffer.from('x')]));
    await store.delete('del/me');
    await store.delete('del/me');
    assert.equal(await store.stat('del/me'), null);
  });

  it('applies the configured prefix to every key and strips it when listing', async () => {
    await store.put('list/a', Readable.from([Buffer.from('1')]));
    await store.put('list/b/c', Readable.from([Buffer.from('22')]));
    assert.equal((await readAll(await raw.get('hub1/list/a'))).toString(), '1');
    assert.equal(await raw.stat('list/a'), null);
    const listed = await collect(store.list('list/'));
    assert.ok(listed.every((x) => x.modified instanceof Date && Math.abs(Date.now() - x.modified.getTime()) < 60_000));
    assert.deepEqual(listed.map(({ key, size }) => ({ key, size })), [
      { key: 'list/a', size: 1 },
      { key: 'list/b/c', size: 2 },
    ]);
    assert.deepEqual((await collect(raw.list('hub1/list/b'))).map(({ key, size }) => ({ key, size })), [{ key: 'hub1/list/b/c', size: 2 }]);
  });

  it('a body that fails mid-upload stores nothing and reports the body error', async () => {
    async function* failing() {
      yield crypto.randomBytes(1024);
      throw new AppError('unprocessable', 'HashMismatch', 'sha256 mismatch');
    }
    await assert.rejects(store.put('failed/upload', Readable.from(failing())), (e: unknown) => e instanceof AppError && e.code === 'HashMismatch');
    assert.equal(await store.stat('failed/upload'), null);
    // The same once a multipart upload has begun (its cleanup must not hide the cause).
    async function* failingLate() {
      for (let i = 0; i < 17; i++) yield crypto.randomBytes(MiB);
      throw new AppError('unprocessable', 'HashMismatch', 'sha256 mismatch');
    }
    await assert.rejects(store.put('failed/multipart', Readable.from(failingLate())), (e: unknown) => e instanceof AppError && e.code === 'HashMismatch');
    assert.equal(await store.stat('failed/multipart'), null);
  });

  it('presigned GET and PUT URLs work; PUT pins the length, and the SHA-256 as a signed header', async () => {
    const body = Buffer.from('presigned body');
    const sha256 = crypto.createHash('sha256').update(body).digest('hex');
    const b64 = Buffer.from(sha256, 'hex').toString('base64');
    const signedPut = await store.presignPut('lfs/ab/cd/obj', 600, { size: body.length, sha256 });
    const putUrl = new URL(signedPut.url);
    assert.equal(putUrl.pathname, '/packhub-test/hub1/lfs/ab/cd/obj');
    const signed = putUrl.searchParams.get('X-Amz-SignedHeaders')!.split(';');
    assert.ok(signed.includes('content-length'), `content-length is signed: ${signed}`);
    assert.ok(!signed.includes('content-type'), 'content-type is not signed (clients send their own)');
    // S3 ignores a checksum in the query string: it must be a signed header the client sends.
    assert.ok(signed.includes('x-amz-checksum-sha256'), `the checksum header is signed: ${signed}`);
    assert.equal(putUrl.searchParams.get('x-amz-checksum-sha256'), null);
    assert.deepEqual(signedPut.headers, { 'x-amz-checksum-sha256': b64 });
    const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...signedPut.headers } });
    assert.equal(put.status, 200);
    const get = await fetch(await store.presignGet('lfs/ab/cd/obj', 600));
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'presigned body');
    const noSha = await store.presignPut('lfs/ab/cd/other', 600, { size: 3 });
    assert.equal(new URL(noSha.url).searchParams.get('X-Amz-SignedHeaders'), 'content-length;host');
    assert.deepEqual(noSha.headers, {});
    // s3rver keeps no checksum: stat reports none (packhub then reads objects back to verify them).
    const st = await store.stat('lfs/ab/cd/obj', { checksum: true });
    assert.equal(st?.size, body.length);
    assert.equal(st?.sha256, undefined);
  });

  it('copy: inside the bucket, to a new key; a missing source is BlobNotFound', async () => {
    await store.put('copy/src', Readable.from([Buffer.from('copied bytes')]));
    await store.copy('copy/src', 'copy/dest');
    assert.equal((await readAll(await store.get('copy/dest'))).toString(), 'copied bytes');
    assert.equal((await readAll(await store.get('copy/src'))).toString(), 'copied bytes');
    const st = await store.stat('copy/src');
    await store.copy('copy/src', 'copy/dest2', { ifMatch: st!.etag });
    assert.equal((await readAll(await store.get('copy/dest2'))).toString(), 'copied bytes');
    await assert.rejects(store.copy('copy/missing', 'copy/dest3'), isBlobNotFound);
    assert.equal(await store.stat('copy/dest3'), null);
  });

  it('presigned URLs use the public endpoint when one is configured', async () => {
    const pub = new S3BlobStore({ ...cfg, publicEndpoint: 'http://s3.example.test:9000' });
    const url = new URL(await pub.presignGet('lfs/ab/cd/obj', 60));
    assert.equal(url.origin, 'http://s3.example.test:9000');
  });

  it('an unreachable endpoint is "unavailable", not a missing object', async () => {
    const down = new S3BlobStore({ ...cfg, endpoint: `http://127.0.0.1:${await closedPort()}` });
    const isUnavailable = (e: unknown) => e instanceof AppError && e.kind === 'unavailable';
    await assert.rejects(down.get('any/key'), isUnavailable);
    await assert.rejects(down.stat('any/key'), isUnavailable);
    await assert.rejects(down.ping(), isUnavailable);
    await assert.rejects(down.ensureBucket(), isUnavailable);
  });

  it('putFile retries with the file opened again when the connection breaks mid-request', async () => {
    // A TCP relay to s3rver that cuts the first connection as soon as the request starts arriving.
    let connections = 0;
    const target = Number(new URL(cfg.endpoint!).port);
    const relay = net.createServer((client) => {
      if (++connections === 1) {
        client.once('data', () => client.destroy());
        return;
      }
      const upstream = net.connect(target, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const flaky = new S3BlobStore({ ...cfg, endpoint: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}` });
      const file = path.join(dir, 'retry.bin');
      const bytes = crypto.randomBytes(300_000);
      fs.writeFileSync(file, bytes);
      await flaky.putFile('packs/retry.bin', file);
      assert.ok(connections >= 2, 'the first connection was cut');
      assert.ok((await readAll(await store.get('packs/retry.bin'))).equals(bytes));
    } finally {
      relay.close();
    }
  });

  it('rejects unsafe keys', async () => {
    await assert.rejects(store.get('../x'), /unsafe blob key/);
    await assert.rejects(store.put('a//b', Readable.from([Buffer.from('x')])), /unsafe blob key/);
  });
});
