import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { hashSessionId } from '../src/auth/session.js';
import { SessionEntity } from '../src/db/entities/index.js';
import { openDb } from '../src/db/typeorm-db.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

/**
 * Adversarial checks of the web-facing account surface: sessions that end when they should, names
 * that cannot be confused, UI pages and raw file views that cannot run a repository's script.
 */
for (const backend of backends()) {
  describe(`web security (${backend})`, () => {
    let hub: Hub;
    const ui = { 'X-Packhub-UI': '1' };
    const post = (path: string, body: unknown, cookie?: string) =>
      fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...ui, ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify(body) });
    const get = (path: string, cookie?: string) => fetch(`${hub.url}${path}`, { headers: { ...ui, ...(cookie ? { Cookie: cookie } : {}) } });
    const cookieFrom = (r: Response) => (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    const register = async (name: string, password = 'correct horse battery') => {
      const r = await post('/ui-api/register', { name, password });
      assert.equal(r.status, 201, `${name}: ${await r.text()}`);
      return cookieFrom(r);
    };
    const login = async (name: string, password = 'correct horse battery') => {
      const r = await post('/ui-api/login', { name, password });
      assert.equal(r.status, 200, `${name}: ${await r.text()}`);
      return cookieFrom(r);
    };
    /** Everything a session cookie opens: the UI API and, with the UI header, the HF API. */
    const works = async (cookie: string) => {
      const me = await get('/ui-api/me', cookie);
      const whoami = await get('/api/whoami-v2', cookie);
      const token = await post('/ui-api/tokens', { name: 'probe', scope: 'read' }, cookie);
      return [me.status, whoami.status, token.status];
    };
    const withDb = async <T>(fn: (db: Awaited<ReturnType<typeof openDb>>) => Promise<T>) => {
      const db = await openDb(loadConfig(hub.env).database, createLogger('silent'));
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };

    before(async () => {
      hub = await startHub({ backend, env: { PACKHUB_REGISTRATION: 'open' } });
      await withServerLog(
        () => hub,
        async () => {
          await hub.cli(['org', 'create', 'acme']);
        },
      );
    });
    afterEach((t) => serverLogOnFailure(t, hub));
    after(async () => {
      await hub?.stop();
    });

    // ---- sessions ----------------------------------------------------------------------------

    it('a session cookie captured before logout is refused after it', async () => {
      const cookie = await register('sam');
      assert.deepEqual(await works(cookie), [200, 200, 201]);
      const out = await post('/ui-api/logout', {}, cookie);
      assert.equal(out.status, 200);
      assert.match(out.headers.get('set-cookie') ?? '', /packhub_session=;/);
      // The attacker kept a copy of the cookie: it is dead on every surface.
      assert.deepEqual(await works(cookie), [401, 401, 401]);
      // Signing in again gives a new, different session; the old one stays dead.
      const again = await login('sam');
      assert.notEqual(again, cookie);
      assert.deepEqual(await works(again), [200, 200, 201]);
      assert.equal((await get('/ui-api/me', cookie)).status, 401);
    });

    it('the session id is random and stored only hashed; forged and old-format cookies are refused', async () => {
      const cookie = await login('sam');
      const id = cookie.slice('packhub_session='.length);
      assert.match(id, /^[A-Za-z0-9_-]{43}$/);
      const stored = await withDb(async (db) => [await db.sessions.find(id), await db.sessions.find(hashSessionId(id))]);
      assert.equal(stored[0], null, 'the cookie value itself is not a stored key');
      assert.equal(stored[1]?.userId, (await withDb((db) => db.users.findByName('sam')))!.id);
      for (const forged of [`packhub_session=${'A'.repeat(43)}`, `packhub_session=${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`, 'packhub_session=1.99999999999.abcdef', `packhub_session=${hashSessionId(id)}`]) {
        assert.equal((await get('/ui-api/me', forged)).status, 401, forged);
      }
    });

    it('changing the password ends the other sessions; the browser that changed it gets a new one', async () => {
      const laptop = await login('sam');
      const phone = await login('sam');
      const wrong = await post('/ui-api/password', { currentPassword: 'not it at all', newPassword: 'a brand new password' }, laptop);
      assert.equal(wrong.status, 403);
      assert.equal((await get('/ui-api/me', phone)).status, 200, 'a refused change ends nothing');
      const changed = await post('/ui-api/password', { currentPassword: 'correct horse battery', newPassword: 'a brand new password' }, laptop);
      assert.equal(changed.status, 200, await changed.text());
      const fresh = cookieFrom(changed);
      assert.equal((await get('/ui-api/me', phone)).status, 401);
      assert.equal((await get('/ui-api/me', laptop)).status, 401);
      assert.equal((await get('/ui-api/me', fresh)).status, 200);
      assert.equal((await post('/ui-api/login', { name: 'sam', password: 'correct horse battery' })).status, 401);
      // The administrator resets it from the CLI: every session ends.
      await hub.cli(['user', 'set-password', 'sam', '--password', 'correct horse battery']);
      assert.equal((await get('/ui-api/me', fresh)).status, 401);
      await login('sam');
    });

    it('guessing the current password on a stolen session is rate limited like sign-ins', async () => {
      const cookie = await register('pat');
      let last: Response | null = null;
      for (let i = 0; i < 11; i++) last = await post('/ui-api/password', { currentPassword: `guess ${i}`, newPassword: 'attacker chosen pw' }, cookie);
      assert.equal(last!.status, 429);
      assert.ok(Number(last!.headers.get('retry-after')) > 0);
      const right = await post('/ui-api/password', { currentPassword: 'correct horse battery', newPassword: 'attacker chosen pw' }, cookie);
      assert.equal(right.status, 429, 'even the right one waits');
    });

    it('disabling a user ends their sessions and refuses their sign-in and tokens; enabling lets them back', async () => {
      const cookie = await register('dora');
      const tokenRes = await post('/ui-api/tokens', { name: 'ci', scope: 'write' }, cookie);
      const { token } = (await tokenRes.json()) as { token: string };
      assert.equal((await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
      await hub.cli(['user', 'disable', 'dora']);
      assert.equal((await get('/ui-api/me', cookie)).status, 401);
      assert.equal((await post('/ui-api/login', { name: 'dora', password: 'correct horse battery' })).status, 401);
      assert.equal((await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } })).status, 401);
      assert.equal((await withDb((db) => db.users.findByName('dora')))!.disabled, true);
      await hub.cli(['user', 'enable', 'dora']);
      assert.equal((await get('/ui-api/me', cookie)).status, 401, 'ended sessions stay ended');
      assert.equal((await get('/ui-api/me', await login('dora'))).status, 200);
      assert.equal((await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
    });

    it('an expired session is refused and removed', async () => {
      const cookie = await login('sam');
      const idHash = hashSessionId(cookie.slice('packhub_session='.length));
      await withDb((db) => db.dataSource.createQueryBuilder().update(SessionEntity).set({ expiresAt: new Date(Date.now() - 1000) }).where('id_hash = :idHash', { idHash }).execute());
      assert.equal((await get('/ui-api/me', cookie)).status, 401);
      assert.equal(await withDb((db) => db.sessions.find(idHash)), null, 'the expired row is gone');
    });

    // ---- names -------------------------------------------------------------------------------

    it('names are unique regardless of letter case across users and organizations, on every path', async () => {
      for (const name of ['ACME', 'Acme', 'SAM', 'Sam']) {
        const r = await post('/ui-api/register', { name, password: 'correct horse battery' });
        assert.equal(r.status, 409, name);
      }
      await assert.rejects(hub.cli(['user', 'create', 'aCmE']), /taken/);
      await assert.rejects(hub.cli(['org', 'create', 'SAM']), /taken/);
      await assert.rejects(hub.cli(['org', 'create', 'Acme']), /taken/);
      await assert.rejects(hub.cli(['invite', 'create', 'ACME']), /taken/);
      const sam = await login('sam');
      const org = await post('/ui-api/orgs', { name: 'Dora' }, sam);
      assert.equal(org.status, 409);
      assert.equal((await post('/ui-api/orgs', { name: 'sam-lab' }, sam)).status, 201);
      assert.equal((await post('/ui-api/orgs', { name: 'SAM-LAB' }, sam)).status, 409);
      // The Hub's CI user name stays valid.
      assert.equal((await post('/ui-api/register', { name: '__DUMMY_HUB_USER__', password: 'correct horse battery' })).status, 201);
    });

    it('concurrent registrations of one name in different cases: exactly one succeeds', async () => {
      const names = ['Bob', 'bob', 'BOB', 'bOb', 'boB', 'BoB', 'bOB', 'BOb'];
      const statuses = await Promise.all(names.map(async (name) => (await post('/ui-api/register', { name, password: 'correct horse battery' })).status));
      assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
      assert.deepEqual(
        statuses.filter((s) => s !== 201),
        names.slice(1).map(() => 409),
      );
    });

    it('reserved words cannot be user or organization names', async () => {
      const sam = await login('sam');
      for (const name of ['api', 'ui-api', 'lfs', 'assets', 'models', 'datasets', 'spaces', 'settings', 'new', 'login', 'logout', 'join', 'organizations', 'docs', 'static', 'healthz', 'readyz', 'metrics', 'API', 'Models']) {
        const r = await post('/ui-api/register', { name, password: 'correct horse battery' });
        assert.equal(r.status, 400, name);
        assert.match(((await r.json()) as { error: { message: string } }).error.message, /reserved/);
        assert.equal((await post('/ui-api/orgs', { name }, sam)).status, 400, name);
      }
      await assert.rejects(hub.cli(['user', 'create', 'metrics']), /reserved/);
      await assert.rejects(hub.cli(['org', 'create', 'Datasets']), /reserved/);
    });

    // ---- what the browser is sent ----------------------------------------------------------

    it('UI pages and assets carry a strict CSP, nosniff, a referrer policy and no framing', async () => {
      const index = await fetch(`${hub.url}/`);
      assert.equal(index.status, 200);
      const html = await index.text();
      const csp = index.headers.get('content-security-policy') ?? '';
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
      assert.deepEqual(directives.get('script-src'), ["'self'"]);
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
      assert.deepEqual(directives.get('object-src'), ["'none'"]);
      assert.deepEqual(directives.get('base-uri'), ["'none'"]);
      assert.ok(!(directives.get('img-src') ?? []).includes('*'));
      assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(index.headers.get('referrer-policy'), 'same-origin');
      assert.equal(index.headers.get('x-frame-options'), 'DENY');
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page');
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(asset, html);
      const a = await fetch(`${hub.url}${asset}`);
      assert.equal(a.status, 200);
      assert.match(a.headers.get('content-type') ?? '', /javascript/);
      assert.equal(a.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(a.headers.get('content-security-policy'), csp);
      if (backend === 's3') assert.match(directives.get('connect-src')?.join(' ') ?? '', /'self' http:\/\/(127\.0\.0\.1|localhost):\d+/, 'LFS uploads may reach the S3 endpoint');
    });

    it('raw and resolve views of HTML and SVG files cannot run script in the hub origin', async () => {
      const owner = await hub.user('mallory');
      await hub.repo('mallory/pages');
      const files = { 'x.html': '<script>alert(1)</script>', 'x.svg': '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'x.txt': '<html><script>alert(1)</script>' };
      const lines = [{ key: 'header', value: { summary: 'pages' } }, ...Object.entries(files).map(([path, text]) => ({ key: 'file', value: { path, content: Buffer.from(text).toString('base64'), encoding: 'base64' } }))];
      const c = await fetch(`${hub.url}/api/models/mallory/pages/commit/main`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${owner.token}`, 'Content-Type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n'),
      });
      assert.equal(c.status, 200, await c.text());
      for (const kind of ['resolve', 'raw']) {
        for (const file of Object.keys(files)) {
          const r = await fetch(`${hub.url}/mallory/pages/${kind}/main/${file}`);
          assert.equal(r.status, 200);
          assert.equal(await r.text(), files[file as keyof typeof files]);
          assert.doesNotMatch(r.headers.get('content-type') ?? '', /html|svg|xml|javascript/, `${kind} ${file}`);
          assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${kind} ${file}`);
          assert.match(r.headers.get('content-security-policy') ?? '', /(^|;)\s*sandbox\b/, `${kind} ${file}`);
          assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/, `${kind} ${file}`);
        }
      }
    });
  });
}
