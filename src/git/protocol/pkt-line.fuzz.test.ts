import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GitFormatError } from '../../core/errors.js';
import { DELIM, FLUSH, MAX_PKT_PAYLOAD, PktReader, pktLine, type Pkt } from './pkt-line.js';

/** PACKHUB_FUZZ_RUNS raises the run count for long fuzzing sessions (scripts/fuzz.sh). */
const RUNS = Number(process.env.PACKHUB_FUZZ_RUNS) || 300;

/** Feeds `bytes` to a reader in the given chunk sizes (cycled) and reads every packet. */
async function readAll(bytes: Buffer, cuts: number[]): Promise<Pkt[]> {
  async function* chunks() {
    for (let pos = 0, i = 0; pos < bytes.length; i++) {
      const n = Math.max(1, cuts[i % cuts.length] ?? bytes.length);
      yield bytes.subarray(pos, pos + n);
      pos += n;
    }
  }
  const reader = new PktReader(chunks());
  const out: Pkt[] = [];
  for (let p = await reader.read(); p !== null; p = await reader.read()) out.push(p);
  return out;
}

const cuts = fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 });

describe('pkt-line reader (fuzz)', () => {
  it('reads back what was framed, whatever the chunking', async () => {
    const packet = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((d) => ({ kind: 'data' as const, data: Buffer.from(d) })),
      fc.constant({ kind: 'flush' as const }),
      fc.constant({ kind: 'delim' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { maxLength: 40 }), cuts, async (packets, c) => {
        const wire = Buffer.concat(packets.map((p) => (p.kind === 'data' ? pktLine(p.data) : p.kind === 'flush' ? FLUSH : DELIM)));
        const back = await readAll(wire, c);
        assert.deepEqual(back, packets);
      }),
      { numRuns: RUNS },
    );
  });

  it('takes any bytes: packets or a GitFormatError, never another error, never more than one packet buffered', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      // Mostly valid framing with garbage mixed in.
      fc.array(fc.oneof(fc.constantFrom('0000', '0001', '0002', '0003', 'ffff', 'fff0', '000a', 'zzzz', '0004'), fc.string({ maxLength: 20 })), { maxLength: 30 }).map((a) => Buffer.from(a.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, cuts, async (b, c) => {
        try {
          const packets = await readAll(Buffer.from(b), c);
          for (const p of packets) if (p.kind === 'data') assert.ok(p.data.length <= MAX_PKT_PAYLOAD + 4);
        } catch (err) {
          assert.ok(err instanceof GitFormatError, `expected a GitFormatError, got ${String(err)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
