import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { generateToken, hashPassword, hashToken, verifyPassword } from './tokens.js';

describe('tokens', () => {
  it('generates hf_ + 37 base62 characters, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = generateToken();
      assert.match(t, /^hf_[A-Za-z0-9]{37}$/);
      seen.add(t);
    }
    assert.equal(seen.size, 200);
  });

  it('draws characters without bias towards the start of the alphabet', () => {
    const counts = new Map<string, number>();
    const n = 3000;
    for (let i = 0; i < n; i++) for (const c of generateToken().slice(3)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 62, 'every base62 character occurs');
    // With "byte % 62", A-H come up 5/4 as often as the rest (5 bytes map to each vs 4).
    const mean = (n * 37) / 62;
    const early = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'].reduce((s, c) => s + counts.get(c)!, 0) / 8;
    assert.ok(Math.abs(early / mean - 1) < 0.08, `A-H appear ${(early / mean).toFixed(3)}x as often as the mean`);
  });

  it('hashes tokens to hex SHA-256', () => {
    assert.equal(hashToken('hf_abc'), crypto.createHash('sha256').update('hf_abc').digest('hex'));
    assert.match(hashToken(generateToken()), /^[0-9a-f]{64}$/);
    assert.notEqual(hashToken('hf_a'), hashToken('hf_b'));
  });
});

describe('passwords', () => {
  it('hash with scrypt (N=2^15, r=8, p=1), salted, and verify', async () => {
    const h = await hashPassword('correct horse');
    assert.match(h, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.notEqual(await hashPassword('correct horse'), h, 'a fresh salt each time');
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct horsE', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.equal(await verifyPassword('pässwörd', await hashPassword('pässwörd')), true);
  });

  it('a malformed or weakened stored hash never verifies', async () => {
    const h = await hashPassword('pw');
    const [, N, r, p, salt, hash] = h.split('$');
    for (const bad of [
      '',
      'plain',
      `bcrypt$${N}$${r}$${p}$${salt}$${hash}`,
      `scrypt$${N}$${r}$${p}$${salt}$`, // an empty hash must not "match" an empty derivation
      `scrypt$${N}$${r}$${p}$$${hash}`,
      `scrypt$1024$${r}$${p}$${salt}$${hash}`, // too cheap
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${hash}`, // too costly
      `scrypt$30000$${r}$${p}$${salt}$${hash}`, // not a power of two
      `${h}$extra`,
    ]) {
      assert.equal(await verifyPassword('pw', bad), false, bad);
    }
  });
});
