import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { startChecksumProxy, type ChecksumProxy } from './helpers/checksum-proxy.js';
import { startS3, type S3 } from './helpers/s3.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

/**
 * Adversarial tests of LFS possession: nobody can destroy, overwrite or link an object they cannot
 * prove they hold. Alice keeps an object in a private repository; Bob (write access to his own
 * repositories only) knows its oid and size, as anyone who saw a tree listing would.
 */

type User = { name: string; token: string; readToken: string };
const LFS_JSON = 'application/vnd.git-lfs+json';
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const basic = (u: { name: string; token: string }) => `Basic ${Buffer.from(`${u.name}:${u.token}`).toString('base64')}`;

async function batch(hub: Hub, user: User, repo: string, operation: 'upload' | 'download', objects: { oid: string; size: number }[], transfers = ['basic']) {
  const res = await fetch(`${hub.url}/${repo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { Accept: LFS_JSON, 'Content-Type': LFS_JSON, Authorization: basic(user) },
    body: JSON.stringify({ operation, objects, transfers, hash_algo: 'sha256' }),
  });
  assert.equal(res.status, 200, `batch ${operation} on ${repo}`);
  return ((await res.json()) as { objects: any[] }).objects;
}

async function verify(href: string, oid: string, size: number) {
  const res = await fetch(href, { method: 'POST', headers: { 'Content-Type': LFS_JSON, Accept: LFS_JSON }, body: JSON.stringify({ oid, size }) });
  return { status: res.status, body: await res.text() };
}

/** The whole git-lfs basic upload: batch, PUT (with the action's headers) and verify. */
async function upload(hub: Hub, user: User, repo: string, data: Buffer, oid = sha256(data)) {
  const [obj] = await batch(hub, user, repo, 'upload', [{ oid, size: data.length }]);
  if (!obj.actions) return { uploaded: false, put: 0, verify: 0 };
  const up = obj.actions.upload;
  const put = await fetch(up.href, { method: 'PUT', headers: up.header ?? {}, body: data });
  await put.arrayBuffer();
  const v = put.ok ? await verify(obj.actions.verify.href, oid, data.length) : { status: 0 };
  return { uploaded: true, put: put.status, verify: v.status };
}

/** The object's bytes as `user` downloads them through `repo`, or null when the repo does not have it. */
async function download(hub: Hub, user: User, repo: string, oid: string, size: number): Promise<Buffer | null> {
  const [obj] = await batch(hub, user, repo, 'download', [{ oid, size }]);
  if (obj.error) {
    assert.equal(obj.error.code, 404);
    return null;
  }
  const res = await fetch(obj.actions.download.href);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** An HF API commit of NDJSON lines after the header. */
async function hfCommit(hub: Hub, user: User, repo: string, lines: object[], summary = 'commit') {
  const body = [{ key: 'header', value: { summary } }, ...lines].map((l) => JSON.stringify(l)).join('\n');
  const res = await fetch(`${hub.url}/api/models/${repo}/commit/main`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/x-ndjson' },
    body,
  });
  return { status: res.status, code: res.headers.get('x-error-code'), message: res.headers.get('x-error-message'), body: await res.text() };
}

/** What an error says with the oid (and request ids) taken out: two answers must be indistinguishable. */
const normalized = (s: string | null, oid: string) => (s ?? '').replaceAll(oid, '<oid>').replace(/"request_id":"[^"]*"/g, '');

for (const backend of backends()) {
  describe(`LFS objects can be neither stolen nor destroyed (${backend})`, () => {
    let hub: Hub;
    let alice: User;
    let bob: User;
    let carol: User;
    const secret = crypto.randomBytes(300_000);
    const secretOid = sha256(secret);
    const open = crypto.randomBytes(200_000);
    const openOid = sha256(open);

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          // S3: objects under 10 MiB go straight to the bucket by presigned PUT, larger ones through packhub.
          hub = await startHub({ backend, env: { PACKHUB_LFS_PROXY_UPLOAD_BYTES: '10MiB', PACKHUB_LFS_THRESHOLD: '1MiB' } });
          alice = await hub.user('alice');
          bob = await hub.user('bob');
          carol = await hub.user('carol');
          await hub.repo('alice/private', { private: true });
          await hub.repo('alice/open');
          await hub.repo('bob/own');
          // One repository per attack, so that each test stands alone (an attack that worked leaves no trace in the next).
          for (const r of ['t-commit', 't-verify', 't-put']) await hub.repo(`bob/${r}`);
          await hub.repo('carol/mine', { private: true });
          const a = await upload(hub, alice, 'alice/private', secret);
          assert.deepEqual([a.put, a.verify], [200, 200]);
          const b = await upload(hub, alice, 'alice/open', open);
          assert.deepEqual([b.put, b.verify], [200, 200]);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(async () => {
      await hub?.stop();
    });

    const aliceStillHasIt = async (data = secret) => {
      const got = await download(hub, alice, 'alice/private', sha256(data), data.length);
      assert.ok(got, "alice's object is still linked");
      assert.ok(got.equals(data), "alice's object is byte-identical");
    };

    it('destroy: a verify that fails (wrong size declared) leaves the stored object intact', async () => {
      // An object of its own, so that this test does not depend on the others (nor they on it).
      const victim = crypto.randomBytes(150_000);
      const oid = sha256(victim);
      assert.deepEqual(Object.values(await upload(hub, alice, 'alice/private', victim)).slice(1), [200, 200]);
      for (const size of [victim.length + 1, victim.length - 1]) {
        const [obj] = await batch(hub, bob, 'bob/own', 'upload', [{ oid, size }]);
        assert.ok(obj.actions?.upload, `bob must upload (size ${size})`);
        const v = await verify(obj.actions.verify.href, oid, size);
        assert.ok(v.status >= 400 && v.status < 500, `verify without bytes is refused (${v.status} ${v.body})`);
        await aliceStillHasIt(victim);
      }
      // A fresh upload of the same bytes by someone who has them still works, and changes nothing.
      const again = await upload(hub, carol, 'carol/mine', victim);
      assert.deepEqual([again.put, again.verify], [200, 200]);
      assert.ok((await download(hub, carol, 'carol/mine', oid, victim.length))!.equals(victim));
      await aliceStillHasIt(victim);
    });

    it('steal: an API commit naming a foreign oid is refused exactly as one naming no object at all', async () => {
      const ghost = sha256(crypto.randomBytes(64));
      const stolen = await hfCommit(hub, bob, 'bob/t-commit', [{ key: 'lfsFile', value: { path: 'stolen.bin', algo: 'sha256', oid: secretOid, size: secret.length } }]);
      const missing = await hfCommit(hub, bob, 'bob/t-commit', [{ key: 'lfsFile', value: { path: 'stolen.bin', algo: 'sha256', oid: ghost, size: secret.length } }]);
      assert.ok(stolen.status >= 400 && stolen.status < 500, `refused (${stolen.status} ${stolen.body})`);
      assert.equal(stolen.code, 'LfsObjectMissing');
      assert.deepEqual(
        [stolen.status, stolen.code, normalized(stolen.message, secretOid), normalized(stolen.body, secretOid)],
        [missing.status, missing.code, normalized(missing.message, ghost), normalized(missing.body, ghost)],
        'the answer does not tell whether the oid exists on the hub',
      );
      // Without a size too.
      const noSize = await hfCommit(hub, bob, 'bob/t-commit', [{ key: 'lfsFile', value: { path: 'stolen.bin', algo: 'sha256', oid: secretOid } }]);
      assert.equal(noSize.code, 'LfsObjectMissing');
      // Nothing of alice's is served through bob's repository.
      const res = await fetch(`${hub.url}/bob/t-commit/resolve/main/stolen.bin`, { headers: { Authorization: `Bearer ${bob.token}` } });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 404);
      assert.ok(!body.includes(secret.subarray(0, 64)));
      assert.equal(await download(hub, bob, 'bob/t-commit', secretOid, secret.length), null);
    });

    it('steal: batch upload then verify without any PUT is refused, with the same answer as for a missing object', async () => {
      const ghost = sha256(crypto.randomBytes(64));
      const [obj, none] = await batch(hub, bob, 'bob/t-verify', 'upload', [
        { oid: secretOid, size: secret.length },
        { oid: ghost, size: secret.length },
      ]);
      assert.ok(obj.actions?.upload && obj.actions?.verify, 'knowing an oid does not skip the upload');
      const v = await verify(obj.actions.verify.href, secretOid, secret.length);
      const w = await verify(none.actions.verify.href, ghost, secret.length);
      assert.ok(v.status >= 400 && v.status < 500, `refused (${v.status} ${v.body})`);
      assert.deepEqual([v.status, normalized(v.body, secretOid)], [w.status, normalized(w.body, ghost)]);
      assert.equal(await download(hub, bob, 'bob/t-verify', secretOid, secret.length), null);
      // And a git push of a pointer to it is refused (the pointer is not linked to bob's repository).
      const work = path.join(tmpDir('sec-lfs-ptr'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      fs.writeFileSync(path.join(work, 'stolen.bin'), `version https://git-lfs.github.com/spec/v1\noid sha256:${secretOid}\nsize ${secret.length}\n`);
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'pointer'], { cwd: work });
      const r = await gitResult(['push', '--no-verify', `${hub.authUrl(bob)}/bob/t-verify.git`, 'main'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /missing LFS object/);
    });

    it('steal/overwrite: a PUT of wrong bytes under a foreign oid is refused and the original stays intact', async () => {
      const wrong = crypto.randomBytes(secret.length);
      const [obj] = await batch(hub, bob, 'bob/t-put', 'upload', [{ oid: secretOid, size: secret.length }]);
      const up = obj.actions.upload;
      const put = await fetch(up.href, { method: 'PUT', headers: up.header ?? {}, body: wrong });
      await put.arrayBuffer();
      if (backend === 'fs') assert.equal(put.status, 400, 'packhub hashes what it receives');
      const v = await verify(obj.actions.verify.href, secretOid, secret.length);
      assert.ok(v.status >= 400 && v.status < 500, `verify refuses the wrong bytes (${v.status} ${v.body})`);
      assert.equal(await download(hub, bob, 'bob/t-put', secretOid, secret.length), null);
      // Nor does an API commit after the wrong upload (the path the Hub's clients take) link it.
      const c = await hfCommit(hub, bob, 'bob/t-put', [{ key: 'lfsFile', value: { path: 'stolen.bin', algo: 'sha256', oid: secretOid, size: secret.length } }]);
      assert.equal(c.code, 'LfsObjectMissing');
      await aliceStillHasIt();
      // On S3 the PUT went straight to the bucket (s3rver checks no checksum), to a staging key of its own.
      if (backend === 's3') assert.match(new URL(up.href).pathname, /\/lfs-staging\/[^/]+\/\d+\/[0-9a-f]{64}$/);
      // The server-proxied path (large objects on S3, everything on fs) never damages a stored object either.
      const big = crypto.randomBytes(11 << 20);
      const bigOid = sha256(big);
      assert.deepEqual(Object.values(await upload(hub, alice, 'alice/private', big)).slice(1), [200, 200]);
      const [bigObj] = await batch(hub, bob, 'bob/t-put', 'upload', [{ oid: bigOid, size: big.length }]);
      assert.ok(bigObj.actions.upload.href.startsWith(`${hub.url}/lfs/objects/`));
      const forged = Buffer.from(big);
      forged[forged.length - 1] ^= 1;
      const bad = await fetch(bigObj.actions.upload.href, { method: 'PUT', body: forged });
      assert.equal(bad.status, 400);
      assert.equal((await verify(bigObj.actions.verify.href, bigOid, big.length)).status, 400);
      assert.ok((await download(hub, alice, 'alice/private', bigOid, big.length))!.equals(big));
      assert.equal(await download(hub, bob, 'bob/t-put', bigOid, big.length), null);
    });

    it('legit: bob uploads the same bytes himself (the upload proves possession) and gets them linked', async () => {
      const r = await upload(hub, bob, 'bob/own', secret);
      assert.deepEqual([r.uploaded, r.put, r.verify], [true, 200, 200]);
      assert.ok((await download(hub, bob, 'bob/own', secretOid, secret.length))!.equals(secret));
      await aliceStillHasIt();
    });

    it('legit (rule ii): a reader of a repository may commit its objects into their own repository', async () => {
      // Through the API: carol can read alice/open, so naming its object suffices.
      const c = await hfCommit(hub, carol, 'carol/mine', [{ key: 'lfsFile', value: { path: 'copied.bin', algo: 'sha256', oid: openOid, size: open.length } }]);
      assert.equal(c.status, 200, c.body);
      const res = await fetch(`${hub.url}/carol/mine/resolve/main/copied.bin`, { headers: { Authorization: `Bearer ${carol.token}` } });
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(open));
      // Through the batch API: "already there", no actions, and linked.
      const [obj] = await batch(hub, bob, 'bob/own', 'upload', [{ oid: openOid, size: open.length }]);
      assert.equal(obj.actions, undefined, 'nothing to upload');
      assert.ok((await download(hub, bob, 'bob/own', openOid, open.length))!.equals(open));
      // A declared size that does not match is no claim on it.
      const [wrongSize] = await batch(hub, carol, 'carol/mine', 'upload', [{ oid: openOid, size: open.length + 1 }]);
      assert.ok(wrongSize.actions?.upload);

      // Read access through an organization counts too; no access, no claim.
      await hub.cli(['org', 'create', 'lab', '--admin', 'alice']);
      await hub.cli(['org', 'add-member', 'lab', 'bob', '--role', 'read']);
      await hub.repo('lab/internal', { private: true });
      const lab = crypto.randomBytes(120_000);
      const labOid = sha256(lab);
      assert.deepEqual(Object.values(await upload(hub, alice, 'lab/internal', lab)).slice(1), [200, 200]);
      // (Into a private repository: in a public one, everybody could read, and so claim, the object.)
      await hub.repo('bob/notes', { private: true });
      const byReader = await hfCommit(hub, bob, 'bob/notes', [{ key: 'lfsFile', value: { path: 'lab.bin', algo: 'sha256', oid: labOid, size: lab.length } }]);
      assert.equal(byReader.status, 200, byReader.body);
      assert.ok((await download(hub, bob, 'bob/notes', labOid, lab.length))!.equals(lab));
      const byStranger = await hfCommit(hub, carol, 'carol/mine', [{ key: 'lfsFile', value: { path: 'lab.bin', algo: 'sha256', oid: labOid, size: lab.length } }]);
      assert.equal(byStranger.code, 'LfsObjectMissing');
      const [strangerBatch] = await batch(hub, carol, 'carol/mine', 'upload', [{ oid: labOid, size: lab.length }]);
      assert.ok(strangerBatch.actions?.upload, 'a stranger must upload the bytes');
      assert.equal(await download(hub, carol, 'carol/mine', labOid, lab.length), null);
    });

    it('legit: @huggingface/hub uploads a large file (LFS, no verify call) and downloads it byte-identical', async () => {
      const big = crypto.randomBytes(3 << 20);
      const creds = { hubUrl: hub.url, accessToken: bob.token as `hf_${string}` };
      await hf.uploadFiles({ ...creds, repo: 'bob/own', commitTitle: 'weights', files: [{ path: 'model.safetensors', content: new Blob([big]) }] });
      const got = await hf.downloadFile({ ...creds, repo: 'bob/own', path: 'model.safetensors' });
      assert.ok(Buffer.from(await got!.arrayBuffer()).equals(big));
      const entries = [];
      for await (const f of hf.listFiles({ ...creds, repo: 'bob/own' })) entries.push(f);
      assert.equal(entries.find((e) => e.path === 'model.safetensors')?.lfs?.oid, sha256(big));
    });

    it('legit: git lfs push, and a fresh clone smudges byte-identical', async () => {
      const work = path.join(tmpDir('sec-lfs-push'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      await git(['lfs', 'install', '--local'], { cwd: work });
      await git(['lfs', 'track', '*.bin'], { cwd: work });
      const data = crypto.randomBytes(2 << 20);
      fs.writeFileSync(path.join(work, 'w.bin'), data);
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'lfs'], { cwd: work });
      await hub.repo('carol/pushed');
      await git(['push', '--quiet', `${hub.authUrl(carol)}/carol/pushed.git`, 'main'], { cwd: work });
      const clone = path.join(tmpDir('sec-lfs-clone'), 'c');
      await git(['clone', '--quiet', `${hub.authUrl(carol)}/carol/pushed.git`, clone]);
      assert.ok(fs.readFileSync(path.join(clone, 'w.bin')).equals(data));
    });
  });
}

