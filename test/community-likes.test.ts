import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { backends, startHub, type Hub } from './helpers/server.js';

type User = { name: string; token: string; readToken: string };

for (const backend of backends()) {
  describe(`likes (${backend})`, () => {
    let h: Hub;
    let alice: User;
    let bob: User;
    let dave: User;

    const call = (token: string | null, method: string, p: string) => fetch(`${h.url}${p}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const ok = async <T>(r: Response | Promise<Response>): Promise<T> => {
      const res = await r;
      const text = await res.text();
      assert.equal(res.status, 200, `${res.url}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const likes = async (repo: string) => (await ok<{ likes: number }>(call(alice.token, 'GET', `/api/models/${repo}`))).likes;

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
      dave = await h.user('dave');
      for (const name of ['one', 'two', 'three']) await ok(fetch(`${h.url}/api/repos/create`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) }));
      await ok(fetch(`${h.url}/api/repos/create`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'secret', private: true }) }));
    });
    after(async () => {
      await h?.stop();
    });

    it('like, unlike and likers; the count in repo info (JS modelInfo too)', async () => {
      assert.equal(await likes('alice/one'), 0);
      await ok(call(bob.token, 'POST', '/api/models/alice/one/like'));
      await ok(call(bob.token, 'POST', '/api/models/alice/one/like')); // twice is still one like
      await ok(call(dave.token, 'POST', '/api/models/alice/one/like'));
      assert.equal(await likes('alice/one'), 2);
      const info = await hub.modelInfo({ hubUrl: h.url, accessToken: alice.token as `hf_${string}`, name: 'alice/one' });
      assert.equal(info.likes, 2);
      const likers = await ok<{ user: string; fullname: string; avatarUrl: unknown }[]>(call(null, 'GET', '/api/models/alice/one/likers'));
      assert.deepEqual(
        likers.map((l) => l.user),
        ['bob', 'dave'],
      );
      for (const l of likers) assert.ok('fullname' in l && 'avatarUrl' in l);
      await ok(call(bob.token, 'DELETE', '/api/models/alice/one/like'));
      assert.equal(await likes('alice/one'), 1);
    });

    it('list_liked_repos: public repositories only, newest first', async () => {
      await ok(call(dave.token, 'POST', '/api/models/alice/two/like'));
      await ok(call(alice.token, 'POST', '/api/models/alice/secret/like'));
      const daves = await ok<{ createdAt: string; repo: { name: string; type: string } }[]>(call(null, 'GET', '/api/users/dave/likes'));
      assert.deepEqual(
        daves.map((l) => l.repo),
        [
          { name: 'alice/two', type: 'model' },
          { name: 'alice/one', type: 'model' },
        ],
      );
      assert.match(daves[0]!.createdAt, /Z$/);
      // A like of a private repository never shows, not even to its owner.
      assert.deepEqual(await ok(call(alice.token, 'GET', '/api/users/alice/likes')), []);
      assert.equal((await call(null, 'GET', '/api/users/nobody/likes')).status, 404);
    });

    it('listings carry likes and sort by them', async () => {
      await ok(call(bob.token, 'POST', '/api/models/alice/three/like'));
      await ok(call(dave.token, 'POST', '/api/models/alice/three/like'));
      await ok(call(alice.token, 'POST', '/api/models/alice/three/like'));
      const listed = await ok<{ id: string; likes: number }[]>(call(bob.token, 'GET', '/api/models?author=alice&sort=likes'));
      assert.deepEqual(
        listed.map((r) => [r.id, r.likes]),
        [
          ['alice/three', 3],
          ['alice/one', 1],
          ['alice/two', 1],
        ],
      );
      const asc = await ok<{ id: string }[]>(call(bob.token, 'GET', '/api/models?author=alice&sort=likes&direction=1'));
      assert.equal(asc.at(-1)!.id, 'alice/three');
    });

    it('who may like: a private repository is absent for non-readers; anonymous callers and read-only tokens may not', async () => {
      const r = await call(bob.token, 'POST', '/api/models/alice/secret/like');
      assert.equal(r.status, 404);
      assert.equal(r.headers.get('x-error-code'), 'RepoNotFound');
      assert.equal((await call(bob.token, 'GET', '/api/models/alice/secret/likers')).status, 404);
      assert.equal((await call(null, 'POST', '/api/models/alice/one/like')).status, 401);
      assert.equal((await call(bob.readToken, 'POST', '/api/models/alice/one/like')).status, 403);
    });
  });
}
