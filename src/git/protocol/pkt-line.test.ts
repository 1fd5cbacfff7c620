import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { FLUSH, PktReader, pktLine } from './pkt-line.js';

async function* pieces(buf: Buffer, size = 7) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const readAll = async (r: PktReader) => {
  let n = 0;
  while ((await r.read()) !== null) n++;
  return n;
};

describe('PktReader limits', () => {
  const lines = Buffer.concat([...Array.from({ length: 100 }, (_, i) => pktLine(`have ${String(i).padStart(40, '0')}\n`)), FLUSH]);

  it('reads up to the limits', async () => {
    assert.equal(await readAll(new PktReader(pieces(lines), { maxPackets: 101, maxBytes: lines.length })), 101);
  });

  it('refuses more packets or more bytes than allowed', async () => {
    await assert.rejects(readAll(new PktReader(pieces(lines), { maxPackets: 100 })), (e: unknown) => e instanceof GitFormatError && /more than 100 pkt-lines/.test(e.message));
    await assert.rejects(readAll(new PktReader(pieces(lines), { maxBytes: lines.length - 1 })), (e: unknown) => e instanceof GitFormatError && /more than \d+ bytes of pkt-lines/.test(e.message));
    // Flushes count too: a stream of nothing but flushes ends.
    await assert.rejects(readAll(new PktReader(pieces(Buffer.from('0000'.repeat(1000))), { maxPackets: 10 })), /more than 10 pkt-lines/);
  });

  it('what follows the packets (a pack) is not counted', async () => {
    const r = new PktReader(pieces(Buffer.concat([pktLine('x\n'), FLUSH, Buffer.alloc(1000, 1)])), { maxPackets: 2, maxBytes: 10 });
    assert.equal((await r.read())!.kind, 'data');
    assert.equal((await r.read())!.kind, 'flush');
    let rest = 0;
    for await (const c of r.rest()) rest += c.length;
    assert.equal(rest, 1000);
  });
});
