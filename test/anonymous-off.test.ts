import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gitResult, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

// PACKHUB_ALLOW_ANONYMOUS_READ=false: strangers can load the sign-in page and sign in, and nothing else.
for (const backend of backends('fs')) {
  describe(`anonymous reads off (${backend})`, () => {
    let hub: Hub;
    before(async () => {
      hub = await startHub({ backend, env: { PACKHUB_ALLOW_ANONYMOUS_READ: 'false' } });
      await hub.cli(['user', 'create', 'alice', '--password', 'a long passphrase']);
      await hub.repo('alice/model');
    });
    after(async () => {
      await hub?.stop();
    });

    it('the page shell, its assets and sign-in answer strangers; content routes do not', async () => {
      const html = { accept: 'text/html,application/xhtml+xml' };
      for (const p of ['/', '/login', '/alice/model', '/alice/missing']) {
        const r = await fetch(`${hub.url}${p}`, { headers: html });
        assert.equal(r.status, 200, p);
        assert.match(await r.text(), /<script[^>]+src="\/assets\//);
      }
      const page = await (await fetch(`${hub.url}/`, { headers: html })).text();
      const asset = /src="(\/assets\/[^"]+)"/.exec(page)![1]!;
      assert.equal((await fetch(`${hub.url}${asset}`)).status, 200);
      const login = await fetch(`${hub.url}/ui-api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'a long passphrase' }) });
      assert.equal(login.status, 200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      assert.equal((await fetch(`${hub.url}/api/models/alice/model`, { headers: { cookie, 'x-packhub-ui': '1' } })).status, 200, 'signed in, the API answers');

      // Strangers: every content route wants credentials, even when a browser asks.
      for (const p of ['/api/models', '/api/models/alice/model', '/alice/model/resolve/main/.gitattributes', '/alice/model/raw/main/.gitattributes', '/alice/model.git/info/refs?service=git-upload-pack']) {
        assert.equal((await fetch(`${hub.url}${p}`, { headers: html })).status, 401, p);
      }
      const clone = await gitResult(['clone', '--quiet', `${hub.url}/alice/model.git`, `${tmpDir('anon-off')}/c`], { env: { GIT_TERMINAL_PROMPT: '0' } });
      assert.notEqual(clone.code, 0);
    });
  });
}
