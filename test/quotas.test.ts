import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

for (const backend of backends()) {
  describe(`storage quotas (${backend})`, () => {
    let hub: Hub;
    let alice: { name: string; token: string };
    const auth = () => ({ Authorization: `Bearer ${alice.token}` });

    before(async () => {
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      await hub.repo('alice/small');
      await hub.repo('alice/hidden', { private: true });
      await hub.cli(['quota', 'set', 'alice', '--public', '1MiB', '--private', 'none']);
    });
    after(async () => {
      await hub?.stop();
    });

    it('a push that would exceed the quota is refused, refs unchanged; usage is reported', async () => {
      const work = path.join(tmpDir('quota'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      fs.writeFileSync(path.join(work, 'a.txt'), 'small\n');
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'small'], { cwd: work });
      const url = `${hub.authUrl(alice)}/alice/small.git`;
      await git(['push', '--quiet', url, 'main'], { cwd: work });
      const before = await remoteRefs(url);
      fs.writeFileSync(path.join(work, 'big.bin'), crypto.randomBytes(2 << 20));
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'big'], { cwd: work });
      const r = await gitResult(['push', url, 'main'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /quota exceeded/);
      assert.deepEqual(Object.fromEntries(await remoteRefs(url)), Object.fromEntries(before));
      const report = (await (await fetch(`${hub.url}/api/quota/alice`, { headers: auth() })).json()) as { public: { usedBytes: number; limitBytes: number } };
      assert.equal(report.public.limitBytes, 1 << 20);
      assert.ok(report.public.usedBytes > 0 && report.public.usedBytes < 10_000, `only the small push counts (${report.public.usedBytes})`);
      // The private class has no limit: the same push goes through there.
      await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/hidden.git`, 'main'], { cwd: work });
    });

    it('an LFS batch and an API commit over the quota are refused with 413 before storing', async () => {
      const batch = await fetch(`${hub.url}/alice/small.git/info/lfs/objects/batch`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/vnd.git-lfs+json' },
        body: JSON.stringify({ operation: 'upload', objects: [{ oid: 'b'.repeat(64), size: 5 << 20 }] }),
      });
      assert.equal(batch.status, 413);
      assert.match(((await batch.json()) as { message: string }).message, /quota exceeded/);
      const content = crypto.randomBytes(1200 * 1024).toString('base64');
      const commit = await fetch(`${hub.url}/api/models/alice/small/commit/main`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/x-ndjson' },
        body: [JSON.stringify({ key: 'header', value: { summary: 'too big' } }), JSON.stringify({ key: 'file', value: { path: 'x.bin', content, encoding: 'base64' } })].join('\n'),
      });
      assert.equal(commit.status, 413);
      assert.equal(commit.headers.get('x-error-code'), 'QuotaExceeded');
    });
  });
}
