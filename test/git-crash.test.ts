import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes of pushes being received right now (temp files of incoming packs). */
function incomingBytes(hub: Hub): number {
  const dir = path.join(hub.dataDir, 'cache', 'tmp');
  try {
    return fs.readdirSync(dir).filter((f) => f.startsWith('incoming-')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

for (const backend of backends()) {
  describe(`crash safety (${backend})`, () => {
    let hub: Hub;
    let alice: { name: string; token: string };

    before(async () => {
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      await hub.repo('alice/crash');
    });
    after(async () => {
      await hub?.stop();
    });

    it('SIGKILL in the middle of a large push: refs as before, clone fsck-clean, next push works', async () => {
      const work = path.join(tmpDir('crash'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      fs.writeFileSync(path.join(work, 'small.txt'), 'before the crash\n');
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'small'], { cwd: work });
      const url = () => `${hub.authUrl(alice)}/alice/crash.git`;
      await git(['push', '--quiet', url(), 'main'], { cwd: work });
      const before = await remoteRefs(url());

      // 96 MiB of random data: large enough that the push is still streaming when the server dies.
      const big = fs.openSync(path.join(work, 'big.bin'), 'w');
      for (let i = 0; i < 96; i++) fs.writeSync(big, crypto.randomBytes(1 << 20));
      fs.closeSync(big);
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'big'], { cwd: work });

      const push = gitResult(['-c', 'pack.compression=0', 'push', url(), 'main'], { cwd: work });
      const deadline = Date.now() + 60_000;
      while (incomingBytes(hub) < 8 << 20) {
        assert.ok(Date.now() < deadline, 'the push never started streaming');
        await sleep(20);
      }
      await hub.kill('SIGKILL');
      const result = await push;
      assert.notEqual(result.code, 0, 'the interrupted push fails on the client');

      await hub.restart();
      assert.deepEqual(Object.fromEntries(await remoteRefs(url())), Object.fromEntries(before), 'refs are as before the crash');
      const clone = path.join(tmpDir('crash-clone'), 'c');
      await git(['clone', '--quiet', url(), clone]);
      await git(['fsck', '--full', '--strict'], { cwd: clone });
      assert.equal(fs.readFileSync(path.join(clone, 'small.txt'), 'utf8'), 'before the crash\n');

      await git(['push', '--quiet', url(), 'main'], { cwd: work });
      assert.equal((await remoteRefs(url())).get('refs/heads/main'), (await git(['rev-parse', 'HEAD'], { cwd: work })).trim());
      const after = path.join(tmpDir('crash-after'), 'c');
      await git(['clone', '--quiet', '--bare', url(), after]);
      await git(['fsck', '--full', '--strict'], { cwd: after });
    });
  });
}
