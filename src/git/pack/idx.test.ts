import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { PackIndex, writeIndex } from './idx.js';
import { buildHistoryRepo, git, removeTempDirs, showIndex, tempDir, type FixtureRepo } from './test-fixtures.js';

const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);

/** Replaces the idx trailer with a correct checksum (after editing the bytes). */
const resum = (b: Buffer) => {
  crypto.createHash('sha1').update(b.subarray(0, b.length - 20)).digest().copy(b, b.length - 20);
  return b;
};

describe('PackIndex and writeIndex against git', () => {
  let repo: FixtureRepo;
  let gitIdx: Buffer;
  let oracle: { offset: number; oid: string; crc: number }[];

  before(() => {
    repo = buildHistoryRepo();
    gitIdx = fs.readFileSync(repo.idxPath);
    oracle = showIndex(gitIdx);
  });
  after(removeTempDirs);

  it("reads git's idx: every object at git's offset with git's CRC", () => {
    const idx = PackIndex.fromBuffer(gitIdx);
    assert.equal(idx.count, oracle.length);
    assert.ok(idx.count > 500);
    for (const o of oracle) {
      assert.equal(idx.find(o.oid), o.offset, o.oid);
      assert.equal(idx.find(Buffer.from(o.oid, 'hex')), o.offset);
      const i = idx.position(o.oid);
      assert.equal(idx.oidAt(i).toString('hex'), o.oid);
      assert.equal(idx.crcAt(i), o.crc);
      assert.equal(idx.offsetAt(i), o.offset);
    }
    const pack = fs.readFileSync(repo.packPath);
    assert.ok(idx.packChecksum.equals(pack.subarray(pack.length - 20)));
  });

  it('iterates in id order and answers -1 for absent ids', () => {
    const idx = PackIndex.fromBuffer(gitIdx);
    const listed = [...idx].map((e) => e.oid.toString('hex'));
    assert.deepEqual(listed, oracle.map((o) => o.oid).sort());
    for (const o of oracle.slice(0, 50)) {
      // Same first bytes, different last byte: exercises the tie-break after the 4-byte compare.
      const near = Buffer.from(o.oid, 'hex');
      near[19] ^= 0x01;
      if (!idx.has(near)) assert.equal(idx.find(near), -1);
    }
    assert.equal(idx.find('0'.repeat(40)), -1);
    assert.equal(idx.find('f'.repeat(40)), -1);
    assert.equal(idx.find('abc'), -1);
  });

  it("writeIndex reproduces git's idx byte for byte", () => {
    const entries = oracle.map((o) => ({ oid: Buffer.from(o.oid, 'hex'), offset: o.offset, crc: o.crc })).reverse();
    const pack = fs.readFileSync(repo.packPath);
    assert.ok(writeIndex(entries, pack.subarray(pack.length - 20)).equals(gitIdx));
  });

  it('reads 64-bit offsets from an idx git wrote with its large-offset table', () => {
    // --index-version=2,<n> makes git put every offset above n into the 64-bit table.
    const out = path.join(tempDir(), 'big.idx');
    git(repo.dir, ['index-pack', '--index-version=2,0x1000', '-o', out, repo.packPath]);
    const bigIdx = fs.readFileSync(out);
    assert.ok(bigIdx.length > gitIdx.length, 'git used the 64-bit table');
    const idx = PackIndex.fromBuffer(bigIdx);
    for (const o of oracle) assert.equal(idx.find(o.oid), o.offset);
  });

  it('writes offsets of 2^31 and more into the 64-bit table, as git show-index reads them', () => {
    const offsets = [12, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 40 + 123, 5000];
    const entries = offsets.map((offset, i) => ({ oid: crypto.createHash('sha1').update(String(i)).digest(), offset, crc: 0xdeadbeef - i }));
    const bytes = writeIndex(entries, Buffer.alloc(20, 7));
    assert.equal(bytes.length, 8 + 1024 + 6 * 28 + 3 * 8 + 40);
    const shown = showIndex(bytes);
    for (const e of entries) {
      assert.deepEqual(
        shown.find((s) => s.oid === e.oid.toString('hex')),
        { offset: e.offset, oid: e.oid.toString('hex'), crc: e.crc },
      );
    }
    const idx = PackIndex.fromBuffer(bytes);
    for (const e of entries) assert.equal(idx.find(e.oid), e.offset);
  });

  it('refuses malformed indexes with a GitFormatError', () => {
    const v1 = path.join(tempDir(), 'v1.idx');
    git(repo.dir, ['index-pack', '--index-version=1', '-o', v1, repo.packPath]);
    assert.throws(() => PackIndex.fromBuffer(fs.readFileSync(v1)), isFormatError(/not a version 2 pack index/));

    const v3 = Buffer.from(gitIdx);
    v3.writeUInt32BE(3, 4);
    assert.throws(() => PackIndex.fromBuffer(resum(v3)), isFormatError(/unsupported pack index version 3/));

    const fan = Buffer.from(gitIdx);
    fan.writeUInt32BE(fan.readUInt32BE(8 + 4 * 100) + 1, 8 + 4 * 99);
    assert.throws(() => PackIndex.fromBuffer(resum(fan)), isFormatError(/fanout is not monotonic at entry 100/));

    const flipped = Buffer.from(gitIdx);
    flipped[2000] ^= 0x40;
    assert.throws(() => PackIndex.fromBuffer(flipped), isFormatError(/pack index checksum mismatch/));
    assert.doesNotThrow(() => PackIndex.fromBuffer(flipped, { verifyChecksum: false }));

    assert.throws(() => PackIndex.fromBuffer(gitIdx.subarray(0, 500)), isFormatError(/pack index truncated/));
    assert.throws(() => PackIndex.fromBuffer(gitIdx.subarray(0, gitIdx.length - 100)), isFormatError(/pack index truncated/));
    assert.throws(() => PackIndex.fromBuffer(resum(Buffer.concat([gitIdx, Buffer.alloc(4)]))), isFormatError(/wrong size/));

    // An offset entry pointing past the 64-bit table.
    const bad = Buffer.from(gitIdx);
    const offsetsAt = 8 + 1024 + oracle.length * 24;
    bad.writeUInt32BE(0x80000005, offsetsAt);
    const idx = PackIndex.fromBuffer(resum(bad));
    assert.throws(() => idx.offsetAt(0), isFormatError(/past the 64-bit offset table/));
  });

  it('finds ids quickly (binary search on raw ids, no per-lookup allocation of the index)', () => {
    const idx = PackIndex.fromBuffer(gitIdx);
    const keys = oracle.map((o) => Buffer.from(o.oid, 'hex'));
    const t = process.hrtime.bigint();
    let found = 0;
    for (let r = 0; r < 200; r++) for (const k of keys) if (idx.find(k) >= 0) found++;
    const perLookupNs = Number(process.hrtime.bigint() - t) / found;
    assert.equal(found, 200 * keys.length);
    assert.ok(perLookupNs < 5000, `${perLookupNs.toFixed(0)} ns per lookup`);
  });
});
