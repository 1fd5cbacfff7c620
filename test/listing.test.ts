import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { loadConfig } from '../src/core/config.js';
import { createDataSource } from '../src/db/data-source.js';
import { jsonApi } from './helpers/api.js';
import { git, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

// GET /api/models listings answered from the database (src/hf/listing.ts, src/db/listing-db.ts):
// visibility as `can` says, search with literal wildcards, filter= and sort=lastModified from the
// per-head summaries, which follow pushes and API commits at once and are rebuilt when another
// process left them stale.

const blobOf = (s: string) => new Blob([Buffer.from(s)]);
const card = (front: string) => `---\n${front}\n---\n# a model\n`;
type Item = { id: string; sha: string | null; lastModified: string; tags: string[]; cardData?: Record<string, unknown> };

for (const backend of backends()) {
  describe(`repository listings from the database (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string };
    let bob: { name: string; token: string };
    let root: { name: string; token: string };
    const creds = (u: { token: string }) => ({ hubUrl: h.url, accessToken: u.token as `hf_${string}` });
    const list = async (who: { token: string } | null, query: string) => {
      const res = await fetch(`${h.url}/api/models?${query}`, { headers: who ? { authorization: `Bearer ${who.token}` } : {} });
      assert.equal(res.status, 200, await res.clone().text());
      return { items: (await res.json()) as Item[], next: res.headers.get('link') };
    };
    const ids = async (who: { token: string } | null, query: string) => (await list(who, query)).items.map((x) => x.id);
    const info = async (id: string) => (await jsonApi(h, root, 'GET', `/api/models/${id}`)).json as Item;

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
      root = await h.user('root', { admin: true });
      await hub.createRepo({ ...creds(alice), repo: { type: 'model', name: 'alice/vis-open' } });
      await hub.createRepo({ ...creds(alice), repo: { type: 'model', name: 'alice/vis-secret' }, private: true });
      await hub.createRepo({ ...creds(bob), repo: { type: 'model', name: 'bob/vis-hidden' }, private: true });
      await hub.createRepo({ ...creds(bob), repo: { type: 'model', name: 'bob/vis-shown' } });
    });
    after(async () => {
      await h?.stop();
    });

    it('private repositories of others are never listed, found or counted', async () => {
      assert.deepEqual(await ids(null, 'search=vis-&sort=id&direction=1'), ['alice/vis-open', 'bob/vis-shown']);
      assert.deepEqual(await ids(alice, 'search=vis-&sort=id&direction=1'), ['alice/vis-open', 'alice/vis-secret', 'bob/vis-shown']);
      assert.deepEqual(await ids(bob, 'search=vis-&sort=id&direction=1'), ['alice/vis-open', 'bob/vis-hidden', 'bob/vis-shown']);
      assert.deepEqual(await ids(root, 'search=vis-&sort=id&direction=1'), ['alice/vis-open', 'alice/vis-secret', 'bob/vis-hidden', 'bob/vis-shown']);
      // Found by neither search nor author, and not counted: no next page when only private ones are left.
      assert.deepEqual(await ids(null, 'search=HIDDEN'), []);
      assert.deepEqual(await ids(alice, 'search=vis-hidden'), []);
      assert.deepEqual(await ids(alice, 'author=BOB&sort=id&direction=1'), ['bob/vis-shown']);
      assert.deepEqual(await ids(bob, 'search=VIS-Secret'), []);
      assert.deepEqual(await ids(alice, 'search=VIS-Secret'), ['alice/vis-secret']);
      const first = await list(null, 'search=vis-&sort=id&direction=1&limit=1');
      assert.deepEqual(first.items.map((x) => x.id), ['alice/vis-open']);
      assert.match(first.next ?? '', /cursor=1/);
      assert.equal((await list(null, 'search=vis-&limit=2')).next, null);
      assert.equal((await list(bob, 'search=vis-&limit=3')).next, null);
      assert.match((await list(root, 'search=vis-&limit=3')).next ?? '', /cursor=3/);
    });

    it('search takes % and _ literally', async () => {
      assert.deepEqual(await ids(root, 'search=vis_'), []);
      assert.deepEqual(await ids(root, 'search=%25'), []);
      assert.deepEqual(await ids(root, 'search=alice%2Fvis-o'), ['alice/vis-open']);
    });

    it('a commit shows at once: lastModified, cardData, tags, filter= and sort=lastModified', async () => {
      await hub.uploadFiles({ ...creds(alice), repo: 'alice/vis-open', files: [{ path: 'README.md', content: blobOf(card('license: mit\npipeline_tag: text-classification\ntags:\n  - alpha-tag')) }] });
      await hub.uploadFiles({ ...creds(alice), repo: 'alice/vis-secret', files: [{ path: 'README.md', content: blobOf(card('tags:\n  - alpha-tag')) }] });
      const [open] = (await list(null, 'search=vis-open')).items;
      const shown = await info('alice/vis-open');
      assert.equal(open!.sha, shown.sha);
      assert.equal(open!.lastModified, shown.lastModified);
      assert.deepEqual(open!.cardData, { license: 'mit', pipeline_tag: 'text-classification', tags: ['alpha-tag'] });
      assert.deepEqual(open!.tags, ['alpha-tag']);
      assert.deepEqual(await ids(null, 'filter=alpha-tag'), ['alice/vis-open']);
      assert.deepEqual(await ids(alice, 'filter=alpha-tag&sort=id&direction=1'), ['alice/vis-open', 'alice/vis-secret']);
      assert.deepEqual(await ids(null, 'filter=license:mit&pipeline_tag=text-classification'), ['alice/vis-open']);
      assert.deepEqual(await ids(null, 'filter=alpha-tag&filter=other'), []);

      // A git push replaces the card: the old tag no longer matches, the new one does.
      const dir = tmpDir('listing-push');
      await git(['clone', `${h.authUrl(alice)}/alice/vis-open.git`, dir]);
      fs.writeFileSync(path.join(dir, 'README.md'), card('tags:\n  - beta-tag'));
      await git(['add', 'README.md'], { cwd: dir });
      await git(['-c', 'user.name=a', '-c', 'user.email=a@example.com', 'commit', '--quiet', '--date=2030-01-01T00:00:00Z', '-m', 'card'], { cwd: dir, env: { GIT_COMMITTER_DATE: '2030-01-01T00:00:00Z' } });
      await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: dir });
      assert.deepEqual(await ids(null, 'filter=alpha-tag'), []);
      assert.deepEqual(await ids(null, 'filter=beta-tag'), ['alice/vis-open']);
      const [pushed] = (await list(null, 'search=vis-open')).items;
      assert.equal(pushed!.lastModified, '2030-01-01T00:00:00.000Z');
      assert.deepEqual(pushed!.cardData, { tags: ['beta-tag'] });

      // sort=lastModified: every repository (with commits or not) by its repo info's lastModified, both ways.
      const infos = await Promise.all(['alice/vis-open', 'alice/vis-secret', 'bob/vis-hidden', 'bob/vis-shown'].map(info));
      const byTime = (dir: 1 | -1) => [...infos].sort((a, b) => (a.lastModified < b.lastModified ? -dir : a.lastModified > b.lastModified ? dir : a.id < b.id ? -1 : 1)).map((x) => x.id);
      const desc = (await list(root, 'search=vis-&sort=lastModified')).items;
      assert.deepEqual(desc.map((x) => x.id), byTime(-1));
      assert.deepEqual(desc.map((x) => x.lastModified), byTime(-1).map((id) => infos.find((x) => x.id === id)!.lastModified));
      assert.deepEqual(await ids(root, 'search=vis-&sort=lastModified&direction=1'), byTime(1));
      assert.equal(desc[0]!.id, 'alice/vis-open');
    });

    it('a summary another process left stale is rebuilt when read', async () => {
      // As if another replica had moved the branch: the stored summary names another commit and its tags are gone.
      const ds = createDataSource(loadConfig(h.env).database);
      await ds.initialize();
      try {
        await ds.query(`UPDATE repo_listing SET head_sha = '${'0'.repeat(40)}', card = NULL, last_modified = 0`);
        await ds.query(`DELETE FROM repo_listing_tags`);
      } finally {
        await ds.destroy();
      }
      assert.deepEqual(await ids(null, 'filter=beta-tag'), ['alice/vis-open']);
      await (async () => {
        const ds2 = createDataSource(loadConfig(h.env).database);
        await ds2.initialize();
        try {
          await ds2.query(`UPDATE repo_listing SET head_sha = '${'0'.repeat(40)}', card = NULL, last_modified = 0`);
        } finally {
          await ds2.destroy();
        }
      })();
      const [open] = (await list(null, 'search=vis-open')).items;
      assert.deepEqual(open!.cardData, { tags: ['beta-tag'] });
      assert.equal(open!.lastModified, '2030-01-01T00:00:00.000Z');
    });
  });
}
