import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startGate } from './helpers/gate.js';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// The classic gc race: a push checks its pack against the stored objects (its commit names a parent
// it did not send, a ref points at an object it did not send), and while it is still arriving a
// compaction drops exactly those objects. The push must then fail cleanly, never end with a ref
// naming a dropped object; and a push whose objects a compaction kept goes through although the
// compaction committed while it was arriving (it is checked again at its commit point).

async function commitFile(dir: string, name: string, content: string | Buffer, message: string): Promise<string> {
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', message], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

for (const backend of backends()) {
  describe(`gc racing pushes (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend, env: { PACKHUB_GC_INTERVAL_MS: '0', PACKHUB_COMPACT_MIN_PACKS: '0', PACKHUB_COMPACT_GRACE_MS: '0' } });
          alice = await hub.user('alice');
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    /**
     * A repository with main and a branch `keep` (commit X); a clone that has both. Then, through the
     * gate, a push of `next` (a large commit on top of X: only it is sent) and `copy` -> X (nothing
     * sent). While its body is held, `during` runs and then `packhub gc --grace-ms 0`.
     */
    async function race(repo: string, during: (url: string, work: string) => Promise<void>) {
      await hub!.repo(`alice/${repo}`);
      const url = `${hub!.authUrl(alice)}/alice/${repo}.git`;
      const work = path.join(tmpDir('gc-race'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      await commitFile(work, 'a.txt', 'a\n', 'a');
      await git(['checkout', '--quiet', '-b', 'keep'], { cwd: work });
      const x = await commitFile(work, 'x.txt', `x ${crypto.randomUUID()}\n`, 'x');
      await git(['push', '--quiet', url, 'main', 'keep'], { cwd: work });
      await git(['checkout', '--quiet', '-b', 'next'], { cwd: work });
      const y = await commitFile(work, 'big.dat', crypto.randomBytes(3 << 20), 'y');

      const gate = await startGate(hub!.port);
      try {
        const gated = `http://${alice.name}:${alice.token}@127.0.0.1:${gate.port}/alice/${repo}.git`;
        const pushing = gitResult(['push', gated, 'next:refs/heads/next', `${x}:refs/heads/copy`], { cwd: work });
        await gate.engaged;
        // The server has read the commands and checked them against the objects stored now.
        await new Promise((r) => setTimeout(r, 1500));
        await during(url, work);
        const gc = await hub!.cli(['gc', '--grace-ms', '0']);
        gate.release();
        return { x, y, url, work, gc, push: await pushing };
      } finally {
        gate.release();
        await gate.close();
      }
    }

    async function assertComplete(url: string) {
      const clone = path.join(tmpDir('gc-race-clone'), 'c');
      await git(['clone', '--quiet', '--mirror', url, clone]);
      const fsck = await gitResult(['fsck', '--strict', '--no-dangling'], { cwd: clone });
      assert.equal(fsck.code, 0, `the repository is complete:\n${fsck.stderr}${fsck.stdout}`);
    }

    it('a push relying on objects a compaction drops meanwhile fails, and no ref names a dropped object', async () => {
      const { x, url, work, gc, push } = await race('dropped', async (url, work) => {
        // X becomes unreachable: the branch the push's client saw is deleted.
        await git(['push', '--quiet', url, ':keep'], { cwd: work });
      });
      assert.match(gc, /git: \d+ repositories; [1-9]\d* unreachable objects past the grace period dropped/, 'the compaction dropped X');
      assert.notEqual(push.code, 0, `the push must fail:\n${push.stderr}`);
      assert.match(push.stderr, /next \(missing necessary objects\)/);
      assert.match(push.stderr, /copy \(missing necessary objects\)/);
      const refs = await remoteRefs(url);
      assert.deepEqual([...refs.keys()].filter((r) => r.startsWith('refs/heads/')).sort(), ['refs/heads/main']);
      assert.ok(![...refs.values()].includes(x));
      await assertComplete(url);
      // Pushed again, the client sends X this time.
      await git(['push', '--quiet', url, 'next:refs/heads/next'], { cwd: work });
      await assertComplete(url);
    });

    it('a push whose objects a compaction kept goes through although the compaction committed while it arrived', async () => {
      const { x, y, url, gc, push } = await race('kept', async (url, work) => {
        // Something else becomes unreachable, so the compaction drops objects (and moves the epoch).
        const other = path.join(tmpDir('gc-race-other'), 'o');
        await git(['clone', '--quiet', url, other]);
        await git(['checkout', '--quiet', '-b', 'junk'], { cwd: other });
        await commitFile(other, 'junk.txt', `junk ${crypto.randomUUID()}\n`, 'junk');
        await git(['push', '--quiet', url, 'junk'], { cwd: other });
        await git(['push', '--quiet', url, ':junk'], { cwd: other });
        void work;
      });
      assert.match(gc, /git: \d+ repositories; [1-9]\d* unreachable objects past the grace period dropped/, 'the compaction dropped the junk');
      assert.equal(push.code, 0, `the push goes through:\n${push.stderr}`);
      const refs = await remoteRefs(url);
      assert.equal(refs.get('refs/heads/next'), y);
      assert.equal(refs.get('refs/heads/copy'), x);
      await assertComplete(url);
      assert.match(fs.readFileSync(hub!.logFile, 'utf8'), /a compaction dropped objects while this write committed; checked again/);
    });
  });
}
