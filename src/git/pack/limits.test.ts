import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { OFS_DELTA, TYPE_CODE } from '../objects/types.js';
import { applyDelta, deltaResultSize } from './delta.js';
import { DeltaStreamApplier } from './delta-stream.js';
import { encodeEntryHeader, encodeOfsOffset } from './entry-header.js';
import { indexPack } from './index-pack.js';
import { varint } from './test-fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-limits-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const isFormatError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof GitFormatError, `expected a GitFormatError, got ${String(e)}`);
  assert.match(e.message, re);
  return true;
};

function rawPack(count: number, ...entries: Buffer[]): Buffer {
  const header = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  header.writeUInt32BE(count, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, crypto.createHash('sha1').update(body).digest()]);
}

let seq = 0;
async function indexBytes(pack: Buffer, maxObjectBytes?: number) {
  const file = path.join(dir, `p${seq++}.pack`);
  fs.writeFileSync(file, pack);
  return indexPack(file, { fsck: true, maxObjectBytes });
}

/** A 64 KiB blob and a delta copying all of it `copies` times (one byte per copy: 0x80 is 'copy 64 KiB from offset 0'). */
function amplifyingPack(copies: number): Buffer {
  const base = Buffer.alloc(65536, 'packhub ');
  const delta = Buffer.from([...varint(65536), ...varint(65536 * copies), ...new Array<number>(copies).fill(0x80)]);
  const first = Buffer.concat([encodeEntryHeader(TYPE_CODE.blob, base.length), zlib.deflateSync(base)]);
  const second = Buffer.concat([encodeEntryHeader(OFS_DELTA, delta.length), encodeOfsOffset(first.length), zlib.deflateSync(delta)]);
  return rawPack(2, first, second);
}

describe('object and delta size limits (index-pack)', () => {
  it('a delta whose result is over the limit is refused from its header, before anything that large is allocated', async () => {
    const pack = amplifyingPack(16384); // a few hundred bytes of pack for a 1 GiB blob
    assert.ok(pack.length < 1024, `the pack is small: ${pack.length} bytes`);
    const rss = process.memoryUsage().rss;
    await assert.rejects(indexBytes(pack, 100 << 20), isFormatError(/delta result at offset \d+ is 1073741824 bytes, over the limit of 104857600 bytes per object/));
    assert.ok(process.memoryUsage().rss - rss < 200 << 20, 'no gigabyte was allocated');
  });

  it('a whole object whose header claims more than the limit is refused before inflating', async () => {
    // A tree entry claiming 1 GiB with a tiny zlib stream.
    const entry = Buffer.concat([encodeEntryHeader(TYPE_CODE.tree, 1 << 30), zlib.deflateSync(Buffer.alloc(0))]);
    const rss = process.memoryUsage().rss;
    await assert.rejects(indexBytes(rawPack(1, entry), 100 << 20), isFormatError(/^tree at offset 12 is 1073741824 bytes, over the limit/));
    assert.ok(process.memoryUsage().rss - rss < 200 << 20, 'no gigabyte was allocated');
    const blob = Buffer.concat([encodeEntryHeader(TYPE_CODE.blob, (100 << 20) + 1), zlib.deflateSync(Buffer.alloc(0))]);
    await assert.rejects(indexBytes(rawPack(1, blob), 100 << 20), isFormatError(/^blob at offset 12 is 104857601 bytes, over the limit/));
  });

  it('objects up to the limit pass, and the inflated size of the pack is counted (delta results whole)', async () => {
    const indexed = await indexBytes(amplifyingPack(4), 1 << 20);
    assert.equal(indexed.objects.length, 2);
    assert.equal(indexed.inflatedBytes, 65536 + 4 * 65536);
    await assert.rejects(indexBytes(amplifyingPack(17), 1 << 20), isFormatError(/over the limit of 1048576/));
  });

  it('applyDelta refuses a result over maxResult before allocating; deltaResultSize reads the header', () => {
    const base = Buffer.alloc(65536);
    const delta = Buffer.from([...varint(65536), ...varint(65536 * 16384), ...new Array<number>(16384).fill(0x80)]);
    assert.equal(deltaResultSize(delta), 1 << 30);
    assert.equal(deltaResultSize(Buffer.from([0x80])), -1);
    assert.throws(() => applyDelta(base, delta, 0, 100 << 20), isFormatError(/over the limit/));
  });
});

describe('DeltaStreamApplier', () => {
  /** A random valid delta against `base`, and the result it must produce. */
  function randomDelta(base: Buffer, seed: number): { delta: Buffer; result: Buffer } {
    let x = seed;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    const ops: number[] = [];
    const parts: Buffer[] = [];
    for (let k = 0; k < 200; k++) {
      if (rand(2) === 0) {
        const n = 1 + rand(127);
        const data = crypto.randomBytes(n);
        ops.push(n, ...data);
        parts.push(data);
      } else {
        const size = 1 + rand(Math.min(70000, base.length));
        const offset = rand(base.length - size + 1);
        ops.push(0x80 | 0x0f | 0x70, offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, (offset >>> 24) & 0xff, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff);
        parts.push(base.subarray(offset, offset + size));
      }
    }
    const result = Buffer.concat(parts);
    return { delta: Buffer.from([...varint(base.length), ...varint(result.length), ...ops]), result };
  }

  it('produces what applyDelta produces, whatever the pieces the delta arrives in', () => {
    const base = crypto.randomBytes(300_000);
    for (const seed of [1, 2, 3]) {
      const { delta, result } = randomDelta(base, seed);
      assert.deepEqual(applyDelta(base, delta), result);
      for (const piece of [1, 7, 4096, delta.length]) {
        const out = path.join(dir, `out-${seed}-${piece}`);
        const fd = fs.openSync(out, 'w');
        const a = new DeltaStreamApplier({ size: base.length, read: (pos, len, into) => void base.copy(into, 0, pos, pos + len) }, fd);
        for (let i = 0; i < delta.length; i += piece) a.push(delta.subarray(i, i + piece));
        assert.equal(a.finish(), result.length);
        fs.closeSync(fd);
        assert.ok(fs.readFileSync(out).equals(result), `seed ${seed}, pieces of ${piece}`);
      }
    }
  });

  it('refuses what applyDelta refuses', () => {
    const base = Buffer.alloc(100);
    const fd = fs.openSync(path.join(dir, 'bad'), 'w');
    const run = (delta: number[], max = Infinity) => {
      const a = new DeltaStreamApplier({ size: base.length, read: (pos, len, into) => void base.copy(into, 0, pos, pos + len) }, fd, max);
      a.push(Buffer.from(delta));
      a.finish();
    };
    assert.throws(() => run([50, 10, 0x90, 10]), isFormatError(/base size mismatch/));
    assert.throws(() => run([100, 10, 0x91, 95, 10]), isFormatError(/copies bytes 95..105/));
    assert.throws(() => run([100, 5, 0x90, 10]), isFormatError(/result size mismatch/));
    assert.throws(() => run([100, 20, 0x90, 10]), isFormatError(/result size mismatch/));
    assert.throws(() => run([100, 10, 0]), isFormatError(/reserved opcode/));
    assert.throws(() => run([100, 10, 0x90]), isFormatError(/truncated/));
    fs.closeSync(fd);
    assert.throws(() => run([100, 10, 0x90, 10], 5), isFormatError(/over the limit of 5/));
  });
});
