import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPart, WORKER_MIN_BYTES } from './part-file.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * Pushes `data[from..]` the way the transport does: 64 KiB at a time from one scratch buffer that
 * is overwritten right after each push (a part must copy at once), waiting when a push asks.
 */
async function pushFrom(part: Awaited<ReturnType<typeof openPart>>, data: Buffer, from: number): Promise<number> {
  const scratch = Buffer.alloc(64 << 10);
  let waits = 0;
  for (let at = from; at < data.length; ) {
    const n = data.copy(scratch, 0, at, Math.min(at + scratch.length, data.length));
    const r = part.push(scratch.subarray(0, n));
    scratch.fill(0xee);
    at += n;
    if (r) {
      waits++;
      await r;
    }
  }
  return waits;
}

describe('part file: bytes copied at once, written and hashed in order, resumable', () => {
  let dir = '';
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'part-file-'));
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  for (const [name, size] of [
    ['small (hashed on the event loop)', (3 << 20) + 777],
    ['large (a worker writes and hashes)', WORKER_MIN_BYTES + (4 << 20) + 333],
  ] as const) {
    it(`${name}: a download cut halfway and resumed from the part file gives the object`, async () => {
      const data = crypto.randomBytes(size);
      const file = path.join(dir, `${size}.part`);
      const seen: number[] = [];
      // The first run stops after ~40%: what it wrote stays.
      const first = await openPart(file, size, (n) => seen.push(n));
      await pushFrom(first, data.subarray(0, Math.floor(size * 0.4)), 0);
      const kept = await first.flush();
      await first.close();
      assert.equal(kept, Math.floor(size * 0.4));
      // Growth is reported in order, never past what is in the file.
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
      assert.equal(seen.at(-1), kept);

      const second = await openPart(file, size, () => undefined);
      assert.equal(second.written, kept);
      await pushFrom(second, data, kept);
      assert.equal(await second.digest(), sha256(data));
      await second.sync();
      await second.close();
      assert.ok((await fsp.readFile(file)).equals(data));
    });
  }

  it('restart empties the file and the hash', async () => {
    const size = WORKER_MIN_BYTES + 100;
    const file = path.join(dir, 'restart.part');
    const part = await openPart(file, size, () => undefined);
    await pushFrom(part, crypto.randomBytes(3 << 20), 0);
    await part.restart();
    assert.equal(part.written, 0);
    const data = crypto.randomBytes(size);
    await pushFrom(part, data, 0);
    assert.equal(await part.digest(), sha256(data));
    await part.close();
    assert.equal((await fsp.stat(file)).size, size);
  });
});
