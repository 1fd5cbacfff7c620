import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { createLogger } from '../src/core/logger.js';
import { openDb } from '../src/db/typeorm-db.js';
import { DownloadCounter, dayOf } from '../src/repos/downloads.js';
import { jsonApi } from './helpers/api.js';
import { tmpDir } from './helpers/git.js';
import { freshSchema } from './helpers/pg.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const blobOf = (s: string) => new Blob([Buffer.from(s)]);
const DAY = 86_400_000;

for (const backend of backends()) {
  describe(`download counts (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string; readToken: string };
    const creds = () => ({ hubUrl: h.url, accessToken: alice.token as `hf_${string}` });
    const info = async (p: string) => (await jsonApi(h, alice, 'GET', p)).json as { downloads: number; downloadsAllTime: number };
    const raw = (method: string, p: string, token: string | null = alice.readToken) =>
      fetch(`${h.url}${p}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/counted' } });
      await hub.uploadFiles({
        ...creds(),
        repo: 'alice/counted',
        files: [
          { path: 'config.json', content: blobOf('{"model_type":"bert"}\n') },
          { path: 'model.safetensors', content: blobOf('x'.repeat(2000)) },
          { path: 'tokenizer.json', content: blobOf('{}') },
          { path: 'sub/config.json', content: blobOf('{}') },
        ],
      });
      await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/quiet' } });
      await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/secret' }, private: true });
      await hub.uploadFiles({ ...creds(), repo: 'alice/secret', files: [{ path: 'config.json', content: blobOf('{}') }] });
      await hub.createRepo({ ...creds(), repo: { type: 'dataset', name: 'alice/rows' } });
      await hub.uploadFiles({
        ...creds(),
        repo: { type: 'dataset', name: 'alice/rows' },
        files: [
          { path: 'train.csv', content: blobOf('a,b\n1,2\n') },
          { path: 'test.csv', content: blobOf('a,b\n3,4\n') },
        ],
      });
    });
    after(async () => {
      await h?.stop();
    });

    it('starts at zero in repo info and listings', async () => {
      const i = await info('/api/models/alice/counted');
      assert.equal(i.downloads, 0);
      assert.equal(i.downloadsAllTime, 0);
      const list = (await jsonApi(h, alice, 'GET', '/api/models?author=alice')).json as { id: string; downloads: number }[];
      assert.deepEqual(list.map((r) => r.downloads), [0, 0, 0]);
    });

    it('counts one download per query-file request (GET or HEAD on resolve), never other files, raw, or failures', async () => {
      // The JS client's downloadFile: two requests on resolve (its metadata GET with Range: bytes=0-0, then the
      // content), and the Hub counts every request to a query file.
      const blob = await hub.downloadFile({ ...creds(), repo: 'alice/counted', path: 'config.json' });
      assert.equal(await blob!.text(), '{"model_type":"bert"}\n');
      assert.equal((await info('/api/models/alice/counted')).downloads, 2);
      // Weights and other files are not query files.
      await hub.downloadFile({ ...creds(), repo: 'alice/counted', path: 'model.safetensors' }).then((b) => b!.arrayBuffer());
      await hub.downloadFile({ ...creds(), repo: 'alice/counted', path: 'tokenizer.json' }).then((b) => b!.arrayBuffer());
      // The Python client's HEAD before a download (hf_hub_download's get_hf_file_metadata) counts too.
      assert.equal(await raw('HEAD', '/alice/counted/resolve/main/config.json'), 200);
      // Not counted: raw, a config.json below the root, a missing file, a missing revision, a private repo for a stranger.
      assert.equal(await raw('GET', '/alice/counted/raw/main/config.json'), 200);
      assert.equal(await raw('GET', '/alice/counted/resolve/main/sub/config.json'), 200);
      assert.equal(await raw('GET', '/alice/counted/resolve/main/nope.json'), 404);
      assert.equal(await raw('GET', '/alice/counted/resolve/no-such-branch/config.json'), 404);
      assert.equal(await raw('GET', '/alice/secret/resolve/main/config.json', null), 401);
      // The web UI reading config.json for the model page (its own header) is no download.
      const ui = await fetch(`${h.url}/alice/counted/resolve/main/config.json`, { headers: { 'X-Packhub-UI': '1' } });
      assert.equal(ui.status, 200);
      await ui.arrayBuffer();
      const i = await info('/api/models/alice/counted');
      assert.equal(i.downloads, 3);
      assert.equal(i.downloadsAllTime, 3);
      const expanded = (await jsonApi(h, alice, 'GET', '/api/models/alice/counted?expand=downloads&expand=downloadsAllTime')).json;
      assert.deepEqual(expanded, { _id: expanded._id, id: 'alice/counted', downloads: 3, downloadsAllTime: 3 });
      assert.equal((await info('/api/models/alice/secret')).downloads, 0);
      // The JS client's modelInfo reads the same count.
      const mi = await hub.modelInfo({ ...creds(), name: 'alice/counted' });
      assert.equal(mi.downloads, 3);
    });

    it('counts a dataset once for all the files one client fetches within five minutes', async () => {
      await hub.downloadFile({ ...creds(), repo: { type: 'dataset', name: 'alice/rows' }, path: 'train.csv' }).then((b) => b!.text());
      await hub.downloadFile({ ...creds(), repo: { type: 'dataset', name: 'alice/rows' }, path: 'test.csv' }).then((b) => b!.text());
      assert.equal(await raw('HEAD', '/datasets/alice/rows/resolve/main/train.csv'), 200);
      assert.equal((await info('/api/datasets/alice/rows')).downloads, 1);
    });

    it('sorts listings by downloads, both directions', async () => {
      const ids = async (q: string) => ((await jsonApi(h, alice, 'GET', `/api/models?author=alice${q}`)).json as { id: string; downloads: number }[]).map((r) => `${r.id}:${r.downloads}`);
      assert.deepEqual(await ids('&sort=downloads'), ['alice/counted:3', 'alice/quiet:0', 'alice/secret:0']);
      assert.deepEqual(await ids('&sort=downloads&direction=1'), ['alice/quiet:0', 'alice/secret:0', 'alice/counted:3']);
      // Through the filtered path as well (a filter makes the listing read every repository).
      await hub.uploadFiles({ ...creds(), repo: 'alice/quiet', files: [{ path: 'README.md', content: blobOf('---\nlicense: mit\n---\n') }] });
      await hub.uploadFiles({ ...creds(), repo: 'alice/counted', files: [{ path: 'README.md', content: blobOf('---\nlicense: mit\n---\n') }] });
      assert.deepEqual(await ids('&sort=downloads&filter=license:mit'), ['alice/counted:3', 'alice/quiet:0']);
    });

    it('keeps the counts across a restart', async () => {
      await h.restart();
      const i = await info('/api/models/alice/counted');
      assert.equal(i.downloads, 3);
      assert.equal((await info('/api/datasets/alice/rows')).downloadsAllTime, 1);
    });

    it('a deleted repository takes its counts along', async () => {
      await hub.deleteRepo({ ...creds(), repo: 'alice/counted' });
      await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/counted' } });
      assert.equal((await info('/api/models/alice/counted')).downloadsAllTime, 0);
    });
  });

  describe(`download counts per day (${backend === 'fs' ? 'sqlite' : 'postgres'})`, () => {
    it('downloads are the last 30 days, downloadsAllTime everything; a flush is one batched write', async () => {
      const dir = tmpDir('packhub-dl-');
      const schema = backend === 's3' ? await freshSchema('packhub_dl') : null;
      const db = await openDb(schema ? { kind: 'postgres', url: schema.url } : { kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, createLogger('silent'));
      try {
        let now = Date.UTC(2026, 0, 31, 12);
        const counter = new DownloadCounter(db.downloads, createLogger('silent'), { now: () => now, flushMs: 60_000 });
        const repo = { id: '00000000-0000-0000-0000-000000000001', type: 'model' } as never;
        assert.equal(counter.counts(repo, 'config.json', '1.2.3.4'), true);
        assert.equal(counter.counts(repo, 'model.safetensors', '1.2.3.4'), false);
        let writes = 0;
        const add = db.downloads.add.bind(db.downloads);
        db.downloads.add = async (rows) => {
          writes++;
          return add(rows);
        };
        // 45 days ago, 29 days ago (inside the window) and today.
        for (const [daysAgo, n] of [[45, 3], [29, 2], [0, 4]] as const) {
          const t = now;
          now = t - daysAgo * DAY;
          for (let i = 0; i < n; i++) counter.add('00000000-0000-0000-0000-000000000001');
          now = t;
        }
        counter.add('00000000-0000-0000-0000-000000000002');
        await counter.flush();
        assert.equal(writes, 1, 'four (repository, day) rows in one write');
        counter.add('00000000-0000-0000-0000-000000000001');
        const counts = await counter.read(['00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000003']);
        assert.deepEqual(counts.get('00000000-0000-0000-0000-000000000001'), { downloads: 7, downloadsAllTime: 10 }, 'pending counts are read too');
        assert.deepEqual(counts.get('00000000-0000-0000-0000-000000000002'), { downloads: 1, downloadsAllTime: 1 });
        assert.deepEqual(counts.get('00000000-0000-0000-0000-000000000003'), { downloads: 0, downloadsAllTime: 0 });
        await counter.close();
        assert.equal(writes, 2);
        // Rows of the same day add up.
        const stored = await db.downloads.counts(['00000000-0000-0000-0000-000000000001'], dayOf(now));
        assert.deepEqual(stored.get('00000000-0000-0000-0000-000000000001'), { recent: 5, allTime: 10 });
      } finally {
        await db.close();
        await schema?.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
