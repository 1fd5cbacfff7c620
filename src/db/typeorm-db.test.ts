import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
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

    it('users, tokens and repositories; duplicates are conflicts', async () => {
      const u = await db.users.create({ name: 'alice' });
      await assert.rejects(db.users.create({ name: 'alice' }), /already exists/);
      const t = await db.tokens.create({ userId: u.id, name: 'cli', scope: 'write', tokenHash: 'f'.repeat(64) });
      assert.equal((await db.tokens.findByHash('f'.repeat(64)))?.id, t.id);
      await assert.rejects(db.repos.create({ type: 'model', namespace: 'alice', name: 'r' }), (e: Error & { code?: string }) => e.code === 'RepoExists');
      await db.repos.create({ type: 'dataset', namespace: 'alice', name: 'r' }); // another type, another repo
      assert.equal((await db.repos.find('model', 'alice', 'r'))?.id, repoId);
    });

    it('refs change only by compare-and-swap', async () => {
      assert.deepEqual(await db.commitPush(repoId, null, [{ name: 'refs/heads/main', oldOid: null, newOid: A }], { atomic: false }), [{ name: 'refs/heads/main', ok: true }]);
      assert.deepEqual(await db.commitPush(repoId, null, [{ name: 'refs/heads/main', oldOid: null, newOid: B }], { atomic: false }), [
        { name: 'refs/heads/main', ok: false, reason: 'reference already exists' },
      ]);
      assert.deepEqual(await db.commitPush(repoId, null, [{ name: 'refs/heads/main', oldOid: C, newOid: B }], { atomic: false }), [
        { name: 'refs/heads/main', ok: false, reason: 'failed to update ref' },
      ]);
      assert.deepEqual(await db.commitPush(repoId, null, [{ name: 'refs/heads/main', oldOid: A, newOid: B }], { atomic: false }), [{ name: 'refs/heads/main', ok: true }]);
      assert.equal((await db.refs.get(repoId, 'refs/heads/main'))?.oid, B);
      const df = await db.commitPush(repoId, null, [{ name: 'refs/heads/main/x', oldOid: null, newOid: A }], { atomic: false });
      assert.equal(df[0]!.ok, false);
      const del = await db.commitPush(repoId, null, [{ name: 'refs/heads/main', oldOid: A, newOid: null }], { atomic: false });
      assert.equal(del[0]!.ok, false, 'a delete with a stale old value fails');
    });

    it('atomic: all refs and the pack change together or nothing changes', async () => {
      const pack = { repoId, name: '1'.repeat(40), objectCount: 3, sizeBytes: 100, source: 'receive' as const };
      const r = await db.commitPush(
        repoId,
        pack,
        [
          { name: 'refs/heads/one', oldOid: null, newOid: A },
          { name: 'refs/heads/main', oldOid: C, newOid: A },
        ],
        { atomic: true },
      );
      assert.deepEqual(r, [
        { name: 'refs/heads/one', ok: false, reason: 'atomic transaction failed' },
        { name: 'refs/heads/main', ok: false, reason: 'failed to update ref' },
      ]);
      assert.equal(await db.refs.get(repoId, 'refs/heads/one'), null);
      assert.equal((await db.packs.listLive(repoId)).length, 0, 'the pack row rolled back too');
      const ok = await db.commitPush(repoId, pack, [{ name: 'refs/heads/one', oldOid: null, newOid: A }], { atomic: true });
      assert.equal(ok[0]!.ok, true);
      assert.equal((await db.packs.listLive(repoId)).length, 1);
    });

    it('10 concurrent updates of one ref from the same old value: exactly one wins', async () => {
      await db.commitPush(repoId, null, [{ name: 'refs/heads/race', oldOid: null, newOid: A }], { atomic: false });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => db.commitPush(repoId, null, [{ name: 'refs/heads/race', oldOid: A, newOid: String(i).repeat(40) }], { atomic: i % 2 === 0 })),
      );
      const winners = results.filter((r) => r[0]!.ok);
      assert.equal(winners.length, 1);
    });
  });
}
