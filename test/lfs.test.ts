import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const LFS_JSON = 'application/vnd.git-lfs+json';
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const basic = (u: { name: string; token: string }) => `Basic ${Buffer.from(`${u.name}:${u.token}`).toString('base64')}`;

async function batch(url: string, body: unknown, auth?: string) {
  const res = await fetch(`${url}/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { Accept: LFS_JSON, 'Content-Type': LFS_JSON, ...(auth ? { Authorization: auth } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

for (const backend of backends()) {
  describe(`git lfs (${backend})`, () => {
    let hub: Hub;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    let work: string;
    const files = new Map<string, Buffer>();

    before(async () => {
      // On S3, objects of 10 MiB and more go through the server as multipart uploads (the 20 MiB
      // files below); smaller ones use one presigned PUT straight to the bucket.
      hub = await startHub({ backend, env: { PACKHUB_LFS_PROXY_UPLOAD_BYTES: '10MiB' } });
      alice = await hub.user('alice');
      bob = await hub.user('bob', { admin: false });
      await hub.repo('alice/weights');
      await hub.repo('alice/hidden', { private: true });
      work = path.join(tmpDir('lfs'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      await git(['lfs', 'install', '--local'], { cwd: work });
      await git(['remote', 'add', 'origin', `${hub.authUrl(alice)}/alice/weights.git`], { cwd: work });
    });
    after(async () => {
      await hub?.stop();
    });

    it('pushes three 20 MiB files through LFS; a fresh clone smudges them byte-identical', async () => {
      await git(['lfs', 'track', '*.bin'], { cwd: work });
      for (const n of ['a', 'b', 'c']) {
        const data = crypto.randomBytes(20 << 20);
        files.set(`${n}.bin`, data);
        fs.writeFileSync(path.join(work, `${n}.bin`), data);
      }
      fs.writeFileSync(path.join(work, 'notes.txt'), 'small text file\n');
      await git(['add', '.'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'weights'], { cwd: work });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });

      const clone = path.join(tmpDir('lfs-clone'), 'c');
      await git(['clone', '--quiet', `${hub.authUrl(alice)}/alice/weights.git`, clone]);
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(clone, name)).equals(data), `${name} is byte-identical`);
      assert.equal(fs.readFileSync(path.join(clone, 'notes.txt'), 'utf8'), 'small text file\n');
      await git(['lfs', 'fsck'], { cwd: clone });
      const ls = await git(['lfs', 'ls-files'], { cwd: clone });
      for (const name of files.keys()) assert.match(ls, new RegExp(`\\* ${name.replace('.', '\\.')}`));
      // In git the files are pointers.
      assert.match(await git(['cat-file', '-p', 'HEAD:a.bin'], { cwd: clone }), /^version https:\/\/git-lfs.github.com\/spec\/v1\noid sha256:[0-9a-f]{64}\nsize 20971520\n$/);
    });

    it('git lfs pull after a shallow clone without smudging', async () => {
      const clone = path.join(tmpDir('lfs-shallow'), 'c');
      await git(['clone', '--quiet', '--depth', '1', `${hub.authUrl(alice)}/alice/weights.git`, clone], { env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      assert.ok(fs.statSync(path.join(clone, 'a.bin')).size < 200, 'a pointer before the pull');
      await git(['lfs', 'pull'], { cwd: clone });
      assert.ok(fs.readFileSync(path.join(clone, 'a.bin')).equals(files.get('a.bin')!));
    });

    it('downloads resume with Range (206)', async () => {
      const data = files.get('b.bin')!;
      const oid = sha256(data);
      const r = await batch(`${hub.url}/alice/weights.git`, { operation: 'download', objects: [{ oid, size: data.length }], transfers: ['basic'] }, basic(alice));
      assert.equal(r.status, 200);
      assert.equal(r.json.transfer, 'basic');
      const href = r.json.objects[0].actions.download.href as string;
      const partial = await fetch(href, { headers: { Range: 'bytes=1000-' } });
      assert.equal(partial.status, 206);
      const rest = Buffer.from(await partial.arrayBuffer());
      assert.ok(rest.equals(data.subarray(1000)), 'the rest of the object from byte 1000');
    });

    it('rejects uploads with a wrong SHA-256 or size, and links nothing', async () => {
      const good = crypto.randomBytes(100_000);
      const oid = sha256(good);
      const r = await batch(`${hub.url}/alice/weights.git`, { operation: 'upload', objects: [{ oid, size: good.length }], transfers: ['basic'] }, basic(alice));
      const upload = r.json.objects[0].actions.upload;
      // Small objects: straight to the bucket on S3, through the hub on the filesystem.
      assert.equal((upload.href as string).startsWith(`${hub.url}/lfs/objects/`), backend === 'fs', upload.href);
      const large = await batch(`${hub.url}/alice/weights.git`, { operation: 'upload', objects: [{ oid: 'e'.repeat(64), size: 30 << 20 }] }, basic(alice));
      assert.ok((large.json.objects[0].actions.upload.href as string).startsWith(`${hub.url}/lfs/objects/`), 'large uploads go through the hub');
      const verify = r.json.objects[0].actions.verify;
      const wrongBytes = crypto.randomBytes(100_000);
      const put1 = await fetch(upload.href, { method: 'PUT', headers: upload.header ?? {}, body: wrongBytes });
      if (put1.ok) {
        // Storage that cannot check the hash on upload: the verify step must refuse it.
        const v = await fetch(verify.href, { method: 'POST', headers: { 'Content-Type': LFS_JSON }, body: JSON.stringify({ oid, size: good.length }) });
        assert.ok(v.status >= 400, `verify refuses the wrong bytes (${v.status})`);
      }
      const shortBody = await fetch(upload.href, { method: 'PUT', headers: upload.header ?? {}, body: good.subarray(0, 1000) }).catch(() => null);
      if (shortBody?.ok) {
        const v = await fetch(verify.href, { method: 'POST', headers: { 'Content-Type': LFS_JSON }, body: JSON.stringify({ oid, size: good.length }) });
        assert.ok(v.status >= 400, 'verify refuses a short body');
      }
      const d = await batch(`${hub.url}/alice/weights.git`, { operation: 'download', objects: [{ oid, size: good.length }] }, basic(alice));
      assert.equal(d.json.objects[0].error?.code, 404, 'the object is not linked to the repository');
      // Invalid oid and size get per-object 422s, not a failed batch.
      const bad = await batch(`${hub.url}/alice/weights.git`, { operation: 'upload', objects: [{ oid: 'xyz', size: 1 }, { oid, size: -5 }] }, basic(alice));
      assert.equal(bad.status, 200);
      assert.deepEqual(bad.json.objects.map((o: any) => o.error?.code), [422, 422]);
    });

    it('answers batches without rights as git-lfs expects: 401 + LFS-Authenticate anonymous, 404 for private, 403 read-only', async () => {
      const body = { operation: 'upload', objects: [{ oid: 'a'.repeat(64), size: 1 }] };
      const anon = await batch(`${hub.url}/alice/weights.git`, body);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('lfs-authenticate') ?? '', /^Basic/);
      const hidden = await batch(`${hub.url}/alice/hidden.git`, { ...body, operation: 'download' }, basic(bob));
      assert.equal(hidden.status, 404);
      const ro = await batch(`${hub.url}/alice/weights.git`, body, basic({ name: 'alice', token: alice.readToken }));
      assert.equal(ro.status, 403);
      const other = await batch(`${hub.url}/alice/weights.git`, body, basic(bob));
      assert.equal(other.status, 403);
    });

    it('locks: lock, list, a push editing a file locked by another user is refused, unlock', async () => {
      // Another user with write access to alice's repository (an admin) holds the lock.
      const carol = await hub.user('carol', { admin: true });
      const carolWork = path.join(tmpDir('lfs-carol'), 'c');
      await git(['clone', '--quiet', `${hub.authUrl(carol)}/alice/weights.git`, carolWork]);
      const lock = await git(['lfs', 'lock', 'notes.txt'], { cwd: carolWork });
      assert.match(lock, /Locked notes.txt/);
      const locks = await git(['lfs', 'locks'], { cwd: work });
      assert.match(locks, /notes\.txt\s+carol/);

      fs.writeFileSync(path.join(work, 'notes.txt'), 'edited while locked\n');
      await git(['commit', '--quiet', '-am', 'edit locked file'], { cwd: work });
      const before = await remoteRefs(`${hub.url}/alice/weights.git`);
      const refused = await gitResult(['push', 'origin', 'main'], { cwd: work, env: { GIT_LFS_SKIP_PUSH: '0' } });
      assert.notEqual(refused.code, 0, 'push refused');
      assert.match(refused.stderr + refused.stdout, /locked|lock/i);
      assert.deepEqual(Object.fromEntries(await remoteRefs(`${hub.url}/alice/weights.git`)), Object.fromEntries(before));
      // Without the client-side check (no pre-push hook) the server refuses it too.
      const serverSide = await gitResult(['push', '--no-verify', 'origin', 'main'], { cwd: work });
      assert.notEqual(serverSide.code, 0);
      assert.match(serverSide.stderr, /path 'notes\.txt' is locked by carol/);
      assert.deepEqual(Object.fromEntries(await remoteRefs(`${hub.url}/alice/weights.git`)), Object.fromEntries(before));

      await git(['lfs', 'unlock', 'notes.txt'], { cwd: carolWork });
      assert.doesNotMatch(await git(['lfs', 'locks'], { cwd: work }), /notes\.txt/);
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
    });

    it('refuses a push whose pointers name objects the hub does not hold, naming the oid', async () => {
      const missing = crypto.randomBytes(4096);
      const oid = sha256(missing);
      fs.writeFileSync(path.join(work, 'ghost.ptr'), `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${missing.length}\n`);
      // A pointer committed as-is (the path is not LFS-tracked), pushed without the LFS pre-push upload.
      await git(['add', 'ghost.ptr'], { cwd: work });
      await git(['commit', '--quiet', '-m', 'pointer without object'], { cwd: work });
      const before = await remoteRefs(`${hub.url}/alice/weights.git`);
      const r = await gitResult(['push', '--no-verify', 'origin', 'main'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`missing LFS object ${oid}`));
      assert.deepEqual(Object.fromEntries(await remoteRefs(`${hub.url}/alice/weights.git`)), Object.fromEntries(before));
    });
  });
}
