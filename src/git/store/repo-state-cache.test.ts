import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepoStateCache, type RepoState } from './repo-state-cache.js';

describe('RepoStateCache', () => {
  const state = (oid: string): RepoState => ({ refs: [{ name: 'refs/heads/main', oid, peeled: null }], packs: ['p'], epoch: 0 });

  it('reads a repository once per state version; a new version (a change by any process) reads again at once', async () => {
    let head = 'a'.repeat(40);
    let reads = 0;
    const cache = new RepoStateCache(async () => (reads++, state(head)));
    const [x, y] = await Promise.all([cache.get('r', 11), cache.get('r', 11)]);
    assert.equal(reads, 1, 'concurrent callers share one read');
    assert.equal(x, y);
    assert.equal((await cache.get('r', 11)).refs[0]!.oid, head);
    assert.equal(reads, 1);
    head = 'b'.repeat(40);
    assert.equal((await cache.get('r', 12)).refs[0]!.oid, head, 'the new version is read');
    assert.equal(reads, 2);
    cache.forget('r');
    await cache.get('r', 12);
    assert.equal(reads, 3, 'a forgotten repository is read again');
  });

  it('keeps no failed read', async () => {
    let fail = true;
    const cache = new RepoStateCache(async () => {
      if (fail) throw new Error('db down');
      return state('c'.repeat(40));
    });
    await assert.rejects(cache.get('r', 1), /db down/);
    fail = false;
    assert.equal((await cache.get('r', 1)).refs[0]!.oid, 'c'.repeat(40));
  });
});
