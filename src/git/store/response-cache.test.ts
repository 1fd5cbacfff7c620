import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ResponseCache } from './response-cache.js';

describe('ResponseCache', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-responses-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps committed responses by pack and request, drops aborted ones, evicts the least recently used', () => {
    const cache = new ResponseCache(dir, 4000);
    const put = (pack: string, key: string, size: number) => {
      const r = cache.record(pack, key);
      r.write(Buffer.alloc(size, 1));
      r.commit();
    };
    put('p1', 'a', 900);
    put('p1', 'b', 900);
    assert.ok(cache.find('p1', 'a'));
    assert.equal(cache.find('p2', 'a'), null, 'another pack is another response');
    assert.equal(fs.readFileSync(cache.find('p1', 'b')!).length, 900);
    const aborted = cache.record('p1', 'c');
    aborted.write(Buffer.alloc(10));
    aborted.abort();
    assert.equal(cache.find('p1', 'c'), null);
    put('p1', 'big', 1500); // over a quarter of the budget: not kept
    assert.equal(cache.find('p1', 'big'), null);
    cache.find('p1', 'a'); // a is now more recent than b
    for (const k of ['d', 'e', 'f']) put('p1', k, 900);
    assert.equal(cache.find('p1', 'b'), null, 'the least recently used went first');
    assert.ok(cache.find('p1', 'f'));
    assert.deepEqual(fs.readdirSync(dir).filter((n) => !n.endsWith('.pack')), [], 'no temp file is left');
    // A new process finds what is on disk.
    const again = new ResponseCache(dir, 4000);
    assert.ok(again.find('p1', 'f'));
  });
});
