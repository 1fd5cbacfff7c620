import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitEnv, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Acceptance 5: a thin pack (deltas against objects only the hub has) is completed by the server.

for (const backend of backends()) {
  describe(`thin packs (${backend})`, () => {
    let hub: Hub | undefined;
    let authUrl: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          const alice = await hub.user('alice');
          await hub.repo('alice/thin');
          authUrl = `${hub.authUrl(alice)}/alice/thin.git`;
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('completes a thin pack: a small change to a large file pushes as a delta, fsck clean', async () => {
      const first = path.join(tmpDir('thin1'), 'w');
      await git(['init', '--quiet', '-b', 'main', first]);
      // 2 MiB of text with little redundancy, so the delta is small and the base is large.
      const lines = Array.from({ length: 40_000 }, (_, i) => crypto.createHash('sha1').update(String(i)).digest('hex'));
      fs.writeFileSync(path.join(first, 'large.txt'), `${lines.join('\n')}\n`);
      await git(['add', '.'], { cwd: first });
      await git(['commit', '--quiet', '-m', 'large file'], { cwd: first });
      await git(['push', '--quiet', authUrl, 'main'], { cwd: first });

      const clone = path.join(tmpDir('thin2'), 'c');
      await git(['clone', '--quiet', authUrl, clone]);
      lines[20_000] = 'a small change';
      fs.writeFileSync(path.join(clone, 'large.txt'), `${lines.join('\n')}\n`);
      await git(['commit', '--quiet', '-am', 'small change'], { cwd: clone });
      const trace = path.join(tmpDir('thin-trace'), 'pack');
      await git(['push', '--quiet', 'origin', 'main'], { cwd: clone, env: { GIT_TRACE_PACKFILE: trace } });
      const sent = fs.readFileSync(trace);
      assert.ok(sent.length < 20_000, `the client sent a small pack (${sent.length} bytes), not the 2 MiB file again`);
      // Proof that it was thin: on its own (without the hub's objects) git cannot index it.
      const alone = path.join(tmpDir('thin-alone'), 'r');
      await git(['init', '--quiet', '--bare', alone]);
      const ip = spawnSync('git', ['index-pack', '--stdin'], { cwd: alone, env: gitEnv, input: sent });
      assert.notEqual(ip.status, 0);
      assert.match(ip.stderr.toString(), /unresolved delta/, 'the pack has deltas against a base it does not contain');
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), (await git(['rev-parse', 'HEAD'], { cwd: clone })).trim());

      const check = path.join(tmpDir('thin3'), 'c');
      await git(['clone', '--quiet', '--bare', authUrl, check]);
      await git(['fsck', '--full', '--strict'], { cwd: check });
      // A fetch into the first clone (which has the base) works too, and so does a shallow clone of
      // the new commit alone, which needs the completed objects without their delta base.
      await git(['pull', '--quiet', authUrl, 'main'], { cwd: first });
      assert.equal(fs.readFileSync(path.join(first, 'large.txt'), 'utf8').split('\n')[20_000], 'a small change');
      const shallow = path.join(tmpDir('thin4'), 'c');
      await git(['clone', '--quiet', '--depth', '1', authUrl, shallow]);
      await git(['fsck', '--full', '--strict'], { cwd: shallow });
      assert.equal(fs.readFileSync(path.join(shallow, 'large.txt'), 'utf8').split('\n')[20_000], 'a small change');
      assert.equal((await git(['show', 'main:large.txt'], { cwd: check })).split('\n')[20_000], 'a small change');
    });
  });
}
