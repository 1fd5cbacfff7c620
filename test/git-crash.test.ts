import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Acceptance 8: SIGKILL the server in the middle of a large push, restart it on the same data dir,
// database and bucket: the refs are as before, a fresh clone is fsck-clean, and the next push works.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes the process has read through system calls (sockets and files), from /proc/<pid>/io. */
function bytesRead(pid: number): number {
  const m = /^rchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(m![1]);
}

/** Write `mib` MiB of random (incompressible) data and commit it. */
async function commitRandom(dir: string, name: string, mib: number): Promise<string> {
  const fd = fs.openSync(path.join(dir, name), 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
  fs.closeSync(fd);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', `add ${name}`], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

for (const backend of backends()) {
  describe(`crash safety (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };
    let work: string;
    const url = () => `${hub!.authUrl(alice)}/alice/crash.git`;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          await hub.repo('alice/crash');
          work = path.join(tmpDir('crash'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          fs.writeFileSync(path.join(work, 'small.txt'), 'before the crash\n');
          await git(['add', '.'], { cwd: work });
          await git(['commit', '--quiet', '-m', 'small'], { cwd: work });
          await git(['push', '--quiet', url(), 'main'], { cwd: work });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    /** Start a push, SIGKILL the server once it has read `killAfter` bytes, restart it; returns the push result. */
    async function pushAndKill(killAfter: number) {
      const pid = hub!.pid;
      const start = bytesRead(pid);
      // pack.compression=0: the client sends the pack at disk speed, the server gets it all raw.
      const push = gitResult(['-c', 'pack.compression=0', 'push', url(), 'main'], { cwd: work });
      let done = false;
      void push.then(() => (done = true));
      const deadline = Date.now() + 120_000;
      while (bytesRead(pid) - start < killAfter && !done) {
        assert.ok(Date.now() < deadline, 'the push never reached the server');
        await sleep(10);
      }
      const read = bytesRead(pid) - start;
      const finishedFirst = done;
      await hub!.kill('SIGKILL');
      const result = await push;
      await hub!.restart();
      return { result, read, finishedFirst };
    }

    async function assertCleanClone(expectedMain: string) {
      const clone = path.join(tmpDir('crash-clone'), 'c');
      await git(['clone', '--quiet', '--mirror', url(), clone]);
      await git(['fsck', '--full', '--strict'], { cwd: clone });
      assert.equal((await git(['rev-parse', 'main'], { cwd: clone })).trim(), expectedMain);
    }

    it('SIGKILL while the pack is streaming in: refs as before, clone fsck-clean, the next push works', async () => {
      const before = await remoteRefs(url());
      const big = await commitRandom(work, 'big.bin', 96);
      const { result, read, finishedFirst } = await pushAndKill(16 << 20);
      assert.ok(!finishedFirst, `the server was killed before the push ended (it read ${read} bytes; git said: ${result.stderr})`);
      assert.ok(read < 96 << 20, `killed mid-stream (${read} bytes read)`);
      assert.notEqual(result.code, 0, 'the interrupted push fails on the client');

      assert.deepEqual(Object.fromEntries(await remoteRefs(url())), Object.fromEntries(before), 'refs are as before the crash');
      await assertCleanClone(before.get('refs/heads/main')!);

      await git(['push', '--quiet', url(), 'main'], { cwd: work });
      assert.equal((await remoteRefs(url())).get('refs/heads/main'), big, 'the next push works');
      await assertCleanClone(big);
    });

    it('SIGKILL after the whole pack arrived (while it is indexed, stored or committed): refs valid either way', async (t) => {
      const before = (await remoteRefs(url())).get('refs/heads/main')!;
      const big = await commitRandom(work, 'second.bin', 32);
      const { read, finishedFirst } = await pushAndKill(32 << 20);
      t.diagnostic(`killed after the server read ${read} bytes${finishedFirst ? ' (the push had already ended)' : ''}`);
      const main = (await remoteRefs(url())).get('refs/heads/main');
      assert.ok(main === before || main === big, `main is the old or the new commit, nothing else (${main})`);
      t.diagnostic(main === big ? 'the push had committed before the kill' : 'the push had not committed: refs as before');
      await assertCleanClone(main!);
      if (main === big) {
        // The ref moved, so every object of the push must have been durable before it did.
        const check = path.join(tmpDir('crash-check'), 'c');
        await git(['clone', '--quiet', url(), check]);
        assert.ok(fs.readFileSync(path.join(check, 'second.bin')).equals(fs.readFileSync(path.join(work, 'second.bin'))), 'the pushed file is intact');
      }
      const next = path.join(work, 'after.txt');
      fs.writeFileSync(next, 'after the second crash\n');
      await git(['add', 'after.txt'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'after'], { cwd: work });
      await git(['push', '--quiet', url(), 'main'], { cwd: work });
      const head = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
      assert.equal((await remoteRefs(url())).get('refs/heads/main'), head, 'the next push works');
      await assertCleanClone(head);
    });
  });
}
