import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { jsonApi } from './helpers/api.js';
import { backends, startHub, type Hub } from './helpers/server.js';

/**
 * The download lane (src/http/lane.ts) answers file downloads with a Bearer token (and anonymous
 * ones) ahead of the Express application; the application answers the same URLs with other
 * credentials. Both must give the same answer, byte for byte and header for header, for every kind
 * of download and every error, and the lane must not take what it leaves to the application.
 */

const blobOf = (s: string | Buffer) => new Blob([Buffer.from(s)]);
/** Headers that differ between two answers to the same request. */
const VOLATILE = new Set(['x-request-id', 'date', 'connection', 'keep-alive']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

for (const backend of backends()) {
  describe(`download lane (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    const big = crypto.randomBytes(3 << 20);

    const ask = async (method: string, p: string, headers: Record<string, string>): Promise<Answer> => {
      const r = await fetch(`${h.url}${p}`, { method, headers, redirect: 'manual' });
      const body = Buffer.from(await r.arrayBuffer());
      const kept: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!VOLATILE.has(k)) kept[k] = v;
      });
      // A presigned storage URL (S3) is signed at the second it was made: its query differs.
      if (r.status === 302 && kept.location) kept.location = kept.location.split('?')[0]!;
      return { status: r.status, headers: kept, body };
    };
    const bearer = (u: { token: string }) => ({ authorization: `Bearer ${u.token}` });
    const basic = (u: { name: string; token: string }) => ({ authorization: `Basic ${Buffer.from(`${u.name}:${u.token}`).toString('base64')}` });
    const laneCount = async () => Number(/^packhub_http_lane_requests_total (\d+)/m.exec(await (await fetch(`${h.url}/metrics`)).text())?.[1]);

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
      const creds = { hubUrl: h.url, accessToken: alice.token as `hf_${string}` };
      await hub.createRepo({ ...creds, repo: { type: 'model', name: 'alice/files' } });
      await hub.uploadFiles({
        ...creds,
        repo: 'alice/files',
        files: [
          { path: 'config.json', content: blobOf('{"model_type":"bert"}\n') },
          { path: 'dir/sp ace é.txt', content: blobOf('spaced\n') },
          { path: 'big.bin', content: blobOf(big) },
        ],
      });
      await hub.createRepo({ ...creds, repo: { type: 'model', name: 'alice/secret' }, private: true });
      await hub.uploadFiles({ ...creds, repo: 'alice/secret', files: [{ path: 'config.json', content: blobOf('{}') }] });
      await hub.createRepo({ ...creds, repo: { type: 'dataset', name: 'alice/rows' } });
      await hub.uploadFiles({ ...creds, repo: { type: 'dataset', name: 'alice/rows' }, files: [{ path: 'train.csv', content: blobOf('a,b\n1,2\n') }] });
      await hub.createRepo({ ...creds, repo: { type: 'model', name: 'alice/old' } });
      await hub.uploadFiles({ ...creds, repo: 'alice/old', files: [{ path: 'config.json', content: blobOf('{}') }] });
      const moved = await jsonApi(h, alice, 'POST', '/api/repos/move', { fromRepo: 'alice/old', toRepo: 'alice/new', type: 'model' });
      assert.equal(moved.status, 200, JSON.stringify(moved.json));
    });
    after(async () => {
      await h?.stop();
    });

    const requests: [method: string, path: string, headers?: Record<string, string>][] = [
      ['GET', '/alice/files/resolve/main/config.json'],
      ['HEAD', '/alice/files/resolve/main/config.json'],
      ['GET', '/alice/files/resolve/main/config.json?download=true'],
      ['GET', '/alice/files/resolve/main/config.json', { range: 'bytes=2-5' }],
      ['GET', '/alice/files/resolve/main/config.json', { range: 'bytes=999999-' }],
      ['GET', '/alice/files/RESOLVE/main/config.json'],
      ['GET', '/alice/files/resolve/main/dir/sp%20ace%20%C3%A9.txt'],
      ['GET', '/alice/files/resolve/main/missing.txt'],
      ['GET', '/alice/files/resolve/main/dir'],
      ['GET', '/alice/files/resolve/no-such-branch/config.json'],
      ['GET', '/alice/files/resolve/refs%2Fpr%2F7/config.json'],
      ['GET', '/alice/files/resolve/main/%E0%A4%A'],
      ['GET', '/al%E0ice/files/resolve/main/config.json'],
      ['GET', '/alice/files/raw/main/big.bin'],
      ['GET', '/alice/files/resolve/main/big.bin'],
      ['HEAD', '/alice/files/resolve/main/big.bin'],
      ['GET', '/alice/files/resolve/main/big.bin', { range: 'bytes=1048570-2097160' }],
      ['GET', '/datasets/alice/rows/resolve/main/train.csv'],
      ['GET', '/Datasets/alice/rows/resolve/main/train.csv'],
      ['GET', '/spaces/alice/rows/resolve/main/train.csv'],
      ['GET', '/alice/secret/resolve/main/config.json'],
      ['GET', '/alice/nothing/resolve/main/config.json'],
      ['GET', '/alice/old/resolve/main/config.json'],
    ];

    it('answers every download and every error as the application does (Bearer in the lane, Basic in the application)', async () => {
      for (const who of [alice, bob]) {
        for (const [method, p, headers = {}] of requests) {
          const before = await laneCount();
          const inLane = await ask(method, p, { ...headers, ...bearer(who) });
          const after = await laneCount();
          const inApp = await ask(method, p, { ...headers, ...basic(who) });
          assert.equal(await laneCount(), after, `${method} ${p} with Basic credentials is the application's`);
          assert.equal(after, before + 1, `${method} ${p} with a Bearer token went through the lane`);
          assert.deepEqual(inLane, inApp, `${who.name}: ${method} ${p}`);
        }
      }
      // What the matrix covers: successes, ranges, redirects and the error kinds.
      const statuses = new Set<number>();
      for (const [method, p, headers = {}] of requests) statuses.add((await ask(method, p, { ...headers, ...bearer(alice) })).status);
      // S3 storage answers LFS objects with a redirect to a presigned URL.
      assert.deepEqual([...statuses].sort(), backend === 's3' ? [200, 206, 302, 307, 400, 404, 416] : [200, 206, 307, 400, 404, 416]);
      const lfs = await fetch(`${h.url}/alice/files/resolve/main/big.bin`, { headers: bearer(alice) });
      assert.ok(Buffer.from(await lfs.arrayBuffer()).equals(big), 'the LFS object through the lane');
      const moved = await ask('GET', '/alice/old/resolve/main/config.json', bearer(alice));
      assert.equal(moved.headers.location, '/alice/new/resolve/main/config.json');
    });

    it('answers anonymous downloads as the application does, and private repositories as missing', async () => {
      for (const [method, p, headers = {}] of requests) {
        const before = await laneCount();
        const inLane = await ask(method, p, headers);
        const after = await laneCount();
        // The web UI's header sends the request to the application (its session cookie, here none).
        const inApp = await ask(method, p, { ...headers, 'x-packhub-ui': '1' });
        assert.equal(after, before + 1, `${method} ${p} anonymous went through the lane`);
        assert.equal(await laneCount(), after, `${method} ${p} with the UI's header is the application's`);
        assert.deepEqual(inLane, inApp, `anonymous: ${method} ${p}`);
      }
      const secret = await ask('GET', '/alice/secret/resolve/main/config.json', {});
      const nothing = await ask('GET', '/alice/nothing/resolve/main/config.json', {});
      assert.equal(secret.status, 401);
      assert.deepEqual(secret, nothing);
    });

    it('a token that does not authenticate is a 401 InvalidToken in the HF style, never anonymous', async () => {
      const a = await ask('GET', '/alice/files/resolve/main/config.json', { authorization: 'Bearer hf_not-a-token' });
      assert.equal(a.status, 401);
      assert.equal(a.headers['x-error-code'], 'InvalidToken');
      assert.deepEqual(JSON.parse(a.body.toString()), { error: 'Invalid credentials in Authorization header' });
    });

    it('leaves to the application what it does not take: other methods, bodies, other paths', async () => {
      const before = await laneCount();
      const post = await ask('POST', '/alice/files/resolve/main/config.json', bearer(alice));
      assert.equal(post.status, 404);
      const withBody = await fetch(`${h.url}/alice/files/resolve/main/config.json`, { method: 'GET', headers: { ...bearer(alice), 'content-length': '0' } });
      assert.equal(withBody.status, 200);
      await withBody.arrayBuffer();
      const nsLess = await ask('GET', '/gpt2/resolve/main/config.json', bearer(alice));
      assert.equal(nsLess.status, 404);
      assert.equal(nsLess.headers['x-error-code'], 'RepoNotFound');
      const api = await ask('GET', '/api/models/alice/files', bearer(alice));
      assert.equal(api.status, 200);
      // Only the request with an empty body (Content-Length: 0) was the lane's.
      assert.equal(await laneCount(), before + 1);
    });
  });
}
