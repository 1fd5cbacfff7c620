import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as iso from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { git, remoteRefs, tmpDir } from './helpers/git.js';
import { buildRichRepo } from './helpers/repo-builder.js';
import { backends, startHub, type Hub } from './helpers/server.js';

for (const backend of backends()) {
  describe(`isomorphic-git as an independent client (${backend})`, () => {
    let hub: Hub;
    let alice: { name: string; token: string };

    before(async () => {
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      await hub.repo('alice/iso');
      const src = await buildRichRepo();
      await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/iso.git`, 'main'], { cwd: src });
    });
    after(async () => {
      await hub?.stop();
    });

    it('clones, commits and pushes over HTTP', async () => {
      const dir = tmpDir('iso');
      const onAuth = () => ({ username: alice.name, password: alice.token });
      await iso.clone({ fs, http, dir, url: `${hub.url}/alice/iso.git`, singleBranch: true, ref: 'main' });
      assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), '# rich repo\n');
      const log = await iso.log({ fs, dir, depth: 300 });
      assert.equal(log.length, 240);

      fs.writeFileSync(path.join(dir, 'from-iso.txt'), 'written by isomorphic-git\n');
      await iso.add({ fs, dir, filepath: 'from-iso.txt' });
      const oid = await iso.commit({ fs, dir, message: 'commit from isomorphic-git', author: { name: 'Iso', email: 'iso@packhub.invalid' } });
      const res = await iso.push({ fs, http, dir, remote: 'origin', ref: 'main', onAuth });
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.equal((await remoteRefs(`${hub.url}/alice/iso.git`)).get('refs/heads/main'), oid);

      const check = path.join(tmpDir('iso-check'), 'c');
      await git(['clone', '--quiet', `${hub.url}/alice/iso.git`, check]);
      await git(['fsck', '--full', '--strict'], { cwd: check });
      assert.equal(fs.readFileSync(path.join(check, 'from-iso.txt'), 'utf8'), 'written by isomorphic-git\n');
    });
  });
}
