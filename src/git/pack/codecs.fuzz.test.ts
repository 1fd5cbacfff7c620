import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { GitFormatError } from '../../core/errors.js';
import { applyDelta, readDeltaSizes } from './delta.js';
import { decodeEntryHeader, decodeOfsOffset, encodeEntryHeader, encodeOfsOffset } from './entry-header.js';
import { PackIndex, writeIndex } from './idx.js';
import { indexPack } from './index-pack.js';
import { buildHistoryRepo, removeTempDirs, tempDir, varint } from './test-fixtures.js';

/** PACKHUB_FUZZ_RUNS raises the run count for long fuzzing sessions (scripts/fuzz.sh). */
const RUNS = Number(process.env.PACKHUB_FUZZ_RUNS) || 300;

const formatErrorOnly = (err: unknown) => assert.ok(err instanceof GitFormatError, `expected a GitFormatError, got ${err instanceof Error ? err.stack : String(err)}`);


type Op = { copy: [number, number] } | { insert: Uint8Array };

/** Encodes delta instructions (copy: offset and size bytes as git writes them). */
function encodeDelta(baseSize: number, ops: Op[]): { delta: Buffer; resultSize: number } {
  const body: number[] = [];
  let resultSize = 0;
  for (const op of ops) {
    if ('insert' in op) {
      body.push(op.insert.length, ...op.insert);
      resultSize += op.insert.length;
    } else {
      const [offset, size] = op.copy;
      let code = 0x80;
      const args: number[] = [];
      for (let i = 0; i < 4; i++) {
        const b = (offset >>> (8 * i)) & 0xff;
        if (b) {
          code |= 1 << i;
          args.push(b);
        }
      }
      const enc = size === 0x10000 ? 0 : size;
      for (let i = 0; i < 3; i++) {
        const b = (enc >>> (8 * i)) & 0xff;
        if (b) {
          code |= 0x10 << i;
          args.push(b);
        }
      }
      body.push(code, ...args);
      resultSize += size;
    }
  }
  return { delta: Buffer.from([...varint(baseSize), ...varint(resultSize), ...body]), resultSize };
}

describe('pack codecs (fuzz)', () => {
  it('entry headers and ofs-delta offsets decode to what was encoded', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 4, 6, 7), fc.maxSafeNat().map((n) => n % 2 ** 50), fc.integer({ min: 1, max: 2 ** 45 }), (type, size, distance) => {
        const h = encodeEntryHeader(type, size);
        assert.deepEqual(decodeEntryHeader(h, 0), { typeCode: type, size, length: h.length });
        const o = encodeOfsOffset(distance);
        assert.deepEqual(decodeOfsOffset(o, 0), { distance, length: o.length });
      }),
      { numRuns: RUNS },
    );
  });

  it('entry headers and ofs-delta offsets take any bytes: a safe integer or a GitFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        for (const decode of [() => decodeEntryHeader(Buffer.from(b), 0).size, () => decodeOfsOffset(Buffer.from(b), 0).distance]) {
          try {
            assert.ok(Number.isSafeInteger(decode()));
          } catch (err) {
            formatErrorOnly(err);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('applies well-formed deltas exactly', () => {
    const base = fc.uint8Array({ minLength: 1, maxLength: 3000 });
    fc.assert(
      fc.property(base, fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 127 })), { maxLength: 30 }), (b, raw) => {
        const baseBuf = Buffer.from(b);
        const ops: Op[] = raw.map(([isCopy, x, y, bytes]) => {
          if (!isCopy) return { insert: bytes };
          const offset = x % baseBuf.length;
          return { copy: [offset, 1 + (y % (baseBuf.length - offset))] };
        });
        const { delta, resultSize } = encodeDelta(baseBuf.length, ops);
        const expected = Buffer.concat(ops.map((op) => ('insert' in op ? Buffer.from(op.insert) : baseBuf.subarray(op.copy[0], op.copy[0] + op.copy[1]))));
        assert.equal(readDeltaSizes(delta).resultSize, resultSize);
        assert.deepEqual(applyDelta(baseBuf, delta), expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('takes any delta bytes: a result of the declared size or a GitFormatError, never a huge allocation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), (b, d) => {
        const delta = Buffer.from(d);
        try {
          const out = applyDelta(Buffer.from(b), delta);
          assert.equal(out.length, readDeltaSizes(delta).resultSize);
          // Each instruction byte yields at most 64 KiB (a copy) or its own literal bytes.
          assert.ok(out.length <= delta.length * 0x10000);
        } catch (err) {
          formatErrorOnly(err);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('pack indexes: written ones parse back; mutated ones parse or fail with a GitFormatError', () => {
    const entries = fc.uniqueArray(fc.uint8Array({ minLength: 20, maxLength: 20 }), { maxLength: 60, selector: (o) => Buffer.from(o).toString('hex') });
    fc.assert(
      fc.property(entries, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.boolean(), (oids, flips, reseal) => {
        const list = oids.map((o, i) => ({ oid: Buffer.from(o), offset: 12 + i * 100 + (i % 7 === 6 ? 2 ** 33 : 0), crc: i * 2654435761 >>> 0 }));
        list.sort((a, b) => a.oid.compare(b.oid));
        const packSum = crypto.randomBytes(20);
        const idx = writeIndex(list, packSum);
        const parsed = PackIndex.fromBuffer(idx);
        assert.equal(parsed.count, list.length);
        for (let i = 0; i < list.length; i++) assert.deepEqual(parsed.oidAt(i), list[i]!.oid);
        const bad = Buffer.from(idx);
        for (const [at, v] of flips) bad[at % bad.length] = v;
        if (reseal) crypto.createHash('sha1').update(bad.subarray(0, bad.length - 20)).digest().copy(bad, bad.length - 20);
        try {
          const p = PackIndex.fromBuffer(bad);
          for (let i = 0; i < p.count; i++) p.oidAt(i);
        } catch (err) {
          formatErrorOnly(err);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('index-pack on damaged packs (fuzz)', () => {
  let packBytes: Buffer;
  let dir: string;
  before(() => {
    // A real pack written by git: commits, trees, blobs, deltas (ofs and chains).
    packBytes = fs.readFileSync(buildHistoryRepo({ commits: 12 }).packPath);
    dir = tempDir('packhub-fuzz-');
  });
  after(removeTempDirs);

  it('refuses or indexes every mutation with a GitFormatError at worst, resealed trailer or not', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.option(fc.nat(), { nil: undefined }),
        async (flips, reseal, cut) => {
          let bad = Buffer.from(packBytes);
          const body = bad.length - 20;
          // Leave the 'PACK' signature alone mostly: the interesting parsing is behind it.
          for (const [at, v] of flips) bad[12 + (at % (body - 12))] = v;
          if (cut !== undefined) bad = bad.subarray(0, cut % bad.length);
          if (reseal && bad.length > 32) crypto.createHash('sha1').update(bad.subarray(0, bad.length - 20)).digest().copy(bad, bad.length - 20);
          const file = path.join(dir, `m${n++}.pack`);
          fs.writeFileSync(file, bad);
          try {
            await indexPack(file);
          } catch (err) {
            formatErrorOnly(err);
          } finally {
            fs.rmSync(file, { force: true });
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
