import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHub, type Hub } from './helpers/server.js';

type Caller = 'anonymous' | 'reader' | 'writer' | 'orgadmin' | 'outsider';
type Action = 'read' | 'write' | 'admin';
type Outcome = 200 | 401 | 403 | 404;

/** The one policy: what each caller gets, whatever the surface. */
function expected(caller: Caller, isPrivate: boolean, action: Action): Outcome {
  const rank = { reader: 1, writer: 2, orgadmin: 3 } as Record<string, number>;
  const need = { read: 1, write: 2, admin: 3 }[action];
  if (caller === 'anonymous') return action === 'read' && !isPrivate ? 200 : 401;
  if (caller === 'outsider') return isPrivate ? 404 : action === 'read' ? 200 : 403;
  if (isPrivate || action !== 'read') return rank[caller]! >= need ? 200 : 403;
  return 200;
}

describe('one permission policy on every surface (git, LFS, HF API)', () => {
  let hub: Hub;
  const tokens = new Map<Caller, { name: string; token: string }>();

  before(async () => {
    hub = await startHub({ backend: 'fs' });
    for (const c of ['reader', 'writer', 'orgadmin', 'outsider'] as Caller[]) tokens.set(c, await hub.user(c));
    await hub.cli(['org', 'create', 'acme', '--admin', 'orgadmin']);
    await hub.cli(['org', 'add-member', 'acme', 'reader', '--role', 'read']);
    await hub.cli(['org', 'add-member', 'acme', 'writer', '--role', 'write']);
    // Repos created through the API by the org admin: they get their initial commit.
    for (const [name, priv] of [['pub', false], ['priv', true]] as const) {
      const r = await fetch(`${hub.url}/api/repos/create`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tokens.get('orgadmin')!.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, organization: 'acme', private: priv }),
      });
      assert.equal(r.status, 200, await r.text());
    }
  });
  after(async () => {
    await hub?.stop();
  });

  let branchNo = 0;
  const surfaces: Record<string, Partial<Record<Action, (repo: string, auth: Record<string, string>, basic: Record<string, string>) => Promise<Response>>>> = {
    git: {
      read: (repo, _b, basic) => fetch(`${hub.url}/acme/${repo}.git/info/refs?service=git-upload-pack`, { headers: basic }),
      write: (repo, _b, basic) => fetch(`${hub.url}/acme/${repo}.git/info/refs?service=git-receive-pack`, { headers: basic }),
    },
    lfs: {
      read: (repo, _b, basic) => batch(repo, 'download', basic),
      write: (repo, _b, basic) => batch(repo, 'upload', basic),
    },
    hf: {
      read: (repo, bearer) => fetch(`${hub.url}/api/models/acme/${repo}`, { headers: bearer }),
      write: (repo, bearer) => fetch(`${hub.url}/api/models/acme/${repo}/branch/b${++branchNo}`, { method: 'POST', headers: { ...bearer, 'Content-Type': 'application/json' }, body: '{}' }),
      admin: (repo, bearer) => fetch(`${hub.url}/api/models/acme/${repo}/settings`, { method: 'PUT', headers: { ...bearer, 'Content-Type': 'application/json' }, body: '{}' }),
    },
  };
  const batch = (repo: string, operation: string, headers: Record<string, string>) =>
    fetch(`${hub.url}/acme/${repo}.git/info/lfs/objects/batch`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/vnd.git-lfs+json', Accept: 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation, objects: [{ oid: 'a'.repeat(64), size: 1 }] }),
    });

  for (const caller of ['anonymous', 'reader', 'writer', 'orgadmin', 'outsider'] as Caller[]) {
    it(`${caller}: public and private × read, write, admin`, async () => {
      const t = tokens.get(caller);
      const bearer: Record<string, string> = t ? { Authorization: `Bearer ${t.token}` } : {};
      const basic: Record<string, string> = t ? { Authorization: `Basic ${Buffer.from(`${t.name}:${t.token}`).toString('base64')}` } : {};
      for (const [repo, priv] of [['pub', false], ['priv', true]] as const) {
        for (const [surface, actions] of Object.entries(surfaces)) {
          for (const [action, call] of Object.entries(actions) as [Action, NonNullable<(typeof actions)[Action]>][]) {
            const r = await call(repo, bearer, basic);
            assert.equal(r.status, expected(caller, priv, action), `${caller} ${action} ${priv ? 'private' : 'public'} via ${surface}`);
            if (r.status === 401 && surface !== 'hf') assert.match(r.headers.get('www-authenticate') ?? '', /^Basic/);
            if (r.status === 404 && surface === 'hf') assert.equal(r.headers.get('x-error-code'), 'RepoNotFound');
          }
        }
      }
    });
  }

  it('a read-only token of a writer cannot write', async () => {
    const out = (await hub.cli(['token', 'create', 'writer', '--scope', 'read'])).trim().split('\n').pop()!;
    const r = await fetch(`${hub.url}/acme/pub.git/info/refs?service=git-receive-pack`, { headers: { Authorization: `Basic ${Buffer.from(`writer:${out}`).toString('base64')}` } });
    assert.equal(r.status, 403);
  });

  it('whoami lists organizations with roles; only members with write may create repos in an org', async () => {
    const who = (await (await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${tokens.get('writer')!.token}` } })).json()) as { orgs: { id: string; name: string; roleInOrg: string }[] };
    assert.match(who.orgs[0]?.id ?? '', /^[0-9a-f]{24}$/);
    assert.deepEqual(who.orgs, [
      { type: 'org', id: who.orgs[0]!.id, name: 'acme', fullname: 'acme', email: null, canPay: false, avatarUrl: `${hub.url}/api/avatars/organizations/acme.svg`, periodEnd: null, roleInOrg: 'write' },
    ]);
    const create = (c: Caller) =>
      fetch(`${hub.url}/api/repos/create`, { method: 'POST', headers: { Authorization: `Bearer ${tokens.get(c)!.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `by-${c}`, organization: 'acme' }) });
    assert.equal((await create('writer')).status, 200);
    assert.equal((await create('reader')).status, 403);
    assert.equal((await create('outsider')).status, 403);
  });
});
