import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, tmpDir } from './helpers/git.js';
import { run } from './helpers/run.js';
import { CLI_ARGS, ROOT, backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Operating a hub from the command line: users listed and made admins, repositories listed, moved
// and deleted (a moved one keeps its history, a deleted one answers 404 and its packs leave storage),
// and the first administrator of a new deployment created from PACKHUB_ADMIN_NAME and a password file.

for (const backend of backends()) {
  describe(`admin CLI (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          const secret = path.join(tmpDir('admin-secret'), 'pw');
          fs.writeFileSync(secret, 'first admin passphrase\n');
          hub = await startHub({ backend, env: { PACKHUB_ADMIN_NAME: 'root', PACKHUB_ADMIN_PASSWORD_FILE: secret } });
          alice = await hub.user('alice');
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('the first start creates the administrator from PACKHUB_ADMIN_NAME and its password file; it signs in', async () => {
      const login = await fetch(`${hub!.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'root', password: 'first admin passphrase' }) });
      assert.equal(login.status, 200, await login.text());
      const me = await fetch(`${hub!.url}/ui-api/me`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! } });
      assert.equal(((await me.json()) as { isAdmin?: boolean }).isAdmin, true);
      assert.match(await hub!.cli(['user', 'list']), /^root\tadmin$/m);
    });

    it('the CLI says which database it opens and refuses another one than the running server\'s', async () => {
      const cli = (env: NodeJS.ProcessEnv) => run(process.execPath, [...CLI_ARGS, 'user', 'list'], { env, cwd: ROOT });
      const same = await cli(hub!.env);
      assert.equal(same.code, 0, same.stderr);
      assert.match(same.stderr, /^packhub: database (sqlite:|postgres)/m);
      assert.doesNotMatch(same.stderr, /password|S3RVER/i);
      const other = await cli({ ...hub!.env, PACKHUB_DATABASE_URL: `sqlite:${path.join(tmpDir('admin-other-db'), 'other.sqlite')}` });
      assert.equal(other.code, 1);
      assert.match(other.stderr, /the packhub server of .* runs on .*, but this command would open sqlite:.*other\.sqlite/);
    });

    it('user list and user admin', async () => {
      assert.match(await hub!.cli(['user', 'list']), /^alice$/m);
      assert.match(await hub!.cli(['user', 'admin', 'alice']), /alice is now an administrator/);
      assert.match(await hub!.cli(['user', 'list']), /^alice\tadmin$/m);
      await hub!.cli(['user', 'admin', 'alice', '--revoke']);
      assert.match(await hub!.cli(['user', 'list']), /^alice$/m);
    });

    it('user delete: refused while repositories live under the name or for the last admin of an organization; then the account, its tokens and its name are gone', async () => {
      const erin = await hub!.user('erin');
      await hub!.repo('erin/keep');
      const cli = (...args: string[]) => run(process.execPath, [...CLI_ARGS, ...args], { env: hub!.env, cwd: ROOT });
      const noYes = await cli('user', 'delete', 'erin');
      assert.equal(noYes.code, 1);
      assert.match(noYes.stderr, /cannot be undone: add --yes/);
      const hasRepos = await cli('user', 'delete', 'erin', '--yes');
      assert.equal(hasRepos.code, 1);
      assert.match(hasRepos.stderr, /erin still has repositories \(erin\/keep\): move or delete them first/);
      await hub!.cli(['repo', 'delete', 'erin/keep', '--yes']);
      await hub!.cli(['org', 'create', 'erinlab', '--admin', 'erin']);
      const lastAdmin = await cli('user', 'delete', 'erin', '--yes');
      assert.equal(lastAdmin.code, 1);
      assert.match(lastAdmin.stderr, /last administrator of the organization erinlab/);
      await hub!.cli(['org', 'add-member', 'erinlab', 'alice', '--role', 'admin']);
      assert.match(await hub!.cli(['user', 'delete', 'erin', '--yes']), /deleted the account erin/);
      assert.doesNotMatch(await hub!.cli(['user', 'list']), /^erin/m);
      assert.equal((await fetch(`${hub!.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${erin.token}` } })).status, 401, 'its tokens are gone');
      // The name is free again.
      await hub!.cli(['user', 'create', 'Erin']);
    });

    it('repo list, move (history kept, the old name redirects) and delete (404 after, packs gone from storage)', async () => {
      await hub!.repo('alice/first');
      await hub!.repo('alice/secret', { private: true });
      const work = path.join(tmpDir('admin-cli'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      fs.writeFileSync(path.join(work, 'a.txt'), 'hello\n');
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'one'], { cwd: work });
      await git(['push', '--quiet', `${hub!.authUrl(alice)}/alice/first.git`, 'main'], { cwd: work });

      const listed = await hub!.cli(['repo', 'list', 'alice']);
      assert.match(listed, /^alice\/first$/m);
      assert.match(listed, /^alice\/secret\tprivate$/m);

      assert.match(await hub!.cli(['repo', 'move', 'alice/first', 'alice/renamed']), /moved alice\/first to alice\/renamed/);
      const clone = path.join(tmpDir('admin-cli-clone'), 'c');
      await git(['clone', '--quiet', `${hub!.url}/alice/renamed.git`, clone]);
      assert.equal(fs.readFileSync(path.join(clone, 'a.txt'), 'utf8'), 'hello\n');
      // The old name redirects to the new one, as on the Hub.
      const old = await fetch(`${hub!.url}/api/models/alice/first`, { headers: { authorization: `Bearer ${alice.token}` }, redirect: 'manual' });
      assert.equal(old.status, 307);
      assert.equal(old.headers.get('location'), '/api/models/alice/renamed');

      const refused = await run(process.execPath, [...CLI_ARGS, 'repo', 'delete', 'alice/renamed'], { env: hub!.env, cwd: ROOT });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot be undone: add --yes/);
      assert.match(await hub!.cli(['repo', 'delete', 'alice/renamed', '--yes']), /deleted alice\/renamed/);
      assert.equal((await fetch(`${hub!.url}/api/models/alice/renamed`, { headers: { authorization: `Bearer ${alice.token}` } })).status, 404);
      assert.equal((await fetch(`${hub!.url}/api/models/alice/first`, { headers: { authorization: `Bearer ${alice.token}` }, redirect: 'manual' })).status, 404, 'a deleted repository leaves no redirect');
      assert.doesNotMatch(await hub!.cli(['repo', 'list']), /renamed/);
      // Nothing of it is left in storage for the sweep to find.
      const gc = await hub!.cli(['gc', '--dry-run', '--grace-ms', '0']);
      assert.match(gc, / 0 to delete /);
    });
  });
}
