import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../core/logger.js';
import type { UserRecord } from '../db/db.js';
import { openDb, type OpenedDb } from '../db/typeorm-db.js';
import { authenticateToken, parseBasicAuth, parseBearer } from './principal.js';
import { PRINCIPAL_TTL_MS, PrincipalCache } from './principal-cache.js';
import { generateToken, hashToken } from './tokens.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('parseBasicAuth and parseBearer', () => {
  it('parse well-formed headers', () => {
    assert.deepEqual(parseBasicAuth(`Basic ${b64('alice:hf_secret')}`), { username: 'alice', password: 'hf_secret' });
    assert.deepEqual(parseBasicAuth(`basic  ${b64('alice:pa:ss')}`), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(parseBasicAuth(`Basic ${b64(':tok')}`), { username: '', password: 'tok' });
    assert.equal(parseBearer('Bearer hf_abc'), 'hf_abc');
    assert.equal(parseBearer('bearer   hf_abc '), 'hf_abc');
  });

  it('return null for anything else', () => {
    for (const h of [undefined, null, '', 'Basic', 'Basic ', `Basic ${b64('no-colon')}`, `Bearer ${b64('a:b')}`, 'Basic !!!', `Digest ${b64('a:b')}`]) {
      assert.equal(parseBasicAuth(h), null, String(h));
    }
    for (const h of [undefined, null, '', 'Bearer', 'Bearer ', 'Bearer a b', 'Token abc', `Basic ${b64('a:b')}`]) {
      assert.equal(parseBearer(h), null, String(h));
    }
  });
});

