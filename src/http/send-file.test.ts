import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileReader, sendRange } from './send-file.js';

/** A response that takes its time: each write is acknowledged a millisecond later; records copies of what it got. */
function slowOut(): { out: Writable; bytes: () => Buffer; buffers: Set<ArrayBufferLike> } {
  const parts: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const out = new Writable({
    highWaterMark: 0,
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      buffers.add(chunk.buffer);
      setTimeout(cb, 1);
    },
  });
  return { out, bytes: () => Buffer.concat(parts), buffers };
}

describe('send-file: file bytes through reused buffers', () => {
  let dir = '';
  let file = '';
  const data = crypto.randomBytes((5 << 20) + 12345);
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'send-file-'));
    file = path.join(dir, 'f');
    await fsp.writeFile(file, data);
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('sends a whole file and ranges of it exactly; the next send reuses the same buffers', async () => {
    const fh = await fsp.open(file, 'r');
    try {
      const a = slowOut();
      await sendRange(a.out, fileReader(fh), 0, data.length - 1);
      assert.ok(a.bytes().equals(data));
      const b = slowOut();
      await sendRange(b.out, fileReader(fh), 1000, (3 << 20) + 7);
      assert.ok(b.bytes().equals(data.subarray(1000, (3 << 20) + 8)));
      // Two 1 MiB buffers for both sends, six reads each: a read stream would have allocated one per read.
      assert.ok(a.buffers.size <= 2, `${a.buffers.size} buffers`);
      for (const buf of b.buffers) assert.ok(a.buffers.has(buf), 'the second send allocated a buffer of its own');
    } finally {
      await fh.close();
    }
  });

  it('fails (never hangs) when the file is shorter than the range or the response goes away', async () => {
    const fh = await fsp.open(file, 'r');
    try {
      await assert.rejects(sendRange(slowOut().out, fileReader(fh), 0, data.length + 10), /ended at byte/);
      const { out } = slowOut();
      setTimeout(() => out.destroy(), 2);
      await assert.rejects(sendRange(out, fileReader(fh), 0, data.length - 1));
    } finally {
      await fh.close();
    }
  });
});
