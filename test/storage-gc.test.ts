import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createBlobStore } from '../src/storage/index.js';
import { git, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// The storage sweep (`packhub gc`, also run by the server on a schedule): objects no database row
// names are deleted once older than the grace period; named ones and young ones stay.

const hex = (n: number) => crypto.randomBytes(n).toString('hex');

async function keys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of blobs.list(prefix)) out.push(key);
  return out;
}

async function putOrphans(blobs: BlobStore, repoId: string): Promise<string[]> {
  const made = [
    `repos/${repoId}/packs/pack-${hex(20)}.pack`, // a pack of a lost ref race: no row names it
    `repos/${repoId}/packs/pack-${hex(20)}.idx`,
    `repos/${crypto.randomUUID()}/packs/pack-${hex(20)}.pack`, // a pack of a repository that is gone
    `lfs-staging/${repoId}/1/${hex(32)}`, // an upload never verified
  ];
  const oid = hex(32);
  made.push(`lfs/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`); // an LFS object stored without its record
  for (const key of made) await blobs.put(key, Readable.from([Buffer.from(`orphan ${key}`)]));
  return made;
}

for (const backend of backends()) {
  describe(`storage sweep (${backend})`, () => {
    let hub: Hub | undefined;
    let blobs: BlobStore;
    let repoId: string;
    let url: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          // The server's own schedule is off here: the test runs the sweep itself.
          hub = await startHub({ backend, env: { PACKHUB_GC_INTERVAL_MS: '0' } });
          const alice = await hub.user('alice');
          await hub.repo('alice/kept');
          blobs = await createBlobStore(loadConfig(hub.env).storage);
          const work = path.join(tmpDir('gc'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          fs.writeFileSync(path.join(work, 'a.txt'), 'kept\n');
          await git(['add', '.'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'one'], { cwd: work });
          url = `${hub.authUrl(alice)}/alice/kept.git`;
          await git(['push', '--quiet', url, 'main'], { cwd: work });
          const packs = (await keys(blobs, 'repos/')).filter((k) => k.endsWith('.pack'));
          assert.equal(packs.length, 1);
          repoId = packs[0]!.split('/')[1]!;
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('deletes unnamed objects older than the grace period, keeps young ones and everything a row names', async () => {
      const named = [...(await keys(blobs, 'repos/')), ...(await keys(blobs, 'lfs/'))];
      const old = await putOrphans(blobs, repoId);
      // Ages on S3 come from the store's clock, so the test waits instead of back-dating objects.
      const grace = 12_000;
      await new Promise((r) => setTimeout(r, grace + 3000));

      const dry = await hub!.cli(['gc', '--dry-run', '--grace-ms', String(grace)]);
      for (const key of old) assert.ok(dry.includes(`would delete ${key}`), dry);
      for (const key of named) assert.ok(!dry.includes(key), `${key} must not be deleted:\n${dry}`);
      for (const key of old) assert.ok(await blobs.stat(key), `dry run deleted ${key}`);

      const young = await putOrphans(blobs, repoId);
      const out = await hub!.cli(['gc', '--grace-ms', String(grace)]);
      assert.match(out, new RegExp(`${old.length} deleted .*; ${young.length} unnamed but younger`));
      for (const key of old) assert.equal(await blobs.stat(key), null, `${key} should be gone`);
      for (const key of [...young, ...named]) assert.ok(await blobs.stat(key), `${key} should stay`);

      // What the database names still serves.
      const clone = path.join(tmpDir('gc-clone'), 'c');
      await git(['clone', '--quiet', url, clone]);
      assert.equal(fs.readFileSync(path.join(clone, 'a.txt'), 'utf8'), 'kept\n');
    });
  });
}
