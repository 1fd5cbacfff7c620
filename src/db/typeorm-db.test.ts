import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { AppError } from '../core/errors.js';
import { STALE_OBJECTS, type RefUpdate, type RefUpdateResult } from './db.js';
import { createDataSource } from './data-source.js';
import { PackEntity } from './entities/index.js';
import { openDb, type OpenedDb } from './typeorm-db.js';

const PG_URL = process.env.PACKHUB_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const configs: [string, () => { db: Config['database']; cleanup: () => Promise<void> }][] = [
  [
    'sqlite',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-db-'));
      return { db: { kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'postgres',
    () => {
      const schema = `packhub_u_${crypto.randomBytes(5).toString('hex')}`;
      return {
        db: { kind: 'postgres', url: `${PG_URL}?schema=${schema}` },
        cleanup: async () => {
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await c.end();
        },
      };
    },
  ],
];

for (const [kind, make] of configs) {
  describe(`database (${kind})`, () => {
    let db: OpenedDb;
    let cleanup: () => Promise<void>;
    let repoId: string;

    before(async () => {
      const c = make();
      cleanup = c.cleanup;
      db = await openDb(c.db, createLogger('silent'));
      repoId = (await db.repos.create({ type: 'model', namespace: 'alice', name: 'r' })).id;
    });
    after(async () => {
      await db?.close();
      await cleanup?.();
    });

    it('migrations leave no difference between the schema and the entities', async () => {
      const pending = await db.dataSource.driver.createSchemaBuilder().log();
      assert.deepEqual(pending.upQueries.map((q) => q.query), []);
    });

    it('users: create, find, duplicates and organization names are conflicts', async () => {
      const u = await db.users.create({ name: 'alice', email: 'a@example.com', isAdmin: true, passwordHash: 'scrypt$x' });
      assert.equal(typeof u.id, 'number');
      assert.deepEqual({ ...u, createdAt: undefined }, { id: u.id, name: 'alice', email: 'a@example.com', isAdmin: true, passwordHash: 'scrypt$x', disabled: false, fullname: null, avatarUrl: null, createdAt: undefined });
      assert.ok(u.createdAt instanceof Date);
      assert.equal((await db.users.findByName('alice'))?.id, u.id);
      assert.equal((await db.users.findById(u.id))?.name, 'alice');
      assert.equal(await db.users.findByName('Alice'), null, 'names are case-sensitive');
      assert.equal(await db.users.findById(u.id + 1000), null);
      await assert.rejects(db.users.create({ name: 'alice' }), (e: unknown) => e instanceof AppError && e.kind === 'conflict' && e.code === 'UserExists');
      const bob = await db.users.create({ name: 'bob' });
      assert.deepEqual([bob.email, bob.isAdmin, bob.passwordHash], [null, false, null]);
      await db.orgs.create('acme');
      await assert.rejects(db.users.create({ name: 'acme' }), (e: unknown) => e instanceof AppError && e.code === 'NameTaken');
    });

    it('user and organization names are unique regardless of letter case, also under concurrent creation', async () => {
      await assert.rejects(db.users.create({ name: 'ACME' }), (e: unknown) => e instanceof AppError && e.code === 'NameTaken' && /organization 'acme'/.test(e.message));
      await assert.rejects(db.orgs.create('Alice'), (e: unknown) => e instanceof AppError && e.code === 'NameTaken' && /user 'alice'/.test(e.message));
      await assert.rejects(db.orgs.create('acme'), (e: unknown) => e instanceof AppError && e.code === 'NameTaken');
      await assert.rejects(db.users.create({ name: 'BOB' }), (e: unknown) => e instanceof AppError && e.code === 'NameTaken');
      assert.deepEqual(await db.names.holder('ALICE'), { kind: 'user', name: 'alice' });
      assert.deepEqual(await db.names.holder('Acme'), { kind: 'org', name: 'acme' });
      assert.equal(await db.names.holder('nobody'), null);
      // Ten concurrent creations of one name in different cases (users and organizations): one wins.
      const variants = ['Dave', 'dave', 'DAVE', 'daVe', 'DaVe', 'dAVE', 'davE', 'DAve', 'dAve', 'DAvE'];
      const results = await Promise.allSettled(variants.map((n, i) => (i % 2 ? db.users.create({ name: n }) : db.orgs.create(n))));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AppError && r.reason.kind === 'conflict', String(r.reason));
      const users = (await Promise.all(variants.map((n) => db.users.findByName(n)))).filter(Boolean);
      const orgs = (await Promise.all(variants.map((n) => db.orgs.findByName(n)))).filter(Boolean);
      assert.equal(users.length + orgs.length, 1);
    });

    it('sessions: stored by hash, expire, end on logout, password change and disabling', async () => {
      const u = await db.users.create({ name: 'sess-user', passwordHash: 'scrypt$x' });
      const h = (c: string) => c.repeat(64);
      const in1h = new Date(Date.now() + 3_600_000);
      const s1 = await db.sessions.create({ idHash: h('1'), userId: u.id, expiresAt: in1h });
      assert.deepEqual([s1.userId, s1.expiresAt.getTime()], [u.id, in1h.getTime()]);
      assert.ok(s1.createdAt instanceof Date && s1.lastSeenAt instanceof Date);
      assert.equal((await db.sessions.find(h('1')))?.expiresAt.getTime(), in1h.getTime());
      await db.sessions.create({ idHash: h('2'), userId: u.id, expiresAt: in1h });
      await db.sessions.delete(h('1'));
      assert.equal(await db.sessions.find(h('1')), null);
      // A password change ends the user's sessions but the one kept.
      await db.sessions.create({ idHash: h('3'), userId: u.id, expiresAt: in1h });
      await db.users.setPassword(u.id, 'scrypt$y', h('3'));
      assert.equal(await db.sessions.find(h('2')), null);
      assert.ok(await db.sessions.find(h('3')));
      assert.equal((await db.users.findById(u.id))?.passwordHash, 'scrypt$y');
      await db.users.setDisabled(u.id, true);
      assert.equal(await db.sessions.find(h('3')), null, 'disabling ends every session');
      assert.equal((await db.users.findById(u.id))?.disabled, true);
      await db.users.setDisabled(u.id, false);
      // Expired sessions are removed by deleteExpired and whenever a session is created.
      await db.sessions.create({ idHash: h('4'), userId: u.id, expiresAt: new Date(Date.now() - 1000) });
      assert.equal(await db.sessions.deleteExpired(), 1);
      await db.sessions.create({ idHash: h('5'), userId: u.id, expiresAt: new Date(Date.now() - 1000) });
      await db.sessions.create({ idHash: h('6'), userId: u.id, expiresAt: in1h });
      assert.equal(await db.sessions.find(h('5')), null);
      await db.sessions.touch(h('6'));
      await db.sessions.deleteForUser(u.id);
      assert.equal(await db.sessions.find(h('6')), null);
    });

    it('tokens: stored by hash, listed, touched, expiring, deleted', async () => {
      const u = (await db.users.findByName('alice'))!;
      const expires = new Date(Date.now() + 86_400_000);
      const t = await db.tokens.create({ userId: u.id, name: 'cli', scope: 'write', tokenHash: 'f'.repeat(64), expiresAt: expires });
      const t2 = await db.tokens.create({ userId: u.id, name: 'ro', scope: 'read', tokenHash: 'e'.repeat(64) });
      const found = await db.tokens.findByHash('f'.repeat(64));
      assert.equal(found?.id, t.id);
      assert.equal(found?.scope, 'write');
      assert.equal(found?.expiresAt?.getTime(), expires.getTime());
      assert.equal(found?.lastUsedAt, null);
      assert.equal(await db.tokens.findByHash('0'.repeat(64)), null);
      await assert.rejects(db.tokens.create({ userId: u.id, name: 'dup', scope: 'read', tokenHash: 'f'.repeat(64) }));
      assert.deepEqual((await db.tokens.listForUser(u.id)).map((x) => [x.name, x.scope, x.expiresAt]), [
        ['cli', 'write', expires],
        ['ro', 'read', null],
      ]);
      const before = Date.now();
      await db.tokens.touch(t.id);
      const touched = (await db.tokens.findByHash('f'.repeat(64)))!.lastUsedAt!;
      assert.ok(touched.getTime() >= before - 1000 && touched.getTime() <= Date.now() + 1000);
      await db.tokens.delete(t2.id);
      assert.equal(await db.tokens.findByHash('e'.repeat(64)), null);
    });

    it('repositories: immutable uuid id, defaults, (type, namespace, name) unique, rename keeps the id', async () => {
      const r = (await db.repos.findById(repoId))!;
      assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.deepEqual([r.type, r.namespace, r.name, r.private, r.defaultBranch], ['model', 'alice', 'r', false, 'main']);
      await assert.rejects(db.repos.create({ type: 'model', namespace: 'alice', name: 'r' }), (e: unknown) => e instanceof AppError && e.kind === 'conflict' && e.code === 'RepoExists');
      const ds = await db.repos.create({ type: 'dataset', namespace: 'alice', name: 'r', private: true, defaultBranch: 'trunk' }); // another type, another repo
      assert.deepEqual([ds.private, ds.defaultBranch], [true, 'trunk']);
      assert.equal((await db.repos.find('model', 'alice', 'r'))?.id, repoId);
      assert.equal(await db.repos.find('space', 'alice', 'r'), null);
      assert.deepEqual((await db.repos.list({ type: 'dataset' })).map((x) => x.id), [ds.id]);
      assert.equal((await db.repos.list({ namespace: 'alice' })).length, 2);
      const moved = await db.repos.update(ds.id, { namespace: 'acme', name: 'data', private: false });
      assert.deepEqual([moved.id, moved.namespace, moved.name, moved.private], [ds.id, 'acme', 'data', false]);
      const other = await db.repos.create({ type: 'dataset', namespace: 'acme', name: 'other' });
      await assert.rejects(db.repos.update(other.id, { name: 'data' }), (e: unknown) => e instanceof AppError && e.code === 'RepoExists');
      await db.commitPush(other.id, { repoId: other.id, name: '9'.repeat(40), objectCount: 1, sizeBytes: 1, source: 'receive' }, [{ name: 'refs/heads/main', oldOid: null, newOid: A }], { atomic: true });
      assert.equal(await db.likes.like(7, other.id), true);
      await db.repos.delete(other.id);
      assert.equal(await db.repos.findById(other.id), null);
      assert.equal((await db.likes.counts([other.id])).get(other.id), 0, 'its likes went with it');
      assert.deepEqual(await db.refs.list(other.id), []);
      assert.deepEqual(await db.packs.listLive(other.id), []);
    });

    it('gated repositories: mode, access requests by state, gone with their repository or user', async () => {
      const g = await db.repos.create({ type: 'model', namespace: 'alice', name: 'gated' });
      const u1 = await db.users.create({ name: 'gate-asker', email: 'asker@example.com' });
      const u2 = await db.users.create({ name: 'gate-granted' });
      assert.equal(await db.gated.mode(g.id), false);
      await db.gated.setMode(g.id, 'manual');
      await db.gated.setMode(g.id, 'auto');
      assert.deepEqual([...(await db.gated.modes([g.id, repoId]))], [[g.id, 'auto'], [repoId, false]]);
      await db.gated.put({ repoId: g.id, userId: u1.id, status: 'pending' });
      await db.gated.put({ repoId: g.id, userId: u2.id, status: 'accepted', granted: true });
      await db.gated.put({ repoId: g.id, userId: u1.id, status: 'rejected', rejectionReason: 'no' });
      const r1 = (await db.gated.request(g.id, u1.id))!;
      assert.deepEqual([r1.status, r1.rejectionReason, r1.granted], ['rejected', 'no', false]);
      const rejected = await db.gated.list(g.id, 'rejected', 0, 10);
      assert.deepEqual(rejected.map((r) => [r.userName, r.email, r.granted]), [['gate-asker', 'asker@example.com', false]]);
      assert.deepEqual((await db.gated.list(g.id, 'accepted', 0, 10)).map((r) => [r.userName, r.granted]), [['gate-granted', true]]);
      assert.deepEqual(await db.gated.list(g.id, 'pending', 0, 10), []);
      await db.users.delete(u2.id);
      assert.equal(await db.gated.request(g.id, u2.id), null);
      await db.repos.delete(g.id);
      assert.equal(await db.gated.mode(g.id), false);
      assert.equal(await db.gated.request(g.id, u1.id), null);
      await db.gated.setMode(repoId, false);
    });

    it('refs change only by compare-and-swap', async () => {
      const push = (u: RefUpdate) => db.commitPush(repoId, null, [u], { atomic: false });
      assert.deepEqual(await push({ name: 'refs/heads/main', oldOid: null, newOid: A }), [{ name: 'refs/heads/main', ok: true }]);
      assert.deepEqual(await push({ name: 'refs/heads/main', oldOid: null, newOid: B }), [{ name: 'refs/heads/main', ok: false, reason: 'reference already exists' }]);
      assert.deepEqual(await push({ name: 'refs/heads/main', oldOid: C, newOid: B }), [{ name: 'refs/heads/main', ok: false, reason: 'failed to update ref' }]);
      assert.equal((await db.refs.get(repoId, 'refs/heads/main'))?.oid, A, 'a lost CAS changes nothing');
      assert.deepEqual(await push({ name: 'refs/heads/main', oldOid: A, newOid: B }), [{ name: 'refs/heads/main', ok: true }]);
      assert.deepEqual(await db.refs.get(repoId, 'refs/heads/main'), { name: 'refs/heads/main', oid: B, peeled: null });
      assert.deepEqual(await push({ name: 'refs/heads/main', oldOid: A, newOid: null }), [{ name: 'refs/heads/main', ok: false, reason: 'failed to update ref' }], 'a delete with a stale old value fails');
      assert.deepEqual(await push({ name: 'refs/tags/v1', oldOid: null, newOid: C, peeled: A }), [{ name: 'refs/tags/v1', ok: true }]);
      assert.deepEqual(await db.refs.get(repoId, 'refs/tags/v1'), { name: 'refs/tags/v1', oid: C, peeled: A });
      assert.deepEqual(await push({ name: 'refs/heads/gone', oldOid: null, newOid: A }), [{ name: 'refs/heads/gone', ok: true }]);
      assert.deepEqual(await push({ name: 'refs/heads/gone', oldOid: A, newOid: null }), [{ name: 'refs/heads/gone', ok: true }]);
      assert.equal(await db.refs.get(repoId, 'refs/heads/gone'), null);
      assert.deepEqual((await db.refs.list(repoId)).map((r) => r.name), ['refs/heads/main', 'refs/tags/v1']);
    });

    it('directory/file conflicts: a ref cannot be created where another is in the way', async () => {
      const push = (name: string) => db.commitPush(repoId, null, [{ name, oldOid: null, newOid: A }], { atomic: false });
      const inTheWay = (r: RefUpdateResult[], name: string) => {
        assert.equal(r[0]!.ok, false, `${name} must be rejected`);
        assert.match((r[0] as { reason: string }).reason, new RegExp(`^cannot lock ref '${name}': reference is in the way`));
      };
      inTheWay(await push('refs/heads/main/x'), 'refs/heads/main/x'); // a file where a directory would go
      inTheWay(await push('refs/heads/main/x/y'), 'refs/heads/main/x/y');
      assert.equal((await push('refs/heads/dir/leaf'))[0]!.ok, true);
      inTheWay(await push('refs/heads/dir'), 'refs/heads/dir'); // a directory where the file would go
      assert.equal((await push('refs/heads/DIR'))[0]!.ok, true, 'names compare case-sensitively');
      assert.equal((await push('refs/heads/di'))[0]!.ok, true, 'a name prefix is not a directory');
      assert.equal((await push('refs/heads/dir_x'))[0]!.ok, true, 'LIKE wildcards mean nothing in ref names');
      assert.equal((await push('refs/heads/dir-leaf'))[0]!.ok, true);
      assert.equal(await db.refs.get(repoId, 'refs/heads/main/x'), null);
      assert.equal(await db.refs.get(repoId, 'refs/heads/dir'), null);
    });

    it('atomic: all refs and the pack change together or nothing changes', async () => {
      const pack = { repoId, name: '1'.repeat(40), objectCount: 3, sizeBytes: 5_000_000_000, source: 'receive' as const };
      const r = await db.commitPush(
        repoId,
        pack,
        [
          { name: 'refs/heads/one', oldOid: null, newOid: A },
          { name: 'refs/heads/main', oldOid: C, newOid: A },
          { name: 'refs/heads/two', oldOid: null, newOid: A },
        ],
        { atomic: true },
      );
      assert.deepEqual(r, [
        { name: 'refs/heads/one', ok: false, reason: 'atomic transaction failed' },
        { name: 'refs/heads/main', ok: false, reason: 'failed to update ref' },
        { name: 'refs/heads/two', ok: false, reason: 'atomic transaction failed' },
      ]);
      assert.equal(await db.refs.get(repoId, 'refs/heads/one'), null);
      assert.equal(await db.refs.get(repoId, 'refs/heads/two'), null);
      assert.equal((await db.refs.get(repoId, 'refs/heads/main'))?.oid, B);
      assert.equal((await db.packs.listLive(repoId)).length, 0, 'the pack row rolled back too');

      const df = await db.commitPush(
        repoId,
        null,
        [
          { name: 'refs/heads/feature', oldOid: null, newOid: A },
          { name: 'refs/heads/feature/x', oldOid: null, newOid: A },
        ],
        { atomic: true },
      );
      assert.deepEqual(df.map((x) => x.ok), [false, false], 'a D/F conflict within one push fails it whole');
      assert.equal(await db.refs.get(repoId, 'refs/heads/feature'), null);

      const ok = await db.commitPush(
        repoId,
        pack,
        [
          { name: 'refs/heads/one', oldOid: null, newOid: A },
          { name: 'refs/heads/main', oldOid: B, newOid: C },
        ],
        { atomic: true },
      );
      assert.deepEqual(ok, [
        { name: 'refs/heads/one', ok: true },
        { name: 'refs/heads/main', ok: true },
      ]);
      assert.equal((await db.refs.get(repoId, 'refs/heads/main'))?.oid, C);
      const live = await db.packs.listLive(repoId);
      assert.deepEqual(
        live.map((p) => ({ ...p, createdAt: undefined })),
        [{ ...pack, createdAt: undefined, supersededAt: null, cloneKey: null }],
      );
      assert.ok(live[0]!.createdAt instanceof Date);
      // The full clone a pack answers as it is, once proven, is read back with it.
      await db.packs.setCloneKey(repoId, pack.name, 'a'.repeat(64));
      assert.equal((await db.packs.listLive(repoId))[0]!.cloneKey, 'a'.repeat(64));
    });

    it('non-atomic: the pack row commits first and each ref succeeds or fails alone', async () => {
      const pack = { repoId, name: '2'.repeat(40), objectCount: 1, sizeBytes: 10, source: 'receive' as const };
      const r = await db.commitPush(
        repoId,
        pack,
        [
          { name: 'refs/heads/n1', oldOid: null, newOid: A },
          { name: 'refs/heads/main', oldOid: A, newOid: B },
          { name: 'refs/heads/n2', oldOid: null, newOid: B },
        ],
        { atomic: false },
      );
      assert.deepEqual(r, [
        { name: 'refs/heads/n1', ok: true },
        { name: 'refs/heads/main', ok: false, reason: 'failed to update ref' },
        { name: 'refs/heads/n2', ok: true },
      ]);
      const failed = await db.commitPush(repoId, { ...pack, name: '3'.repeat(40) }, [{ name: 'refs/heads/main', oldOid: A, newOid: B }], { atomic: false });
      assert.equal(failed[0]!.ok, false);
      const names = (await db.packs.listLive(repoId)).map((p) => p.name).sort();
      assert.deepEqual(names, ['1'.repeat(40), '2'.repeat(40), '3'.repeat(40)], 'the pack is registered even when its refs fail');
      // Registering the same pack again is harmless, and makes a retired pack live again.
      await db.dataSource.getRepository(PackEntity).update({ repoId, name: '2'.repeat(40) }, { state: 'superseded' });
      assert.ok(!(await db.packs.listLive(repoId)).some((p) => p.name === '2'.repeat(40)));
      assert.deepEqual(await db.commitPush(repoId, pack, [], { atomic: false }), []);
      assert.ok((await db.packs.listLive(repoId)).some((p) => p.name === '2'.repeat(40)));
      assert.equal((await db.packs.listLive(repoId)).length, 3);
    });

    it('10 concurrent updates of one ref from the same old value: exactly one wins', async () => {
      await db.commitPush(repoId, null, [{ name: 'refs/heads/race', oldOid: null, newOid: A }], { atomic: false });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => db.commitPush(repoId, null, [{ name: 'refs/heads/race', oldOid: A, newOid: String(i).repeat(40) }], { atomic: i % 2 === 0 })),
      );
      const winners = results.map((r, i) => (r[0]!.ok ? i : -1)).filter((i) => i >= 0);
      assert.equal(winners.length, 1);
      assert.equal((await db.refs.get(repoId, 'refs/heads/race'))?.oid, String(winners[0]).repeat(40));
      for (const r of results) if (!r[0]!.ok) assert.equal((r[0] as { reason: string }).reason, 'failed to update ref');
    });

    it('readers never see the refs or pack of a push that rolls back', async () => {
      const pack = { repoId, name: '4'.repeat(40), objectCount: 1, sizeBytes: 1, source: 'receive' as const };
      const updates: RefUpdate[] = Array.from({ length: 20 }, (_, i) => ({ name: `refs/heads/phantom-${String(i).padStart(2, '0')}`, oldOid: null, newOid: A }));
      updates.push({ name: 'refs/heads/race', oldOid: C, newOid: A }); // stale: the whole push fails
      let done = false;
      let reads = 0;
      const seen = new Set<string>();
      const push = db.commitPush(repoId, pack, updates, { atomic: true }).finally(() => (done = true));
      while (!done) {
        const [refs, packs] = await Promise.all([db.refs.list(repoId), db.packs.listLive(repoId), db.refs.get(repoId, 'refs/heads/phantom-00')]);
        reads++;
        for (const r of refs) if (r.name.startsWith('refs/heads/phantom')) seen.add(r.name);
        if (packs.some((p) => p.name === pack.name)) seen.add('pack');
      }
      assert.equal((await push)[20]!.ok, false);
      assert.ok(reads > 0);
      assert.deepEqual([...seen], []);
    });

    it('10 concurrent creates of one ref: exactly one wins', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => db.commitPush(repoId, null, [{ name: 'refs/heads/new-race', oldOid: null, newOid: String(i).repeat(40) }], { atomic: i % 2 === 1 })),
      );
      assert.equal(results.filter((r) => r[0]!.ok).length, 1);
      for (const r of results) if (!r[0]!.ok) assert.equal((r[0] as { reason: string }).reason, 'reference already exists');
    });

    it('concurrent creates of a ref and a ref below it never both succeed', async () => {
      for (let round = 0; round < 5; round++) {
        const base = `refs/heads/df${round}`;
        const [file, dir] = await Promise.all([
          db.commitPush(repoId, null, [{ name: base, oldOid: null, newOid: A }], { atomic: false }),
          db.commitPush(repoId, null, [{ name: `${base}/x`, oldOid: null, newOid: A }], { atomic: false }),
        ]);
        assert.equal([file[0]!.ok, dir[0]!.ok].filter(Boolean).length, 1, `round ${round}: exactly one of ${base} and ${base}/x`);
      }
    });

    it('packs: a compaction replaces live packs only if all are still live; superseded rows are forgotten once', async () => {
      const repo = (await db.repos.create({ type: 'model', namespace: 'alice', name: 'packs' })).id;
      const pack = (c: string, source: 'receive' | 'compact' = 'receive') => ({ repoId: repo, name: c.repeat(40), objectCount: 1, sizeBytes: 10, source });
      for (const c of ['1', '2', '3']) await db.commitPush(repo, pack(c), [], { atomic: true });
      const names = (await db.packs.listLive(repo)).map((p) => p.name).sort();
      assert.deepEqual(names, ['1', '2', '3'].map((c) => c.repeat(40)));
      // Two compactions of the same packs at once: exactly one wins.
      const results = await Promise.all([db.packs.replace(repo, pack('a', 'compact'), names), db.packs.replace(repo, pack('b', 'compact'), names)]);
      assert.deepEqual(results.filter(Boolean).length, 1);
      const winner = results[0] ? 'a' : 'b';
      assert.deepEqual((await db.packs.listLive(repo)).map((p) => [p.name, p.source]), [[winner.repeat(40), 'compact']]);
      assert.deepEqual((await db.packs.listSuperseded(repo)).map((p) => p.name).sort(), names);
      assert.equal(await db.packs.replace(repo, pack('c', 'compact'), [winner.repeat(40), names[0]!]), false, 'a replaced pack is no longer live');
      assert.deepEqual((await db.packs.listLive(repo)).map((p) => p.name), [winner.repeat(40)], 'a failed replace changes nothing');
      assert.deepEqual((await db.packs.forgetSuperseded(repo, [names[0]!, winner.repeat(40)])).sort(), [names[0]], 'a live pack is never forgotten');
      assert.deepEqual(await db.packs.forgetSuperseded(repo, [names[0]!]), []);
      assert.equal((await db.packs.listSuperseded(repo)).length, 2);
    });

    it('usedStorage: live pack bytes per repository, for more ids than one statement may bind, or of every repository', async () => {
      const repo = (await db.repos.create({ type: 'model', namespace: 'alice', name: 'used' })).id;
      await db.commitPush(repo, { repoId: repo, name: 'd'.repeat(40), objectCount: 1, sizeBytes: 123, source: 'receive' }, [], { atomic: true });
      // 40,000 ids: past SQLite's 32,766 bound variables; the real one last, in the final slice.
      const ids: string[] = Array.from({ length: 40_000 }, () => crypto.randomUUID());
      ids.push(repo);
      const used = await db.repos.usedStorage(ids);
      assert.equal(used.size, ids.length);
      assert.equal(used.get(repo), 123);
      assert.equal(used.get(ids[0]!), 0);
      // Without ids: every repository that stores something, with no id list to bind.
      const all = await db.repos.usedStorage();
      assert.equal(all.get(repo), 123);
      assert.equal(all.has(ids[0]!), false);
    });

    it('state version: every change of refs, live packs, the gc epoch or the gate mode gives the repository a new one, in the same transaction', async () => {
      const repo = (await db.repos.create({ type: 'model', namespace: 'alice', name: 'state' })).id;
      const pack = (c: string, source: 'receive' | 'compact' = 'receive') => ({ repoId: repo, name: c.repeat(40), objectCount: 1, sizeBytes: 10, source });
      const version = async () => (await db.repos.findById(repo))!.stateVersion;
      const seen = [await version()];
      const moved = async (what: string) => {
        const v = await version();
        assert.ok(!seen.includes(v), `${what}: a new state version`);
        seen.push(v);
      };
      await db.commitPush(repo, pack('1'), [{ name: 'refs/heads/main', oldOid: null, newOid: A }], { atomic: true });
      await moved('atomic push');
      await db.commitPush(repo, null, [{ name: 'refs/heads/main', oldOid: A, newOid: B }], { atomic: false });
      await moved('ref update');
      await db.commitPush(repo, null, [{ name: 'refs/tags/t', oldOid: null, newOid: B }], { atomic: false, epoch: 0 });
      await moved('ref create at an epoch');
      await db.commitPush(repo, pack('2'), [], { atomic: false });
      await moved('a pack alone');
      await db.commitPush(repo, null, [{ name: 'refs/tags/t', oldOid: B, newOid: null }], { atomic: false });
      await moved('ref delete');
      assert.equal(await db.packs.replace(repo, pack('3', 'compact'), ['1', '2'].map((c) => c.repeat(40))), true);
      await moved('compaction');
      assert.equal(await db.gc.replacePruning(repo, pack('4', 'compact'), ['3'.repeat(40)], await db.refs.list(repo)), true);
      await moved('pruning compaction');
      await db.gated.setMode(repo, 'manual');
      await moved('gated');
      await db.gated.setMode(repo, false);
      await moved('gate removed');
      // What fails or rolls back leaves it as it was.
      await db.commitPush(repo, null, [{ name: 'refs/heads/main', oldOid: A, newOid: C }], { atomic: false });
      await db.commitPush(repo, pack('5'), [{ name: 'refs/heads/main', oldOid: A, newOid: C }], { atomic: true });
      assert.equal(await version(), seen.at(-1), 'failed compare-and-swaps change nothing');
    });

    it('gc epoch: a compaction that drops objects commits only over unchanged packs and refs, and makes writes checked before it stale', async () => {
      const repo = (await db.repos.create({ type: 'model', namespace: 'alice', name: 'epoch' })).id;
      const pack = (c: string, source: 'receive' | 'compact' = 'receive') => ({ repoId: repo, name: c.repeat(40), objectCount: 1, sizeBytes: 10, source });
      assert.equal(await db.gc.epoch(repo), 0);
      await db.commitPush(repo, pack('1'), [{ name: 'refs/heads/main', oldOid: null, newOid: A }], { atomic: true, epoch: 0 });
      await db.commitPush(repo, pack('2'), [{ name: 'refs/heads/gone', oldOid: null, newOid: B }], { atomic: true, epoch: 0 });
      const refs = await db.refs.list(repo);
      // A ref created or moved since reachability was computed: refused.
      await db.commitPush(repo, null, [{ name: 'refs/heads/new', oldOid: null, newOid: B }], { atomic: true, epoch: 0 });
      assert.equal(await db.gc.replacePruning(repo, pack('9', 'compact'), ['1', '2'].map((c) => c.repeat(40)), refs), false);
      // A live pack it did not read: refused.
      await db.commitPush(repo, null, [{ name: 'refs/heads/new', oldOid: B, newOid: null }], { atomic: true, epoch: 0 });
      await db.commitPush(repo, pack('3'), [], { atomic: false, epoch: 0 });
      assert.equal(await db.gc.replacePruning(repo, pack('9', 'compact'), ['1', '2'].map((c) => c.repeat(40)), refs), false);
      assert.equal(await db.gc.epoch(repo), 0, 'a refused compaction changes nothing');
      // Refs only deleted since, packs as read: it commits and the epoch moves.
      await db.commitPush(repo, null, [{ name: 'refs/heads/gone', oldOid: B, newOid: null }], { atomic: true, epoch: 0 });
      assert.equal(await db.gc.replacePruning(repo, pack('9', 'compact'), ['1', '2', '3'].map((c) => c.repeat(40)), refs), true);
      assert.equal(await db.gc.epoch(repo), 1);
      assert.deepEqual((await db.packs.listLive(repo)).map((p) => p.name), ['9'.repeat(40)]);
      assert.ok((await db.packs.listSuperseded(repo)).every((p) => typeof p.supersededAt === 'number'));
      // Writes checked at epoch 0 now apply nothing, atomic or not, and say so.
      const atomic = await db.commitPush(repo, pack('4'), [{ name: 'refs/heads/main', oldOid: A, newOid: C }], { atomic: true, epoch: 0 });
      const single = await db.commitPush(repo, pack('5'), [{ name: 'refs/heads/x', oldOid: null, newOid: C }, { name: 'refs/heads/main', oldOid: A, newOid: C }], { atomic: false, epoch: 0 });
      for (const r of [...atomic, ...single]) assert.deepEqual(r, { name: r.name, ok: false, reason: STALE_OBJECTS });
      assert.equal((await db.refs.get(repo, 'refs/heads/main'))?.oid, A);
      assert.deepEqual((await db.packs.listLive(repo)).map((p) => p.name), ['9'.repeat(40)]);
      // At the current epoch they go through.
      assert.deepEqual(await db.commitPush(repo, pack('4'), [{ name: 'refs/heads/main', oldOid: A, newOid: C }], { atomic: true, epoch: 1 }), [{ name: 'refs/heads/main', ok: true }]);
    });
  });
  it(`migrating an existing ${kind} database gives every user and organization its case-insensitive name`, async () => {
    const c = make();
    try {
      if (c.db.kind === 'postgres') {
        // openDb creates the schema; here the older migrations run first, by hand.
        const u = new URL(c.db.url);
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`CREATE SCHEMA "${u.searchParams.get('schema')}"`);
        await client.end();
      }
      const old = createDataSource(c.db);
      // Every migration before the one that brought the case-insensitive names (later ones may follow it).
      const all = old.options.migrations as { name: string }[];
      const at = all.findIndex((m) => m.name.includes('AccountsSessions'));
      assert.ok(at > 0);
      old.setOptions({ migrations: all.slice(0, at) as never });
      await old.initialize();
      await old.runMigrations();
      await old.query(`INSERT INTO users (name, is_admin) VALUES ('Carol', ${kind === 'sqlite' ? 0 : 'false'}), ('carol', ${kind === 'sqlite' ? 0 : 'false'}), ('dave', ${kind === 'sqlite' ? 0 : 'false'})`);
      await old.query(`INSERT INTO organizations (name) VALUES ('Lab')`);
      await old.destroy();
      const db = await openDb(c.db, createLogger('silent'));
      try {
        assert.deepEqual(await db.names.holder('CAROL'), { kind: 'user', name: 'Carol' }, 'the first of two old names differing in case holds the key');
        assert.deepEqual(await db.names.holder('DAVE'), { kind: 'user', name: 'dave' });
        assert.deepEqual(await db.names.holder('lab'), { kind: 'org', name: 'Lab' });
        assert.equal((await db.users.findByName('carol'))?.disabled, false, 'both old accounts still work');
        await assert.rejects(db.orgs.create('LAB'), (e: unknown) => e instanceof AppError && e.code === 'NameTaken');
        await assert.rejects(db.users.create({ name: 'Dave' }), (e: unknown) => e instanceof AppError && e.code === 'NameTaken');
      } finally {
        await db.close();
      }
    } finally {
      await c.cleanup();
    }
  });
}
