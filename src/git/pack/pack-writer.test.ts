import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { OFS_DELTA, REF_DELTA, TYPE_CODE } from '../objects/types.js';
import { PackIndex } from './idx.js';
import { indexPack } from './index-pack.js';
import { PackFile } from './pack-file.js';
import { deflateObject, PackWriter } from './pack-writer.js';
import { allObjects, buildHistoryRepo, git, removeTempDirs, tempDir, type FixtureRepo, type GitObject } from './test-fixtures.js';

describe('PackWriter output accepted by git index-pack --strict', () => {
  let repo: FixtureRepo;
  let objects: GitObject[];
  let src: PackFile;

  before(async () => {
    repo = buildHistoryRepo();
    objects = allObjects(repo.dir);
    src = await PackFile.open(repo.packPath, PackIndex.fromBuffer(fs.readFileSync(repo.idxPath)));
  });
  after(() => {
    src.close();
    removeTempDirs();
  });

  /** Writes with `write`, checks the pack with git --strict and with indexPack; returns the bytes. */
  async function writeAndCheck(count: number, write: (w: PackWriter) => Promise<void>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const w = new PackWriter((c) => {
      chunks.push(c);
    });
    await w.begin(count);
    await write(w);
    const sum = await w.finish();
    const bytes = Buffer.concat(chunks);
    assert.equal(w.position, bytes.length);
    assert.ok(sum.equals(bytes.subarray(bytes.length - 20)));
    const p = path.join(tempDir(), 'out.pack');
    fs.writeFileSync(p, bytes);
    git(repo.dir, ['index-pack', '--strict', '-o', `${p}.idx`, p]);
    const ours = await indexPack(p, { fsck: true });
    assert.ok(ours.idx.equals(fs.readFileSync(`${p}.idx`)), 'indexPack and git agree on the idx');
    assert.deepEqual(new Set(ours.objects.map((o) => o.oid)), new Set(objects.map((o) => o.oid)));
    return bytes;
  }

  /** Entries of the source pack in pack order. */
  const packOrder = () => {
    const offsets: number[] = [];
    for (const e of src.index) offsets.push(e.offset);
    return offsets.sort((a, b) => a - b);
  };

  it('writes whole objects', async () => {
    await writeAndCheck(objects.length, async (w) => {
      for (const o of objects) await w.writeWhole(TYPE_CODE[o.type], o.data);
    });
  });

  it('copies stored entries verbatim, deltas as OFS_DELTA with new distances', async () => {
    const order = packOrder();
    const newPos = new Map<number, number>();
    let deltas = 0;
    await writeAndCheck(order.length, async (w) => {
      for (const off of order) {
        const raw = src.rawEntry(off);
        newPos.set(off, w.position);
        if (raw.baseOffset !== undefined) {
          deltas++;
          await w.writeRaw(OFS_DELTA, raw.size, raw.compressed, { ofsDistance: w.position - newPos.get(raw.baseOffset)! });
        } else {
          await w.writeRaw(raw.typeCode, raw.size, raw.compressed);
        }
      }
    });
    assert.ok(deltas > 100);
  });

  it('copies deltas as REF_DELTA, in reverse pack order (bases after their deltas)', async () => {
    const order = packOrder().reverse();
    const oidAt = new Map<number, Buffer>();
    for (const e of src.index) oidAt.set(e.offset, e.oid);
    await writeAndCheck(order.length, async (w) => {
      for (const off of order) {
        const raw = src.rawEntry(off);
        if (raw.baseOffset !== undefined) await w.writeRaw(REF_DELTA, raw.size, raw.compressed, { oid: oidAt.get(raw.baseOffset)! });
        else await w.writeRaw(raw.typeCode, raw.size, raw.compressed);
      }
    });
  });

  it('awaits the sink for every chunk (backpressure) and emits the same bytes as with a sync sink', async () => {
    const sample = objects.slice(0, 40);
    const write = async (w: PackWriter) => {
      await w.begin(sample.length);
      for (const o of sample) await w.writeWhole(TYPE_CODE[o.type], o.data);
      await w.finish();
    };
    const syncChunks: Buffer[] = [];
    await write(new PackWriter((c) => void syncChunks.push(c)));
    const asyncChunks: Buffer[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    await write(
      new PackWriter(async (c) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1);
        asyncChunks.push(c);
        inFlight--;
      }),
    );
    assert.equal(maxInFlight, 1);
    assert.ok(Buffer.concat(asyncChunks).equals(Buffer.concat(syncChunks)));
  });

  it('refuses an entry count different from the one announced, and inconsistent calls', async () => {
    const sink = () => {};
    const short = new PackWriter(sink);
    await short.begin(2);
    await short.writeWhole(3, Buffer.from('a'));
    await assert.rejects(short.finish(), /1 entries written, 2 announced/);
    const long = new PackWriter(sink);
    await long.begin(1);
    await long.writeWhole(3, Buffer.from('a'));
    await assert.rejects(long.writeWhole(3, Buffer.from('b')), /more than the 1 entries announced/);
    const w = new PackWriter(sink);
    await assert.rejects(w.writeWhole(3, Buffer.from('a')), /outside begin/);
    await w.begin(3);
    await assert.rejects(w.writeRaw(OFS_DELTA, 1, Buffer.alloc(1)), /needs \{ ofsDistance \}/);
    await assert.rejects(w.writeRaw(REF_DELTA, 1, Buffer.alloc(1), { ofsDistance: 1 }), /needs \{ oid \}/);
    await assert.rejects(w.writeRaw(OFS_DELTA, 1, Buffer.alloc(1), { ofsDistance: 1 }), /reaches before the first entry/);
    await assert.rejects(w.writeRaw(3, 1, Buffer.alloc(1), { ofsDistance: 1 }), /not a delta/);
    await assert.rejects(w.writeWhole(6, Buffer.alloc(1)), /not an object type/);
  });
});

describe('deflateObject', () => {
  it("gives zlib.deflateSync's bytes for every size and kind of content, call after call on its reused context", () => {
    const text = (n: number) => Buffer.from('upload benchmark line of text\n'.repeat(Math.ceil(n / 30) + 1)).subarray(0, n);
    const sizes = [0, 1, 2, 100, 1000, 16383, 16384, 65535, 65536, 65537, 200_000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1];
    let calls = 0;
    for (const size of sizes) {
      // Random bytes do not compress: zlib's stored blocks make the stream longer than the data.
      for (const data of [text(size), crypto.randomBytes(size), Buffer.alloc(size)]) {
        const got = deflateObject(data);
        const level = data.length > 1 << 20 ? 1 : 6;
        assert.ok(got.equals(zlib.deflateSync(data, { level })), `${size} bytes`);
        assert.ok(zlib.inflateSync(got).equals(data));
        calls++;
      }
    }
    const kept = deflateObject(text(5000));
    const copy = Buffer.from(kept);
    deflateObject(crypto.randomBytes(5000));
    assert.ok(kept.equals(copy), 'an earlier result stays as it was');
    assert.equal(calls, sizes.length * 3);
  });
});
