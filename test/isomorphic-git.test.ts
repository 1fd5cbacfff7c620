import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as iso from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { git, remoteRefs, tmpDir } from './helpers/git.js';
import { buildRichRepo, RICH } from './helpers/repo-builder.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Acceptance 9: isomorphic-git, an independent client implementation, clones from and pushes to the hub.

for (const backend of backends()) {
  describe(`isomorphic-git as an independent client (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };
    let src: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          await hub.repo('alice/iso');
          src = await buildRichRepo();
          await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/iso.git`, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'], { cwd: src });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('clones, commits, pushes a branch update and a new branch, and fetches what git pushed', async () => {
      const dir = tmpDir('iso');
      const url = `${hub!.url}/alice/iso.git`;
      const onAuth = () => ({ username: alice.name, password: alice.token });

      const info = await iso.getRemoteInfo({ http, url });
      assert.equal(info.HEAD, 'refs/heads/main');
      await iso.clone({ fs, http, dir, url, ref: 'main' });
      assert.equal(await iso.resolveRef({ fs, dir, ref: 'HEAD' }), (await git(['rev-parse', 'main'], { cwd: src })).trim());
      assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), '# rich repo\n');
      assert.ok(fs.readFileSync(path.join(dir, 'data/blob.bin')).equals(fs.readFileSync(path.join(src, 'data/blob.bin'))), 'binary file intact');
      assert.equal((await iso.log({ fs, dir, depth: 1000 })).length, RICH.mainCommits);
      assert.deepEqual((await iso.listBranches({ fs, dir, remote: 'origin' })).filter((b) => b !== 'HEAD').sort(), [...RICH.branches].sort());

      fs.writeFileSync(path.join(dir, 'from-iso.txt'), 'written by isomorphic-git\n');
      await iso.add({ fs, dir, filepath: 'from-iso.txt' });
      const oid = await iso.commit({ fs, dir, message: 'commit from isomorphic-git', author: { name: 'Iso', email: 'iso@packhub.invalid' } });
      const res = await iso.push({ fs, http, dir, remote: 'origin', ref: 'main', onAuth });
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.equal((await remoteRefs(url)).get('refs/heads/main'), oid);

      await iso.branch({ fs, dir, ref: 'iso-branch' });
      const branchRes = await iso.push({ fs, http, dir, remote: 'origin', ref: 'iso-branch', onAuth });
      assert.equal(branchRes.ok, true, JSON.stringify(branchRes));
      assert.equal((await remoteRefs(url)).get('refs/heads/iso-branch'), oid);

      // Without credentials isomorphic-git's push is refused, and nothing changes.
      await assert.rejects(iso.push({ fs, http, dir, remote: 'origin', ref: 'main', remoteRef: 'anon', force: true }), /401|HTTP Error/);
      assert.ok(!(await remoteRefs(url)).has('refs/heads/anon'));

      const check = path.join(tmpDir('iso-check'), 'c');
      await git(['clone', '--quiet', url, check]);
      await git(['fsck', '--full', '--strict'], { cwd: check });
      assert.equal(fs.readFileSync(path.join(check, 'from-iso.txt'), 'utf8'), 'written by isomorphic-git\n');

      // git pushes on top; isomorphic-git fetches it.
      fs.writeFileSync(path.join(check, 'from-git.txt'), 'written by git\n');
      await git(['add', '.'], { cwd: check });
      await git(['commit', '--quiet', '-m', 'commit from git'], { cwd: check });
      await git(['push', '--quiet', `${hub!.authUrl(alice)}/alice/iso.git`, 'main'], { cwd: check });
      const fetched = await iso.fetch({ fs, http, dir, ref: 'main', singleBranch: true });
      assert.equal(fetched.fetchHead, (await git(['rev-parse', 'HEAD'], { cwd: check })).trim());
      const blob = await iso.readBlob({ fs, dir, oid: fetched.fetchHead!, filepath: 'from-git.txt' });
      assert.equal(Buffer.from(blob.blob).toString(), 'written by git\n');
    });
  });
}
