import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

type User = { name: string; token: string; readToken: string };
type Item = { _id: string; id: string; type: string; position: number; note?: { html: string; text: string }; slug?: string; [k: string]: unknown };
type Collection = {
  slug: string;
  title: string;
  description?: string;
  owner: { name: string; type: string; _id: string };
  items: Item[];
  lastUpdated: string;
  position?: number;
  private: boolean;
  theme: string;
  upvotes: number;
  shareUrl?: string;
};

/** The keys the Python client's `Collection(**r.json())` pops (a missing one is a KeyError). */
const PYTHON_REQUIRED = ['slug', 'title', 'owner', 'items', 'lastUpdated', 'position', 'private', 'theme', 'upvotes'];
const HEX24 = /^[0-9a-f]{24}$/;
const jsToken = (u: User) => u.token as `hf_${string}`;

for (const backend of backends()) {
  describe(`collections (${backend})`, () => {
    let h: Hub;
    let alice: User;
    let bob: User;
    let carol: User;
    let dave: User;

    /** A request shaped as the Python client sends it: Bearer token, JSON body. */
    const call = async (user: User | string | null, method: string, p: string, body?: unknown) => {
      const token = typeof user === 'string' ? user : user?.token;
      const res = await fetch(`${h.url}${p}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let json: any = text;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, json, headers: res.headers };
    };
    const ok = async <T = any>(user: User | string | null, method: string, p: string, body?: unknown): Promise<T> => {
      const r = await call(user, method, p, body);
      assert.equal(r.status, 200, `${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as T;
    };
    const create = (user: User, title: string, extra: Record<string, unknown> = {}) => ok<Collection>(user, 'POST', '/api/collections', { title, namespace: user.name, private: false, ...extra });
    const get = (user: User | null, slug: string) => ok<Collection>(user, 'GET', `/api/collections/${slug}`);
    const add = (user: User, slug: string, type: string, id: string, note?: string) => call(user, 'POST', `/api/collections/${slug}/items`, { item: { id, type }, ...(note !== undefined ? { note } : {}) });

    /** A user with a write token only (each CLI run costs a process start). */
    const writer = async (name: string): Promise<User> => {
      await h.cli(['user', 'create', name]);
      const token = (await h.cli(['token', 'create', name, '--scope', 'write'])).trim().split('\n').at(-1)!;
      return { name, token, readToken: '' };
    };
    const repo = (user: User, name: string, extra: Record<string, unknown> = {}) => ok(user, 'POST', '/api/repos/create', { name, ...extra });

    before(async () => {
      h = await startHub({ backend });
      await withServerLog(() => h, async () => {
      alice = await h.user('alice');
      bob = await writer('bob');
      carol = await writer('carol');
      dave = await writer('dave');
      for (const name of ['one', 'two', 'three', 'doomed']) await repo(alice, name);
      await repo(alice, 'secret', { private: true });
      await repo(alice, 'data', { type: 'dataset' });
      await h.cli(['org', 'create', 'acme', '--admin', 'alice']);
      await h.cli(['org', 'add-member', 'acme', 'bob', '--role', 'write']);
      await h.cli(['org', 'add-member', 'acme', 'carol', '--role', 'read']);
      });
    });
    after(async () => {
      await h?.stop();
    });
    afterEach((t) => serverLogOnFailure(t, h));

    it('the JS client creates, lists and deletes; without a token it is refused with 401', async () => {
      const uuid = crypto.randomUUID();
      const { slug } = await hub.createCollection({ hubUrl: h.url, accessToken: jsToken(alice), collection: { title: `Test Collection ${uuid}`, namespace: 'alice', description: 'made by js', private: false } });
      assert.match(slug, new RegExp(`^alice/test-collection-${uuid}-[0-9a-f]{24}$`));
      const listed = [];
      for await (const c of hub.listCollections({ hubUrl: h.url, search: { owner: ['alice'] }, limit: 10 })) listed.push(c);
      assert.ok(listed.some((c) => c.slug === slug && c.description === 'made by js' && c.owner.name === 'alice'));
      await hub.deleteCollection({ hubUrl: h.url, accessToken: jsToken(alice), slug });
      assert.equal((await call(alice, 'GET', `/api/collections/${slug}`)).status, 404);
      // The JS client sends `Bearer undefined` when no token was given.
      const anon = await call('undefined', 'POST', '/api/collections', { title: 'x', namespace: 'alice', private: false });
      assert.equal(anon.status, 401);
      assert.equal((await call('undefined', 'DELETE', `/api/collections/${slug}`)).status, 401);
    });

    it('create, get, rename (both slugs resolve), update metadata as {"data": …}, delete and delete again (404)', async () => {
      const c = await create(alice, 'My cool stuff', { description: 'things' });
      for (const k of PYTHON_REQUIRED) assert.ok(k in c, `missing ${k}`);
      assert.match(c.slug, /^alice\/my-cool-stuff-[0-9a-f]{24}$/);
      assert.equal(c.title, 'My cool stuff');
      assert.equal(c.description, 'things');
      assert.equal(c.owner.name, 'alice');
      assert.equal(c.owner.type, 'user');
      assert.deepEqual(c.items, []);
      assert.equal(c.private, false);
      assert.match(c.lastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['orange', 'blue', 'green', 'purple', 'pink', 'indigo'].includes(c.theme));
      assert.equal(c.shareUrl, `${h.url}/collections/${c.slug}`);
      assert.deepEqual(await get(null, c.slug), c);

      const patched = await ok<{ data: Collection }>(alice, 'PATCH', `/api/collections/${c.slug}`, { title: 'Renamed stuff', theme: 'pink', description: 'other things' });
      const id = c.slug.slice(-24);
      assert.equal(patched.data.slug, `alice/renamed-stuff-${id}`);
      assert.equal(patched.data.theme, 'pink');
      assert.equal(patched.data.description, 'other things');
      // The old slug still resolves, and reports the new one.
      assert.equal((await get(bob, c.slug)).slug, patched.data.slug);
      assert.equal((await get(bob, patched.data.slug)).title, 'Renamed stuff');
      // Another owner in the path does not.
      assert.equal((await call(bob, 'GET', `/api/collections/bob/renamed-stuff-${id}`)).status, 404);

      // A second collection of the same title is another collection; positions follow creation.
      const twin = await create(alice, 'Renamed stuff');
      assert.notEqual(twin.slug, patched.data.slug);
      assert.ok(twin.position! > c.position!);
      const moved = await ok<{ data: Collection }>(alice, 'PATCH', `/api/collections/${twin.slug}`, { position: 0 });
      assert.equal(moved.data.position, 0);
      assert.equal((await get(alice, c.slug)).position, 1);

      assert.deepEqual(await ok(alice, 'DELETE', `/api/collections/${twin.slug}`), {});
      const again = await call(alice, 'DELETE', `/api/collections/${twin.slug}`);
      assert.equal(again.status, 404);
      assert.equal(again.headers.get('x-error-code'), 'CollectionNotFound');
    });

    it('items: add (the whole collection back), order, notes, nested collections by slug or id, 409 on duplicates, move and delete renumber', async () => {
      const c = await create(alice, 'Items');
      const inner = await create(alice, 'Inner');
      let full = await ok<Collection>(alice, 'POST', `/api/collections/${c.slug}/items`, { item: { id: 'alice/one', type: 'model' }, note: 'see https://example.com/x?a=1&b=<2>' });
      for (const k of PYTHON_REQUIRED) assert.ok(k in full, `missing ${k}`);
      assert.equal(full.items.length, 1);
      assert.equal((await add(alice, c.slug, 'dataset', 'alice/data')).status, 200);
      assert.equal((await add(alice, c.slug, 'paper', '2311.12983')).status, 200);
      assert.equal((await add(alice, c.slug, 'collection', inner.slug)).status, 200);
      full = await get(alice, c.slug);
      assert.deepEqual(
        full.items.map((i) => [i.type, i.id, i.position]),
        [
          ['model', 'alice/one', 0],
          ['dataset', 'alice/data', 1],
          ['paper', '2311.12983', 2],
          ['collection', inner.slug.slice(-24), 3],
        ],
      );
      for (const i of full.items) assert.match(i._id, HEX24);
      const [model, dataset, paper, nested] = full.items as [Item, Item, Item, Item];
      assert.equal(model.note!.text, 'see https://example.com/x?a=1&b=<2>');
      assert.match(model.note!.html, /^see <a href="https:\/\/example\.com\/x\?a=1&amp;b=&lt;2&gt;"/);
      assert.ok(!model.note!.html.includes('<2>'));
      assert.equal(dataset.note, undefined);
      assert.equal(model.repoType, 'model');
      assert.equal(model.author, 'alice');
      assert.equal(nested.slug, inner.slug);
      assert.equal(paper.id, '2311.12983');

      // Duplicates: 409 (the client's exists_ok then reads the collection), also for a nested collection named by id.
      const dup = await add(alice, c.slug, 'model', 'alice/one');
      assert.equal(dup.status, 409);
      assert.equal((await add(alice, c.slug, 'collection', inner.slug.slice(-24))).status, 409);
      // Unknown things: 404; a wrong type for a repository: 404; unknown type: 400; itself: 400.
      assert.equal((await add(alice, c.slug, 'model', 'alice/nope')).status, 404);
      assert.equal((await add(alice, c.slug, 'dataset', 'alice/one')).status, 404);
      assert.equal((await add(alice, c.slug, 'bucket', 'alice/one')).status, 400);
      assert.equal((await add(alice, c.slug, 'collection', c.slug)).status, 400);
      assert.equal((await add(alice, c.slug, 'collection', 'alice/x-ffffffffffffffffffffffff')).status, 404);

      // Move the paper first: the rest shift.
      assert.deepEqual(await ok(alice, 'PATCH', `/api/collections/${c.slug}/items/${paper._id}`, { position: 0 }), {});
      assert.deepEqual(
        (await get(alice, c.slug)).items.map((i) => [i.id, i.position]),
        [
          ['2311.12983', 0],
          ['alice/one', 1],
          ['alice/data', 2],
          [inner.slug.slice(-24), 3],
        ],
      );
      await ok(alice, 'PATCH', `/api/collections/${c.slug}/items/${dataset._id}`, { note: 'a note' });
      assert.equal((await get(alice, c.slug)).items[2]!.note!.text, 'a note');
      // Delete renumbers; deleting again is 404.
      await ok(alice, 'DELETE', `/api/collections/${c.slug}/items/${model._id}`);
      assert.deepEqual(
        (await get(alice, c.slug)).items.map((i) => [i.id, i.position]),
        [
          ['2311.12983', 0],
          ['alice/data', 1],
          [inner.slug.slice(-24), 2],
        ],
      );
      assert.equal((await call(alice, 'DELETE', `/api/collections/${c.slug}/items/${model._id}`)).status, 404);
      assert.equal((await call(alice, 'PATCH', `/api/collections/${c.slug}/items/${model._id}`, { note: 'x' })).status, 404);
      assert.equal((await call(alice, 'DELETE', `/api/collections/${c.slug}/items/not-an-id`)).status, 404);
      // Deleting the inner collection takes it out of the outer one.
      await ok(alice, 'DELETE', `/api/collections/${inner.slug}`);
      assert.deepEqual(
        (await get(alice, c.slug)).items.map((i) => i.id),
        ['2311.12983', 'alice/data'],
      );
    });

    it('listing: filters by owner, item and q; four items at most and no position; pages with Link', async () => {
      const big = await create(bob, 'Big list', { description: 'Needle in here' });
      await repo(bob, 'm1');
      for (const id of ['alice/one', 'alice/two', 'alice/three', 'bob/m1', 'alice/doomed']) assert.equal((await add(bob, big.slug, 'model', id)).status, 200);
      const small = await create(bob, 'Small list');
      await add(bob, small.slug, 'model', 'bob/m1');
      const listed = await ok<Collection[]>(null, 'GET', '/api/collections?owner=bob&sort=lastModified&limit=100');
      assert.deepEqual(
        listed.map((c) => c.slug),
        [small.slug, big.slug],
      );
      for (const c of listed) {
        assert.ok(!('position' in c), 'a listed collection has no position (the Python client passes its own)');
        for (const k of PYTHON_REQUIRED.filter((k) => k !== 'position')) assert.ok(k in c, `missing ${k}`);
      }
      assert.equal(listed[1]!.items.length, 4);
      assert.deepEqual(
        listed[1]!.items.map((i) => i.position),
        [0, 1, 2, 3],
      );
      assert.deepEqual(
        (await ok<Collection[]>(null, 'GET', '/api/collections?item=models/alice/three')).map((c) => c.slug),
        [big.slug],
      );
      assert.deepEqual(
        (await ok<Collection[]>(null, 'GET', '/api/collections?item=models/bob/m1&owner=bob')).map((c) => c.slug),
        [small.slug, big.slug],
      );
      assert.deepEqual(
        (await ok<Collection[]>(null, 'GET', '/api/collections?q=NEEDLE')).map((c) => c.slug),
        [big.slug],
      );
      assert.deepEqual(await ok(null, 'GET', '/api/collections?q=100%25'), []);
      assert.deepEqual(await ok(null, 'GET', '/api/collections?owner=nobody'), []);
      // Pages: limit 1, then the Link the clients follow.
      const first = await call(null, 'GET', '/api/collections?owner=bob&limit=1');
      assert.equal(first.json.length, 1);
      const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
      assert.ok(next, 'a Link to the next page');
      const second = (await (await fetch(next)).json()) as Collection[];
      assert.deepEqual(
        second.map((c) => c.slug),
        [big.slug],
      );
      // The JS client pages through Link too.
      const all = [];
      for await (const c of hub.listCollections({ hubUrl: h.url, search: { owner: ['bob'] } })) all.push(c.slug);
      assert.deepEqual(all, [small.slug, big.slug]);
      // Bad input.
      assert.equal((await call(null, 'GET', '/api/collections?sort=bogus')).status, 400);
      assert.equal((await call(null, 'GET', '/api/collections?item=widgets/x')).status, 400);
      assert.equal((await call(null, 'GET', '/api/collections?limit=-1')).status, 400);
      assert.equal((await call(null, 'GET', `/api/collections?q=${'x'.repeat(201)}`)).status, 400);
    });

    it('a deleted repository leaves every collection that held it', async () => {
      const c = await create(alice, 'Doomed');
      await add(alice, c.slug, 'model', 'alice/two');
      await add(alice, c.slug, 'model', 'alice/doomed');
      await add(alice, c.slug, 'model', 'alice/three');
      await ok(alice, 'DELETE', '/api/repos/delete', { name: 'doomed', organization: 'alice', type: 'model' });
      assert.deepEqual(
        (await get(alice, c.slug)).items.map((i) => [i.id, i.position]),
        [
          ['alice/two', 0],
          ['alice/three', 1],
        ],
      );
      assert.deepEqual(await ok(null, 'GET', '/api/collections?item=models/alice/doomed'), []);
      // A new repository of the same name is not the deleted one.
      await repo(alice, 'doomed');
      assert.deepEqual(
        (await get(alice, c.slug)).items.map((i) => i.id),
        ['alice/two', 'alice/three'],
      );
      assert.equal((await add(alice, c.slug, 'model', 'alice/doomed')).status, 200);
    });

    it('a deleted account takes its collections with it; a new account of the same name starts with none', async () => {
      const erin = await writer('erin');
      const hers = await create(erin, 'Erins picks', { private: true });
      await ok<{ data: Collection }>(erin, 'PATCH', `/api/collections/${hers.slug}`, { private: false });
      const holder = await create(alice, 'Holds erins');
      assert.equal((await add(alice, holder.slug, 'collection', hers.slug)).status, 200);
      await h.cli(['user', 'delete', 'erin', '--yes']);
      const again = await writer('erin');
      assert.equal((await call(again, 'GET', `/api/collections/${hers.slug}`)).status, 404);
      assert.deepEqual(await ok(again, 'GET', '/api/collections?owner=erin'), []);
      assert.deepEqual((await get(alice, holder.slug)).items, []);
    });

    it('private collections are absent for others; private repositories are left out for those who cannot read them', async () => {
      const hidden = await create(alice, 'Hidden', { private: true });
      assert.equal(hidden.private, true);
      for (const who of [bob, null]) {
        const r = await call(who, 'GET', `/api/collections/${hidden.slug}`);
        assert.equal(r.status, 404);
        assert.equal(r.headers.get('x-error-code'), 'CollectionNotFound');
      }
      assert.equal((await call(bob, 'POST', `/api/collections/${hidden.slug}/items`, { item: { type: 'model', id: 'alice/one' } })).status, 404);
      assert.equal((await call(bob, 'DELETE', `/api/collections/${hidden.slug}`)).status, 404);
      assert.ok(!(await ok<Collection[]>(bob, 'GET', '/api/collections?owner=alice')).some((c) => c.slug === hidden.slug));
      assert.ok((await ok<Collection[]>(alice, 'GET', '/api/collections?owner=alice')).some((c) => c.slug === hidden.slug));
      // Nobody else can add it to their own collection or filter by it.
      const bobs = await create(bob, 'Bobs');
      assert.equal((await add(bob, bobs.slug, 'collection', hidden.slug)).status, 404);
      assert.equal((await add(bob, bobs.slug, 'model', 'alice/secret')).status, 404);
      // Made public, it shows.
      await ok(alice, 'PATCH', `/api/collections/${hidden.slug}`, { private: false });
      assert.equal((await get(bob, hidden.slug)).title, 'Hidden');

      // A public collection holding a private repository: its owner sees it, others do not (and positions close up).
      const mixed = await create(alice, 'Mixed');
      await add(alice, mixed.slug, 'model', 'alice/one');
      await add(alice, mixed.slug, 'model', 'alice/secret');
      await add(alice, mixed.slug, 'model', 'alice/two');
      assert.deepEqual(
        (await get(alice, mixed.slug)).items.map((i) => i.id),
        ['alice/one', 'alice/secret', 'alice/two'],
      );
      for (const who of [bob, null]) {
        assert.deepEqual(
          (await get(who, mixed.slug)).items.map((i) => [i.id, i.position]),
          [
            ['alice/one', 0],
            ['alice/two', 1],
          ],
        );
      }
      assert.deepEqual(await ok(bob, 'GET', '/api/collections?item=models/alice/secret'), []);
      assert.ok((await ok<Collection[]>(alice, 'GET', '/api/collections?item=models/alice/secret')).some((c) => c.slug === mixed.slug));
    });

    it('who may edit: the owner; organization writers and admins; not readers, read-only tokens, strangers or anonymous callers', async () => {
      const c = await create(alice, 'Alices');
      const stranger = await call(bob, 'PATCH', `/api/collections/${c.slug}`, { title: 'mine now' });
      assert.equal(stranger.status, 403);
      assert.equal((await call(bob, 'POST', `/api/collections/${c.slug}/items`, { item: { type: 'model', id: 'alice/one' } })).status, 403);
      assert.equal((await call(bob, 'DELETE', `/api/collections/${c.slug}`)).status, 403);
      assert.equal((await call(alice.readToken, 'PATCH', `/api/collections/${c.slug}`, { title: 'x' })).status, 403);
      assert.equal((await call(null, 'PATCH', `/api/collections/${c.slug}`, { title: 'x' })).status, 401);
      assert.equal((await call(null, 'DELETE', `/api/collections/${c.slug}`)).status, 401);
      assert.equal((await call(bob, 'POST', '/api/collections', { title: 'in alice', namespace: 'alice', private: false })).status, 403);
      assert.equal((await call(alice.readToken, 'POST', '/api/collections', { title: 'ro', namespace: 'alice', private: false })).status, 403);
      assert.equal((await call(alice, 'POST', '/api/collections', { title: 'nowhere', namespace: 'nobody', private: false })).status, 404);
      assert.equal((await get(alice, c.slug)).title, 'Alices');

      // Organization collections: writers (bob) edit, readers (carol) see private ones but do not edit.
      const org = await ok<Collection>(bob, 'POST', '/api/collections', { title: 'Acme picks', namespace: 'acme', private: true });
      assert.equal(org.owner.name, 'acme');
      assert.equal(org.owner.type, 'org');
      assert.match(org.slug, /^acme\/acme-picks-[0-9a-f]{24}$/);
      assert.equal((await add(alice, org.slug, 'model', 'alice/one')).status, 200);
      assert.equal((await get(carol, org.slug)).items.length, 1);
      assert.equal((await call(carol, 'PATCH', `/api/collections/${org.slug}`, { title: 'x' })).status, 403);
      assert.equal((await call(carol, 'POST', '/api/collections', { title: 'c', namespace: 'acme', private: false })).status, 403);
      assert.equal((await call(dave, 'GET', `/api/collections/${org.slug}`)).status, 404);
      assert.equal((await ok<{ data: Collection }>(bob, 'PATCH', `/api/collections/${org.slug}`, { description: 'by bob' })).data.description, 'by bob');
    });

    it('bad input is refused with 400 and leaves nothing behind', async () => {
      const before = (await ok<Collection[]>(alice, 'GET', '/api/collections?owner=alice')).length;
      const bad: unknown[] = [
        { namespace: 'alice' },
        { title: '', namespace: 'alice' },
        { title: '   ', namespace: 'alice' },
        { title: 'x'.repeat(201), namespace: 'alice' },
        { title: 'ok', namespace: 'alice', description: 'd'.repeat(2001) },
        { title: 'ok', namespace: 'alice', private: 'yes' },
        { title: 'ok', namespace: 'alice', theme: 'black' },
        { title: 'ok', namespace: 'alice', item: { type: 'model', id: 'alice/nope' } },
        ['not', 'an', 'object'],
        { title: 42, namespace: 'alice' },
      ];
      for (const body of bad) {
        const r = await call(alice, 'POST', '/api/collections', body);
        assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(body).slice(0, 80)}: ${r.status}`);
        assert.equal(typeof r.json.error, 'string');
      }
      const raw = await fetch(`${h.url}/api/collections`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, body: '{"title": ' });
      assert.equal(raw.status, 400);
      const huge = await fetch(`${h.url}/api/collections`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'big', namespace: 'alice', description: 'x'.repeat(2 << 20) }) });
      assert.equal(huge.status, 413);
      assert.equal((await ok<Collection[]>(alice, 'GET', '/api/collections?owner=alice')).length, before);

      const c = await create(alice, 'Bounds', { item: { type: 'model', id: 'alice/one' } });
      assert.deepEqual(
        c.items.map((i) => i.id),
        ['alice/one'],
      );
      const itemId = c.items[0]!._id;
      assert.equal((await add(alice, c.slug, 'model', 'alice/two', 'n'.repeat(501))).status, 400);
      assert.equal((await add(alice, c.slug, 'model', 'alice/two', 'n'.repeat(500))).status, 200);
      assert.equal((await call(alice, 'POST', `/api/collections/${c.slug}/items`, { item: 'alice/two' })).status, 400);
      assert.equal((await call(alice, 'POST', `/api/collections/${c.slug}/items`, {})).status, 400);
      assert.equal((await call(alice, 'POST', `/api/collections/${c.slug}/items`, { item: { type: 'model', id: 'x'.repeat(300) } })).status, 400);
      assert.equal((await add(alice, c.slug, 'paper', 'not-a-paper')).status, 404);
      for (const body of [{ position: -1 }, { position: 1.5 }, { position: 'first' }, { note: 'n'.repeat(501) }, { note: 7 }]) {
        assert.equal((await call(alice, 'PATCH', `/api/collections/${c.slug}/items/${itemId}`, body)).status, 400, JSON.stringify(body));
      }
      for (const body of [{ title: '' }, { theme: 'black' }, { private: 1 }, { position: -3 }]) {
        assert.equal((await call(alice, 'PATCH', `/api/collections/${c.slug}`, body)).status, 400, JSON.stringify(body));
      }
      assert.equal((await call(alice, 'GET', '/api/collections/alice/no-id-here')).status, 404);
    });
  });
}
