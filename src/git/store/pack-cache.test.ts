import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackIndex } from '../pack/idx.js';
import type { PackFile } from '../pack/pack-file.js';
import { LoadedPack, parsedCacheStats } from './pack-cache.js';

describe('parsed-object cache', () => {
  it('is bounded by bytes as well as entries: large parsed trees evict the least recently used', () => {
    const pack = new LoadedPack('repo', 'a'.repeat(40), null as unknown as PackFile, null as unknown as PackIndex, 0);
    // 1,000 trees of 1,000 entries: about 200 MB parsed if all were kept.
    const tree = (i: number) => Array.from({ length: 1000 }, (_, j) => ({ mode: '100644', name: `file-${i}-${j}.txt`, oid: 'b'.repeat(40) }));
    for (let i = 0; i < 1000; i++) {
      pack.remember(12 + i, tree(i));
      if (i % 50 === 0) assert.ok(pack.parsed(12), 'a tree in use stays');
    }
    const { entries, bytes } = parsedCacheStats();
    assert.ok(bytes <= 32 << 20, `estimated ${bytes} bytes`);
    assert.ok(entries < 1000 && entries > 100, `${entries} entries kept`);
    assert.ok(pack.parsed(12 + 999), 'the newest is kept');
    assert.equal(pack.parsed(12 + 1), undefined, 'an old one is gone');
    assert.ok(pack.parsed(12), 'the one used recently is kept');
  });
});
