import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { objectError, parseBatchRequest } from './batch.js';
import { formatPointer, parsePointer } from './pointer.js';

/** PACKHUB_FUZZ_RUNS raises the run count for long fuzzing sessions (scripts/fuzz.sh). */
const RUNS = Number(process.env.PACKHUB_FUZZ_RUNS) || 300;

const oid = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

describe('LFS parsers (fuzz)', () => {
  it('batch requests: any JSON value is a request or a message, never an exception', () => {
    const objects = fc.array(fc.oneof(fc.record({ oid: fc.oneof(oid, fc.string()), size: fc.oneof(fc.integer(), fc.double(), fc.string()) }), fc.anything()), { maxLength: 20 });
    const body = fc.oneof(fc.anything(), fc.record({ operation: fc.constantFrom('upload', 'download', 'x'), objects, hash_algo: fc.option(fc.string()), transfers: fc.anything(), ref: fc.anything() }, { requiredKeys: [] }));
    fc.assert(
      fc.property(body, (b) => {
        const r = parseBatchRequest(b);
        if (typeof r === 'string') return;
        for (const o of r.objects) {
          const bad = objectError(o.oid, o.size);
          if (!bad) {
            assert.match(o.oid, /^[0-9a-f]{64}$/);
            assert.ok(Number.isSafeInteger(o.size) && o.size >= 0);
          }
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('pointers: formatted ones parse back; any bytes are a pointer or null', () => {
    fc.assert(
      fc.property(oid, fc.maxSafeNat(), fc.uint8Array({ maxLength: 1200 }), (o, size, junk) => {
        assert.deepEqual(parsePointer(formatPointer({ oid: o, size })), { oid: o, size });
        const p = parsePointer(Buffer.concat([Buffer.from('version https://git-lfs.github.com/spec/v1\n'), Buffer.from(junk)]));
        if (p) {
          assert.match(p.oid, /^[0-9a-f]{64}$/);
          assert.ok(Number.isSafeInteger(p.size) && p.size >= 0);
        }
        parsePointer(Buffer.from(junk));
      }),
      { numRuns: RUNS },
    );
  });
});
