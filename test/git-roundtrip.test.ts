import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, localRefs, remoteRefs, tmpDir } from './helpers/git.js';
import { buildRichRepo } from './helpers/repo-builder.js';
import { backends, startHub, type Hub } from './helpers/server.js';

/** Count objects a fetch received, from the pack files git stored. */
async function packedObjects(dir: string): Promise<number> {
  const out = await git(['count-objects', '-v'], { cwd: dir });
  const inPack = /in-pack: (\d+)/.exec(out);
  const loose = /^count: (\d+)/m.exec(out);
  return Number(inPack?.[1] ?? 0) + Number(loose?.[1] ?? 0);
}

for (const backend of backends()) {
  describe(`git push and clone round trip (${backend})`, () => {
    let hub: Hub;
    let src: string;
    let alice: { name: string; token: string; readToken: string };

    before(async () => {
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      await hub.repo('alice/rich');
      src = await buildRichRepo();
    });
    after(async () => {
      await hub?.stop();
    });

    it('pushes a repository with history, branches, tags, binaries, empty file, symlink and executable', async () => {
      const url = `${hub.authUrl(alice)}/alice/rich.git`;
      await git(['push', '--quiet', url, '--all'], { cwd: src });
      await git(['push', '--quiet', url, '--tags'], { cwd: src });
      const remote = await remoteRefs(`${hub.url}/alice/rich.git`);
      assert.deepEqual(Object.fromEntries(remote), Object.fromEntries(await localRefs(src)));
    });

    for (const version of ['0', '2']) {
      it(`clones it back with protocol v${version}: fsck clean, every ref equal, files identical`, async () => {
        const dir = path.join(tmpDir(`clone-v${version}`), 'c');
        await git(['-c', `protocol.version=${version}`, 'clone', '--quiet', '--mirror', `${hub.url}/alice/rich.git`, dir]);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
        assert.deepEqual(Object.fromEntries(await localRefs(dir)), Object.fromEntries(await localRefs(src)));
        const work = path.join(tmpDir(`work-v${version}`), 'w');
        await git(['-c', `protocol.version=${version}`, 'clone', '--quiet', `${hub.url}/alice/rich`, work]);
        assert.equal(fs.readlinkSync(path.join(work, 'link-to-readme')), 'README.md');
        assert.ok(fs.statSync(path.join(work, 'bin/run.sh')).mode & 0o100, 'run.sh is executable');
        assert.equal(fs.statSync(path.join(work, 'empty.txt')).size, 0);
        assert.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: work })).trim(), '240');
        assert.equal(await git(['rev-parse', 'HEAD:data/blob.bin'], { cwd: work }), await git(['rev-parse', 'HEAD:data/blob.bin'], { cwd: src }));
      });
    }

    it('a full clone of a repository held in one pack streams the stored pack verbatim, every time', async () => {
      await hub.repo('alice/onepack');
      const url = `${hub.authUrl(alice)}/alice/onepack.git`;
      await git(['push', '--quiet', url, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'], { cwd: src });
      for (const version of ['2', '2', '0']) {
        const dir = path.join(tmpDir('onepack'), 'c');
        const r = await gitResult(['-c', `protocol.version=${version}`, 'clone', '--progress', '--mirror', `${hub.url}/alice/onepack.git`, dir]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Sending the stored pack|Total \d+ \(reused by packhub\)/);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
        assert.deepEqual(Object.fromEntries(await localRefs(dir)), Object.fromEntries(await localRefs(src)));
      }
      // The second and later clones take the stored pack without walking the history.
      const again = await gitResult(['clone', '--progress', '--bare', `${hub.url}/alice/onepack.git`, path.join(tmpDir('onepack2'), 'c')]);
      assert.match(again.stderr, /remote: Sending the stored pack: \d+ objects/);
    });

    it('incremental fetch (v2 and v0) transfers only the new objects', async () => {
      const clones: [string, string][] = [];
      for (const version of ['2', '0']) {
        const dir = path.join(tmpDir(`incr-v${version}`), 'c');
        await git(['-c', `protocol.version=${version}`, 'clone', '--quiet', '--bare', `${hub.url}/alice/rich.git`, dir]);
        clones.push([version, dir]);
      }
      // Three new commits, each adding one file: 3 commits + 3 trees + 3 blobs = 9 new objects.
      const work = path.join(tmpDir('incr-work'), 'w');
      await git(['clone', '--quiet', `${hub.authUrl(alice)}/alice/rich.git`, work]);
      for (let i = 0; i < 3; i++) {
        fs.writeFileSync(path.join(work, `new-${i}.txt`), `new file ${i}\n`);
        await git(['add', '.'], { cwd: work });
        await git(['commit', '--quiet', '-m', `new ${i}`], { cwd: work });
      }
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
      for (const [version, dir] of clones) {
        const start = await packedObjects(dir);
        await git(['-c', `protocol.version=${version}`, 'fetch', '--quiet', 'origin', 'main:main'], { cwd: dir });
        const received = (await packedObjects(dir)) - start;
        assert.equal(received, 9, `v${version} fetch received ${received} objects, expected exactly the 9 new ones`);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
        assert.equal(await git(['rev-parse', 'main'], { cwd: dir }), await git(['rev-parse', 'HEAD'], { cwd: work }));
      }
    });
  });
}