if (backends().includes('s3')) {
  describe('S3 uploads are verified by checksum where the store checks it (s3rver behind a checksum-checking proxy)', () => {
    let s3: S3;
    let proxy: ChecksumProxy;
    let hub: Hub;
    let alice: User;
    let bob: User;

    before(async () => {
      s3 = await startS3();
      proxy = await startChecksumProxy(s3.endpoint);
      hub = await startHub({ backend: 's3', env: { PACKHUB_S3_ENDPOINT: proxy.url } });
      alice = await hub.user('alice');
      bob = await hub.user('bob');
      await hub.repo('alice/private', { private: true });
      await hub.repo('bob/own');
    });
    afterEach((t) => serverLogOnFailure(t, hub));
    after(async () => {
      await hub?.stop();
      await proxy?.close();
      await s3?.release();
    });

    it('a presigned PUT carries the signed checksum header; verify trusts the store checksum without reading back', async () => {
      const data = crypto.randomBytes(500_000);
      const oid = sha256(data);
      const [obj] = await batch(hub, alice, 'alice/private', 'upload', [{ oid, size: data.length }]);
      const up = obj.actions.upload;
      assert.equal(up.header?.['x-amz-checksum-sha256'], Buffer.from(oid, 'hex').toString('base64'));
      assert.match(new URL(up.href).searchParams.get('X-Amz-SignedHeaders') ?? '', /x-amz-checksum-sha256/);
      const put = await fetch(up.href, { method: 'PUT', headers: up.header, body: data });
      assert.equal(put.status, 200);
      proxy.gets.length = 0;
      assert.equal((await verify(obj.actions.verify.href, oid, data.length)).status, 200);
      assert.deepEqual(proxy.gets.filter((k) => k.includes('lfs-staging/')), [], 'no read-back of the staged object');
      assert.ok((await download(hub, alice, 'alice/private', oid, data.length))!.equals(data));
    });

    it('wrong bytes through the presigned URL are refused by the store; nothing is linked, the original is intact', async () => {
      const data = crypto.randomBytes(400_000);
      const oid = sha256(data);
      const a = await upload(hub, alice, 'alice/private', data);
      assert.deepEqual([a.put, a.verify], [200, 200]);
      const [obj] = await batch(hub, bob, 'bob/own', 'upload', [{ oid, size: data.length }]);
      const put = await fetch(obj.actions.upload.href, { method: 'PUT', headers: obj.actions.upload.header, body: crypto.randomBytes(data.length) });
      assert.equal(put.status, 400, 'the store refuses bytes that do not match the signed checksum');
      assert.ok((await verify(obj.actions.verify.href, oid, data.length)).status >= 400);
      assert.equal(await download(hub, bob, 'bob/own', oid, data.length), null);
      assert.ok((await download(hub, alice, 'alice/private', oid, data.length))!.equals(data));
    });

    it('the Hub clients (no action headers) still upload; their objects are read back', async () => {
      const big = crypto.randomBytes(2 << 20);
      const creds = { hubUrl: hub.url, accessToken: bob.token as `hf_${string}` };
      await hf.uploadFiles({ ...creds, repo: 'bob/own', commitTitle: 'weights', files: [{ path: 'w.bin', content: new Blob([big]) }] });
      assert.ok(Buffer.from(await (await hf.downloadFile({ ...creds, repo: 'bob/own', path: 'w.bin' }))!.arrayBuffer()).equals(big));
    });
  });
}
