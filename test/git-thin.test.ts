import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

for (const backend of backends()) {
  describe(`thin packs (${backend})`, () => {
    let hub: Hub;
    let authUrl: string;

    before(async () => {
      hub = await startHub({ backend });
      const alice = await hub.user('alice');
      await hub.repo('alice/thin');
      authUrl = `${hub.authUrl(alice)}/alice/thin.git`;
    });
    after(async () => {
      await hub?.stop();
    });

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
      const sent = fs.statSync(trace).size;
      assert.ok(sent < 20_000, `the client sent a thin pack (${sent} bytes), not the 2 MiB file again`);
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), (await git(['rev-parse', 'HEAD'], { cwd: clone })).trim());

      const check = path.join(tmpDir('thin3'), 'c');
      await git(['clone', '--quiet', '--bare', authUrl, check]);
      await git(['fsck', '--full', '--strict'], { cwd: check });
      assert.equal((await git(['show', 'main:large.txt'], { cwd: check })).split('\n')[20_000], 'a small change');
    });
  });
}
