import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { OidSet } from './oid-set.js';

describe('OidSet', () => {
  it('holds what was added, with its value, through growth, and nothing else', () => {
    const set = new OidSet(4);
    const ids = Array.from({ length: 5000 }, () => crypto.randomBytes(20));
    // Ids sharing their first four bytes collide on purpose.
    const twin = Buffer.from(ids[0]!);
    twin[19] ^= 1;
    for (const [i, id] of ids.entries()) assert.equal(set.add(id, 0, i), true);
    assert.equal(set.add(ids[7]!, 0, 99), false, 'a second add keeps the first value');
    assert.equal(set.has(twin), false);
    assert.equal(set.add(twin, 0, -1), true);
    const inside = Buffer.concat([Buffer.from('xx'), ids[3]!]);
    assert.equal(set.has(inside, 2), true);
    assert.equal(set.size, 5001);
    const all = new Map(set.entries());
    assert.equal(all.size, 5001);
    for (const [i, id] of ids.entries()) assert.equal(all.get(id.toString('hex')), i);
    assert.equal(all.get(twin.toString('hex')), -1);
    assert.equal(set.has(crypto.randomBytes(20)), false);
  });
});