describe('authenticateToken', () => {
  let dir: string;
  let db: OpenedDb;
  let alice: UserRecord;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-auth-'));
    db = await openDb({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, createLogger('silent'));
    alice = await db.users.create({ name: 'alice' });
    await db.users.create({ name: 'bob' });
  });
  after(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function issue(opts: { scope?: 'read' | 'write'; expiresAt?: Date | null } = {}) {
    const secret = generateToken();
    const t = await db.tokens.create({ userId: alice.id, name: 't', scope: opts.scope ?? 'write', tokenHash: hashToken(secret), expiresAt: opts.expiresAt ?? null });
    return { secret, id: t.id };
  }

  it('accepts a valid token, with or without the owner name', async () => {
    const { secret, id } = await issue({ scope: 'read' });
    const p = await authenticateToken(db, 'alice', secret);
    assert.equal(p?.user.name, 'alice');
    assert.equal(p?.scope, 'read');
    assert.equal(p?.tokenId, id);
    assert.equal((await authenticateToken(db, null, secret))?.user.id, alice.id);
  });

  it('rejects unknown secrets, another user name, and expired tokens', async () => {
    const { secret } = await issue();
    assert.equal(await authenticateToken(db, 'bob', secret), null, "bob may not use alice's token");
    assert.equal(await authenticateToken(db, 'nobody', secret), null);
    assert.equal(await authenticateToken(db, 'alice', generateToken()), null);
    assert.equal(await authenticateToken(db, 'alice', ''), null);
    assert.equal(await authenticateToken(db, null, secret.slice(0, -1)), null);
    const expired = await issue({ expiresAt: new Date(Date.now() - 1000) });
    assert.equal(await authenticateToken(db, 'alice', expired.secret), null);
    const valid = await issue({ expiresAt: new Date(Date.now() + 60_000) });
    assert.ok(await authenticateToken(db, 'alice', valid.secret));
  });

  it('records lastUsedAt, at most once a minute', async () => {
    const { secret, id } = await issue();
    const lastUsed = async () => (await db.tokens.listForUser(alice.id)).find((t) => t.id === id)!.lastUsedAt;
    assert.equal(await lastUsed(), null);
    await authenticateToken(db, 'alice', secret);
    await new Promise((r) => setTimeout(r, 50)); // the touch does not delay the request
    const first = await lastUsed();
    assert.ok(first instanceof Date);
    await new Promise((r) => setTimeout(r, 20));
    await authenticateToken(db, 'alice', secret);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await lastUsed())?.getTime(), first.getTime(), 'not written again within a minute');
    await db.dataSource.query('UPDATE tokens SET last_used_at = ? WHERE id = ?', [Date.now() - 61_000, id]);
    await db.users.setAdmin(alice.id, false); // a change through the facade ends the kept principals (the row is read again)
    await authenticateToken(db, 'alice', secret);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok((await lastUsed())!.getTime() > Date.now() - 5000, 'written again after a minute');
  });

  it('keeps a principal a few seconds, but a token deleted, a user disabled or made admin, a membership changed count at once', async () => {
    const { secret, id } = await issue();
    assert.ok(await authenticateToken(db, null, secret));
    // Changed behind the facade (as another process would): the kept principal serves on, within the TTL.
    await db.dataSource.query('UPDATE users SET is_admin = 1 WHERE id = ?', [alice.id]);
    assert.equal((await authenticateToken(db, null, secret))?.user.isAdmin, false, 'kept');
    await db.users.setAdmin(alice.id, true);
    assert.equal((await authenticateToken(db, null, secret))?.user.isAdmin, true, 'made admin here: read again');
    await db.users.setAdmin(alice.id, false);
    const org = await db.orgs.create('alicelab');
    assert.equal((await authenticateToken(db, null, secret))?.orgs.get('alicelab'), undefined);
    await db.orgs.setMember(org.id, alice.id, 'write');
    assert.equal((await authenticateToken(db, null, secret))?.orgs.get('alicelab'), 'write', 'a new membership counts at once');
    await db.orgs.removeMember(org.id, alice.id);
    assert.equal((await authenticateToken(db, null, secret))?.orgs.get('alicelab'), undefined, 'a removed one too');
    await db.users.setDisabled(alice.id, true);
    assert.equal(await authenticateToken(db, null, secret), null, 'a disabled user at once');
    await db.users.setDisabled(alice.id, false);
    assert.ok(await authenticateToken(db, null, secret));
    await db.tokens.delete(id);
    assert.equal(await authenticateToken(db, null, secret), null, 'a deleted token at once');
  });

  it('sees at once what another process changed (a replica, the CLI: another handle on the same database)', async () => {
    const { secret, id } = await issue();
    const other = await openDb({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, createLogger('silent'));
    try {
      assert.equal((await authenticateToken(db, null, secret))?.user.isAdmin, false);
      await other.users.setAdmin(alice.id, true);
      assert.equal((await authenticateToken(db, null, secret))?.user.isAdmin, true, 'made admin elsewhere');
      await other.users.setAdmin(alice.id, false);
      const org = await other.orgs.create('otherlab');
      await other.orgs.setMember(org.id, alice.id, 'read');
      assert.equal((await authenticateToken(db, null, secret))?.orgs.get('otherlab'), 'read', 'a membership added elsewhere');
      await other.tokens.delete(id);
      assert.equal(await authenticateToken(db, null, secret), null, 'a token deleted elsewhere');
    } finally {
      await other.close();
    }
  });

  it('forgets a kept principal after PRINCIPAL_TTL_MS (changes by other processes show by then)', async () => {
    const cache = new PrincipalCache(() => now);
    let now = 1000;
    const token = { id: 1, userId: alice.id, name: 't', scope: 'read' as const, tokenHash: 'h', expiresAt: null, lastUsedAt: null, createdAt: new Date() };
    cache.set('h', token, { user: alice, scope: 'read', tokenId: 1, orgs: new Map() }, 'g7');
    assert.ok(cache.get('h', 'g7'));
    assert.equal(cache.get('h', 'g8'), null, 'another generation');
    cache.set('h', token, { user: alice, scope: 'read', tokenId: 1, orgs: new Map() }, 'g7');
    now += PRINCIPAL_TTL_MS - 1;
    assert.ok(cache.get('h', 'g7'));
    now += 1;
    assert.equal(cache.get('h', 'g7'), null, 'past the TTL');
  });
});
