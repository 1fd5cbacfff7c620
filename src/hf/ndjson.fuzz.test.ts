import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../core/errors.js';
import { ndjsonLines } from './ndjson.js';

/** PACKHUB_FUZZ_RUNS raises the run count for long fuzzing sessions (scripts/fuzz.sh). */
const RUNS = Number(process.env.PACKHUB_FUZZ_RUNS) || 300;

async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = Math.max(1, cuts[i % cuts.length]!);
    yield bytes.subarray(pos, pos + n);
    pos += n;
  }
}

const cuts = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 });

describe('NDJSON commit lines (fuzz)', () => {
  it('yields the values that were written, whatever the chunking', async () => {
    const value = fc.jsonValue().filter((v) => v !== null);
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 20 }), cuts, async (values, c) => {
        const body = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''));
        const back: unknown[] = [];
        for await (const v of ndjsonLines(chunked(body, c), 1 << 20)) back.push(v);
        assert.deepEqual(back, JSON.parse(JSON.stringify(values)));
      }),
      { numRuns: RUNS },
    );
  });

  it('any bytes: values, or an AppError (bad JSON, a line over the limit), never more than the limit buffered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), cuts, fc.integer({ min: 1, max: 500 }), async (b, c, limit) => {
        try {
          for await (const _ of ndjsonLines(chunked(Buffer.from(b), c), limit)) {
            // consumed
          }
        } catch (err) {
          assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
          assert.ok(['BadRequest', 'PayloadTooLarge'].includes(err.code), err.code);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
