import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { IncomingPack } from './incoming-pack.js';
import { indexPack } from './index-pack.js';
import { buildHistoryRepo, copyToTemp, removeTempDirs, tempDir, type FixtureRepo } from './test-fixtures.js';

/** `bytes` in pieces of `size`, with a pause now and then, as a network would deliver them. */
async function* trickle(bytes: Buffer, size: number, opts: { failAt?: number } = {}): AsyncGenerator<Buffer> {
  for (let off = 0; off < bytes.length; off += size) {
    if (opts.failAt !== undefined && off >= opts.failAt) throw new Error('client went away');
    if ((off / size) % 7 === 0) await new Promise((r) => setTimeout(r, 1));
    yield bytes.subarray(off, off + size);
  }
}

async function indexWhileArriving(bytes: Buffer, size: number, opts: { failAt?: number; check?: (n: number) => void } = {}) {
  const file = path.join(tempDir(), 'incoming.pack');
  const incoming = await IncomingPack.create(file);
  const receiving = incoming.receive(trickle(bytes, size, opts), opts.check);
  const indexing = indexPack(file, { incoming, fsck: true });
  const [r, i] = await Promise.allSettled([receiving, indexing]);
  return { received: r, indexed: i };
}

describe('indexPack while the pack arrives (IncomingPack)', () => {
  let repo: FixtureRepo;
  let pack: Buffer;
  before(() => {
    repo = buildHistoryRepo({ bigFile: true, commits: 20 });
    pack = fs.readFileSync(repo.packPath);
  });
  after(removeTempDirs);

  it('gives the same idx as indexing the complete file, whatever the piece size', async () => {
    const small = buildHistoryRepo({ commits: 8 });
    for (const [r, sizes] of [[small, [13, 4096]], [repo, [65536, 1 << 20]]] as const) {
      const whole = await indexPack(copyToTemp(r.packPath), { fsck: true });
      for (const size of sizes) {
        const { received, indexed } = await indexWhileArriving(fs.readFileSync(r.packPath), size);
        assert.equal(received.status, 'fulfilled');
        assert.equal(indexed.status, 'fulfilled', String((indexed as PromiseRejectedResult).reason));
        assert.ok((indexed as PromiseFulfilledResult<typeof whole>).value.idx.equals(whole.idx), `piece size ${size}`);
      }
    }
  });

  it('refuses a pack cut short, a corrupt one and an empty one; the whole body is still read', async () => {
    for (const cut of [5, 31, 100, Math.floor(pack.length / 2), pack.length - 1]) {
      const { received, indexed } = await indexWhileArriving(pack.subarray(0, cut), 4096);
      assert.equal(indexed.status, 'rejected', `cut at ${cut}`);
      assert.ok((indexed as PromiseRejectedResult).reason instanceof GitFormatError, `cut at ${cut}: ${(indexed as PromiseRejectedResult).reason}`);
      assert.match((indexed as PromiseRejectedResult).reason.message, /truncated|at least 32 bytes/);
      assert.equal(received.status, 'fulfilled', 'the body was read to its end');
    }
    const bad = Buffer.from(pack);
    bad.write('XXXX', 0);
    const r = await indexWhileArriving(bad, 4096);
    assert.match((r.indexed as PromiseRejectedResult).reason.message, /^not a pack/);
    assert.equal(r.received.status, 'rejected', 'the receiving side learns that the reader gave up');
    const empty = await indexWhileArriving(Buffer.alloc(0), 4096);
    assert.match((empty.indexed as PromiseRejectedResult).reason.message, /^pack missing: the file is empty/);
  });

  it('a size limit or a vanished client stops both sides with that error', async () => {
    const limit = new Error('too large');
    const a = await indexWhileArriving(pack, 65536, { check: (n) => { if (n > 100_000) throw limit; } });
    assert.equal((a.received as PromiseRejectedResult).reason, limit);
    assert.equal((a.indexed as PromiseRejectedResult).reason, limit);
    const b = await indexWhileArriving(pack, 65536, { failAt: 200_000 });
    assert.match((b.received as PromiseRejectedResult).reason.message, /client went away/);
    assert.match((b.indexed as PromiseRejectedResult).reason.message, /client went away/);
  });
});
