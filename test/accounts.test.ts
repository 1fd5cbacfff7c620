import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHub, type Hub } from './helpers/server.js';

describe('accounts: registration, sign-in sessions, tokens, rate limiting', () => {
  let hub: Hub;
  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`${hub.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify(body) });
  const cookieFrom = (r: Response) => (r.headers.get('set-cookie') ?? '').split(';')[0]!;

  before(async () => {
    hub = await startHub({ backend: 'fs', env: { PACKHUB_REGISTRATION: 'open' } });
  });
  after(async () => {
    await hub?.stop();
  });

  it('registration is closed unless configured open', async () => {
    const closed = await startHub({ backend: 'fs' });
    try {
      const r = await fetch(`${closed.url}/ui-api/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'eve', password: 'long enough password' }) });
      assert.equal(r.status, 403);
    } finally {
      await closed.stop();
    }
  });

  it('invitation-only registration: an invitation registers its name once; no code, another name or a forged code are refused', async () => {
    const inv = await startHub({ backend: 'fs', env: { PACKHUB_REGISTRATION: 'invite' } });
    const at = (p: string, body: unknown, cookie?: string) =>
      fetch(`${inv.url}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Packhub-UI': '1', ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify(body) });
    try {
      assert.deepEqual(await (await fetch(`${inv.url}/ui-api/registration`)).json(), { mode: 'invite' });
      const out = await inv.cli(['invite', 'create', 'frank', '--days', '2']);
      const code = out.split('\n')[1]!;
      assert.match(out.split('\n')[2]!, /#\/register\?name=frank&invite=/);
      const noCode = await at('/ui-api/register', { name: 'frank', password: 'long enough password' });
      assert.equal(noCode.status, 403);
      assert.match(((await noCode.json()) as { error: { message: string } }).error.message, /invitation only/);
      const other = await at('/ui-api/register', { name: 'mallory', password: 'long enough password', invite: code });
      assert.equal(other.status, 403, 'the code names frank');
      const forged = await at('/ui-api/register', { name: 'frank', password: 'long enough password', invite: `${code.split('.')[0]}.${'A'.repeat(43)}` });
      assert.equal(forged.status, 403);
      const ok = await at('/ui-api/register', { name: 'frank', password: 'long enough password', invite: code });
      assert.equal(ok.status, 201);
      const again = await at('/ui-api/register', { name: 'frank', password: 'long enough password', invite: code });
      assert.equal(again.status, 409, 'a code registers one account');
      // Admins invite from the UI API too; others may not.
      const frank = cookieFrom(ok);
      assert.equal((await at('/ui-api/invitations', { name: 'gina' }, frank)).status, 403);
      await inv.cli(['user', 'create', 'root', '--admin', '--password', 'admin password here']);
      const admin = cookieFrom(await at('/ui-api/login', { name: 'root', password: 'admin password here' }));
      const made = await at('/ui-api/invitations', { name: 'gina', days: 1 }, admin);
      assert.equal(made.status, 201);
      const { code: ginaCode } = (await made.json()) as { code: string };
      assert.equal((await at('/ui-api/register', { name: 'gina', password: 'long enough password', invite: ginaCode })).status, 201);
      assert.equal((await at('/ui-api/invitations', { name: 'gina' }, admin)).status, 409, 'no invitation for a taken name');
    } finally {
      await inv.stop();
    }
  });

  it('register sets an httpOnly SameSite session cookie; me; logout ends it', async () => {
    const weak = await post('/ui-api/register', { name: 'dana', password: 'short' });
    assert.equal(weak.status, 400);
    const r = await post('/ui-api/register', { name: 'dana', password: 'correct horse battery' });
    assert.equal(r.status, 201);
    const setCookie = r.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /packhub_session=/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    const cookie = cookieFrom(r);
    const me = await fetch(`${hub.url}/ui-api/me`, { headers: { Cookie: cookie } });
    assert.equal(((await me.json()) as { name: string }).name, 'dana');
    const forged = await fetch(`${hub.url}/ui-api/me`, { headers: { Cookie: `packhub_session=${'A'.repeat(43)}` } });
    assert.equal(forged.status, 401, 'a session id the server did not issue is refused');
    const dup = await post('/ui-api/register', { name: 'dana', password: 'another long one' });
    assert.equal(dup.status, 409);
  });

  it('login, tokens shown once with scopes, usable by git and the HF API, revocable', async () => {
    const bad = await post('/ui-api/login', { name: 'dana', password: 'wrong password' });
    assert.equal(bad.status, 401);
    const login = await post('/ui-api/login', { name: 'dana', password: 'correct horse battery' });
    assert.equal(login.status, 200);
    const cookie = cookieFrom(login);
    const created = await post('/ui-api/tokens', { name: 'laptop', scope: 'write', expiresInDays: 30 }, cookie);
    assert.equal(created.status, 201);
    const { id, token } = (await created.json()) as { id: number; token: string };
    assert.match(token, /^hf_[A-Za-z0-9]{37}$/);
    const list = (await (await fetch(`${hub.url}/ui-api/tokens`, { headers: { Cookie: cookie } })).json()) as Record<string, unknown>[];
    assert.equal(list.length, 1);
    assert.equal(list[0]!.token, undefined, 'the secret is never shown again');
    const who = await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(((await who.json()) as { name: string }).name, 'dana');
    await hub.repo('dana/private-model', { private: true });
    const git = await fetch(`${hub.url}/dana/private-model.git/info/refs?service=git-upload-pack`, { headers: { Authorization: `Basic ${Buffer.from(`dana:${token}`).toString('base64')}` } });
    assert.equal(git.status, 200);
    const del = await fetch(`${hub.url}/ui-api/tokens/${id}`, { method: 'DELETE', headers: { Cookie: cookie } });
    assert.equal(del.status, 200);
    const after = await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401, 'a revoked token is refused');
    const out = await post('/ui-api/logout', {}, cookie);
    assert.match(out.headers.get('set-cookie') ?? '', /packhub_session=;/);
    assert.equal((await fetch(`${hub.url}/ui-api/me`, { headers: { Cookie: cookie } })).status, 401, 'the cookie is dead after logout');
  });

  it('failed sign-ins are rate limited (429 with Retry-After)', async () => {
    let last: Response | null = null;
    for (let i = 0; i < 11; i++) last = await post('/ui-api/login', { name: 'dana', password: `guess ${i}` });
    assert.equal(last!.status, 429);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
    const right = await post('/ui-api/login', { name: 'dana', password: 'correct horse battery' });
    assert.equal(right.status, 429, 'even the right password waits until the window ends');
  });
});
