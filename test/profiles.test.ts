import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Profiles: a full name and an avatar URL per user and organization, in whoami-v2, the overviews
// (huggingface_hub `get_user_overview`, `get_organization_overview`: Python only, raw HTTP shaped
// like its requests), likers and access requests.

type User = { name: string; token: string; readToken: string };

/** Headers huggingface_hub sends (build_hf_headers). */
const pyHeaders = (token: string | null, json = false): Record<string, string> => ({
  'user-agent': 'huggingface_hub/1.3.7; python/3.12',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(json ? { 'content-type': 'application/json' } : {}),
});

for (const backend of backends()) {
  describe(`profiles (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: User;
    let bob: User;
    let carol: User;

    const call = (token: string | null, method: string, p: string, body?: unknown) =>
      fetch(`${hub!.url}${p}`, { method, headers: pyHeaders(token, body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
    const ok = async <T>(r: Response | Promise<Response>): Promise<T> => {
      const res = await r;
      const text = await res.text();
      assert.equal(res.status, 200, `${res.url}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const status = async (r: Promise<Response>) => (await r).status;
    type Who = { name: string; fullname: string; avatarUrl: string; orgs: { name: string; fullname: string; avatarUrl: string; roleInOrg: string }[]; auth: unknown };

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          bob = await hub.user('bob');
          carol = await hub.user('carol');
          await hub.cli(['org', 'create', 'lab', '--admin', 'alice']);
          await hub.cli(['org', 'add-member', 'lab', 'bob', '--role', 'write']);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('whoami-v2 has fullname and an absolute avatarUrl before and after the user sets a profile (JS whoAmI too)', async () => {
      const before = await ok<Who>(call(alice.token, 'GET', '/api/whoami-v2'));
      assert.equal(before.fullname, 'alice');
      assert.equal(before.avatarUrl, `${hub!.url}/api/avatars/users/alice.svg`);
      const svg = await fetch(before.avatarUrl);
      assert.equal(svg.status, 200);
      assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
      assert.match(await svg.text(), /^<svg [^>]*>.*>A<\/text><\/svg>$/);
      assert.equal((await fetch(`${hub!.url}/api/avatars/users/nobody.svg`)).status, 404);
      assert.equal((await fetch(`${hub!.url}/api/avatars/repos/alice.svg`)).status, 404);
      assert.deepEqual(
        before.orgs.map((o) => [o.name, o.fullname, o.avatarUrl, o.roleInOrg]),
        [['lab', 'lab', `${hub!.url}/api/avatars/organizations/lab.svg`, 'admin']],
      );

      const set = await ok<{ fullname: string; avatarUrl: string }>(call(alice.token, 'PUT', '/api/settings/profile', { fullname: '  Alice Liddell ', avatarUrl: 'https://img.example.org/a.png' }));
      assert.deepEqual(set, { fullname: 'Alice Liddell', avatarUrl: 'https://img.example.org/a.png' });
      const afterSet = await ok<Who>(call(alice.token, 'GET', '/api/whoami-v2'));
      assert.equal(afterSet.fullname, 'Alice Liddell');
      assert.equal(afterSet.avatarUrl, 'https://img.example.org/a.png');
      const js = await hf.whoAmI({ hubUrl: hub!.url, accessToken: alice.token as `hf_${string}` });
      assert.equal(js.type, 'user');
      assert.equal((js as { fullname?: string }).fullname, 'Alice Liddell');
      assert.equal((js as { avatarUrl?: string }).avatarUrl, 'https://img.example.org/a.png');

      // One field at a time; empty clears it back to the defaults.
      await ok(call(alice.token, 'PUT', '/api/settings/profile', { fullname: 'Alice L.' }));
      assert.equal((await ok<Who>(call(alice.token, 'GET', '/api/whoami-v2'))).avatarUrl, 'https://img.example.org/a.png');
      await ok(call(alice.token, 'PUT', '/api/settings/profile', { avatarUrl: '' }));
      const cleared = await ok<Who>(call(alice.token, 'GET', '/api/whoami-v2'));
      assert.deepEqual([cleared.fullname, cleared.avatarUrl], ['Alice L.', `${hub!.url}/api/avatars/users/alice.svg`]);
    });

    it('profile settings: only the user with a write token, bounded and checked input', async () => {
      assert.equal(await status(call(null, 'PUT', '/api/settings/profile', { fullname: 'x' })), 401);
      assert.equal(await status(call(bob.readToken, 'PUT', '/api/settings/profile', { fullname: 'x' })), 403);
      for (const bad of [
        {},
        [],
        { fullname: 5 },
        { fullname: 'a'.repeat(257) },
        { fullname: 'line\nbreak' },
        { avatarUrl: 'javascript:alert(1)' },
        { avatarUrl: 'data:image/svg+xml,<svg/>' },
        { avatarUrl: '/relative.png' },
        { avatarUrl: 'https://user:pw@example.org/a.png' },
        { avatarUrl: `https://example.org/${'a'.repeat(2100)}` },
      ]) {
        assert.equal(await status(call(bob.token, 'PUT', '/api/settings/profile', bad)), 400, JSON.stringify(bad).slice(0, 60));
      }
      const who = await ok<Who>(call(bob.token, 'GET', '/api/whoami-v2'));
      assert.deepEqual([who.fullname, who.avatarUrl], ['bob', `${hub!.url}/api/avatars/users/bob.svg`], 'nothing changed');
    });

    it('organization profile: set by its admins only; the overview has the reference shape with an absolute avatarUrl', async () => {
      assert.equal(await status(call(bob.token, 'PUT', '/api/organizations/lab/settings/profile', { fullname: 'Bob Lab' })), 403); // write role
      assert.equal(await status(call(carol.token, 'PUT', '/api/organizations/lab/settings/profile', { fullname: 'Carol Lab' })), 403); // not a member
      assert.equal(await status(call(alice.readToken, 'PUT', '/api/organizations/lab/settings/profile', { fullname: 'x' })), 403);
      assert.equal(await status(call(null, 'PUT', '/api/organizations/lab/settings/profile', { fullname: 'x' })), 401);
      assert.equal(await status(call(alice.token, 'PUT', '/api/organizations/nolab/settings/profile', { fullname: 'x' })), 404);
      await ok(call(alice.token, 'PUT', '/api/organizations/lab/settings/profile', { fullname: 'The Lab', avatarUrl: 'https://img.example.org/lab.png' }));

      await ok(call(alice.token, 'POST', '/api/repos/create', { name: 'lab-model', organization: 'lab' }));
      await ok(call(alice.token, 'POST', '/api/repos/create', { name: 'lab-secret', organization: 'lab', private: true }));
      await ok(call(alice.token, 'POST', '/api/repos/create', { name: 'lab-data', organization: 'lab', type: 'dataset' }));
      const org = await ok<Record<string, unknown>>(call(null, 'GET', '/api/organizations/lab/overview'));
      assert.equal(org.name, 'lab');
      assert.equal(org.fullname, 'The Lab');
      assert.match(String(org.avatarUrl), /^https:\/\//);
      assert.equal(org.numUsers, 2);
      assert.deepEqual([org.numModels, org.numDatasets, org.numSpaces], [1, 1, 0], 'a stranger does not count the private repository');
      for (const k of ['isVerified', 'isFollowing', 'numFollowers', 'numPapers']) assert.ok(k in org, k);
      const asMember = await ok<Record<string, unknown>>(call(bob.token, 'GET', '/api/organizations/lab/overview'));
      assert.equal(asMember.numModels, 2);
      const missing = await call(null, 'GET', '/api/organizations/nolab/overview');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-error-code'), 'OrganizationNotFound');

      const whoBob = await ok<Who>(call(bob.token, 'GET', '/api/whoami-v2'));
      assert.deepEqual(
        whoBob.orgs.map((o) => [o.name, o.fullname, o.avatarUrl]),
        [['lab', 'The Lab', 'https://img.example.org/lab.png']],
      );
    });

    it('user overview: `user`, fullname, avatarUrl, counts of what the caller may see, orgs', async () => {
      await ok(call(carol.token, 'PUT', '/api/settings/profile', { fullname: 'Carol C', avatarUrl: 'https://img.example.org/c.png' }));
      await ok(call(carol.token, 'POST', '/api/repos/create', { name: 'm1' }));
      await ok(call(carol.token, 'POST', '/api/repos/create', { name: 'm2' }));
      await ok(call(carol.token, 'POST', '/api/repos/create', { name: 'hidden', private: true }));
      await ok(call(carol.token, 'POST', '/api/repos/create', { name: 'ds', type: 'dataset' }));
      await ok(call(carol.token, 'POST', '/api/models/carol/m1/like'));
      await ok(call(carol.token, 'POST', '/api/models/carol/hidden/like'));

      const seen = await ok<Record<string, unknown>>(call(bob.token, 'GET', '/api/users/carol/overview'));
      assert.equal(seen.user, 'carol');
      assert.ok(!('name' in seen));
      assert.equal(seen.fullname, 'Carol C');
      assert.equal(seen.avatarUrl, 'https://img.example.org/c.png');
      assert.equal(seen.type, 'user');
      assert.match(String(seen._id), /^[0-9a-f]{24}$/);
      assert.match(String(seen.createdAt), /Z$/);
      assert.deepEqual([seen.numModels, seen.numDatasets, seen.numSpaces, seen.numLikes], [2, 1, 0, 1]);
      for (const k of ['isPro', 'isFollowing', 'numPapers', 'numUpvotes', 'numFollowing', 'numFollowers']) assert.ok(k in seen, k);
      assert.deepEqual(seen.orgs, []);
      assert.equal((await ok<Record<string, unknown>>(call(carol.token, 'GET', '/api/users/carol/overview'))).numModels, 3);

      const bobs = await ok<{ orgs: { name: string; fullname: string; avatarUrl: string }[] }>(call(null, 'GET', '/api/users/bob/overview'));
      assert.deepEqual(
        bobs.orgs.map((o) => [o.name, o.fullname, o.avatarUrl]),
        [['lab', 'The Lab', 'https://img.example.org/lab.png']],
      );
      const missing = await call(null, 'GET', '/api/users/nobody/overview');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-error-code'), 'UserNotFound');
    });

    it('likers and access requests carry the profile', async () => {
      await ok(call(alice.token, 'POST', '/api/repos/create', { name: 'gated-one' }));
      await ok(call(alice.token, 'PUT', '/api/models/alice/gated-one/settings', { gated: 'manual' }));
      await ok(call(carol.token, 'POST', '/api/models/alice/gated-one/like'));
      await ok(call(bob.token, 'POST', '/api/models/alice/gated-one/like'));
      const likers = await ok<{ user: string; fullname: string; avatarUrl: string }[]>(call(null, 'GET', '/api/models/alice/gated-one/likers'));
      assert.deepEqual(
        likers.map((l) => [l.user, l.fullname, l.avatarUrl]),
        [
          ['carol', 'Carol C', 'https://img.example.org/c.png'],
          ['bob', 'bob', `${hub!.url}/api/avatars/users/bob.svg`],
        ],
      );
      const asked = await fetch(`${hub!.url}/alice/gated-one/ask-access`, { method: 'POST', headers: { ...pyHeaders(carol.token), accept: 'application/json' } });
      assert.equal(asked.status, 200, await asked.text());
      const pending = await ok<{ user: { user: string; fullname: string; avatarUrl: string } }[]>(call(alice.token, 'GET', '/api/models/alice/gated-one/user-access-request/pending'));
      assert.deepEqual(
        pending.map((p) => [p.user.user, p.user.fullname, p.user.avatarUrl]),
        [['carol', 'Carol C', 'https://img.example.org/c.png']],
      );
    });
  });
}
