import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { git, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const blobOf = (b: Buffer | string) => new Blob([typeof b === 'string' ? Buffer.from(b) : b]);
const bytesOf = async (b: Blob | null) => Buffer.from(await b!.arrayBuffer());

for (const backend of backends()) {
  describe(`@huggingface/hub against packhub (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    const big1 = crypto.randomBytes(8 << 20);
    const big2 = crypto.randomBytes(8 << 20);
    const small = { 'config.json': '{"hidden_size": 8}\n', 'README.md': '---\nlicense: mit\ntags:\n- test\n---\n# a model\n', 'sub/dir/notes.txt': 'nested\n' };
    const creds = () => ({ hubUrl: h.url, accessToken: alice.token as `hf_${string}` });

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
    });
    after(async () => {
      await h?.stop();
    });

    it('whoAmI names the token owner', async () => {
      const me = await hub.whoAmI(creds());
      assert.equal(me.name, 'alice');
      assert.equal(me.type, 'user');
    });

    it('creates a model repo and a dataset repo with an initial commit', async () => {
      const model = await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/tiny' } });
      assert.equal(model.repoUrl, `${h.url}/alice/tiny`);
      const ds = await hub.createRepo({ ...creds(), repo: { type: 'dataset', name: 'alice/data' } });
      assert.equal(ds.repoUrl, `${h.url}/datasets/alice/data`);
      const files = [];
      for await (const f of hub.listFiles({ ...creds(), repo: { type: 'dataset', name: 'alice/data' } })) files.push(f.path);
      assert.deepEqual(files, ['.gitattributes']);
      await assert.rejects(hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/tiny' } }), /already/i);
    });

    it('uploads a folder with small files and two 8 MiB files in one commit', async () => {
      const out = await hub.uploadFiles({
        ...creds(),
        repo: { type: 'model', name: 'alice/tiny' },
        commitTitle: 'add model files',
        files: [
          ...Object.entries(small).map(([p, c]) => ({ path: p, content: blobOf(c) })),
          { path: 'weights/model.safetensors', content: blobOf(big1) },
          { path: 'weights/extra.bin', content: blobOf(big2) },
        ],
      });
      assert.match(out!.commit.oid, /^[0-9a-f]{40}$/);
    });

    it('lists the tree and reads repo info', async () => {
      const entries = [];
      for await (const f of hub.listFiles({ ...creds(), repo: 'alice/tiny', recursive: true })) entries.push(f);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      for (const p of ['.gitattributes', 'config.json', 'README.md', 'sub/dir/notes.txt', 'weights/model.safetensors', 'weights/extra.bin', 'sub', 'sub/dir', 'weights']) {
        assert.ok(byPath.has(p), `tree lists ${p}`);
      }
      assert.equal(byPath.get('weights')!.type, 'directory');
      const lfs = byPath.get('weights/model.safetensors')!;
      assert.equal(lfs.size, 8 << 20);
      assert.equal(lfs.lfs?.oid, crypto.createHash('sha256').update(big1).digest('hex'));
      assert.equal(byPath.get('config.json')!.lfs, undefined);

      const info = await hub.modelInfo({ ...creds(), name: 'alice/tiny', additionalFields: ['sha', 'cardData', 'siblings'] as never });
      assert.equal(info.name, 'alice/tiny');
      assert.equal(info.private, false);
      const extra = info as unknown as { sha: string; cardData: { license: string }; siblings: { rfilename: string }[] };
      assert.match(extra.sha, /^[0-9a-f]{40}$/);
      assert.equal(extra.cardData.license, 'mit');
      assert.ok(extra.siblings.some((s) => s.rfilename === 'weights/extra.bin'));
    });

    it('downloads every file byte-identical, small and LFS', async () => {
      for (const [p, c] of Object.entries(small)) assert.equal((await bytesOf(await hub.downloadFile({ ...creds(), repo: 'alice/tiny', path: p }))).toString(), c);
      assert.ok((await bytesOf(await hub.downloadFile({ ...creds(), repo: 'alice/tiny', path: 'weights/model.safetensors' }))).equals(big1));
      assert.ok((await bytesOf(await hub.downloadFile({ ...creds(), repo: 'alice/tiny', path: 'weights/extra.bin' }))).equals(big2));
      assert.equal(await hub.downloadFile({ ...creds(), repo: 'alice/tiny', path: 'no/such/file' }), null);
      assert.equal(await hub.fileExists({ ...creds(), repo: 'alice/tiny', path: 'config.json' }), true);
    });

    it('lists commits, newest first', async () => {
      const list = [];
      for await (const c of hub.listCommits({ ...creds(), repo: 'alice/tiny' })) list.push(c);
      assert.deepEqual(
        list.map((c) => c.title),
        ['add model files', 'initial commit'],
      );
      assert.equal(list[0]!.authors[0]!.username, 'alice');
      assert.equal(await hub.countCommits({ ...creds(), repo: 'alice/tiny' }), 2);
    });

    it('creates and deletes a branch and a tag', async () => {
      await hub.createBranch({ ...creds(), repo: 'alice/tiny', branch: 'dev' });
      const auth = { Authorization: `Bearer ${alice.token}` };
      let refs = (await (await fetch(`${h.url}/api/models/alice/tiny/refs`, { headers: auth })).json()) as { branches: { name: string }[]; tags: { name: string }[] };
      assert.deepEqual(refs.branches.map((b) => b.name).sort(), ['dev', 'main']);
      const tagRes = await fetch(`${h.url}/api/models/alice/tiny/tag/main`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: 'v1', message: 'first release' }) });
      assert.equal(tagRes.status, 200, await tagRes.clone().text());
      refs = (await (await fetch(`${h.url}/api/models/alice/tiny/refs`, { headers: auth })).json()) as typeof refs;
      assert.deepEqual(refs.tags.map((t) => t.name), ['v1']);
      await hub.deleteBranch({ ...creds(), repo: 'alice/tiny', branch: 'dev' });
      const del = await fetch(`${h.url}/api/models/alice/tiny/tag/v1`, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 200);
      refs = (await (await fetch(`${h.url}/api/models/alice/tiny/refs`, { headers: auth })).json()) as typeof refs;
      assert.deepEqual(refs.branches.map((b) => b.name), ['main']);
      assert.deepEqual(refs.tags, []);
    });

    it('deletes a file', async () => {
      await hub.deleteFile({ ...creds(), repo: 'alice/tiny', path: 'sub/dir/notes.txt' });
      assert.equal(await hub.fileExists({ ...creds(), repo: 'alice/tiny', path: 'sub/dir/notes.txt' }), false);
    });

    it('an API commit is a git commit: git clone + git lfs read it', async () => {
      const dir = path.join(tmpDir('hf-clone'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/tiny.git`, dir]);
      await git(['fsck', '--full', '--strict'], { cwd: dir });
      assert.ok(fs.readFileSync(path.join(dir, 'weights/model.safetensors')).equals(big1));
      assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), small['config.json']);
      assert.match(await git(['cat-file', '-p', 'HEAD:weights/extra.bin'], { cwd: dir }), /^version https:\/\/git-lfs/);
      assert.equal((await git(['log', '-1', '--format=%an %s'], { cwd: dir })).trim(), 'alice Delete sub/dir/notes.txt');

      // And a git push is visible through the API.
      fs.writeFileSync(path.join(dir, 'pushed.txt'), 'from git\n');
      await git(['add', 'pushed.txt'], { cwd: dir });
      await git(['commit', '--quiet', '-m', 'pushed with git'], { cwd: dir });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: dir });
      assert.equal((await bytesOf(await hub.downloadFile({ ...creds(), repo: 'alice/tiny', path: 'pushed.txt' }))).toString(), 'from git\n');
      const commits = [];
      for await (const c of hub.listCommits({ ...creds(), repo: 'alice/tiny' })) commits.push(c.title);
      assert.equal(commits[0], 'pushed with git');
    });

    it('a private repo is invisible to another user and to anonymous callers', async () => {
      await hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/secret' }, visibility: 'private' } as never);
      const asBob = { hubUrl: h.url, accessToken: bob.token as `hf_${string}` };
      assert.equal(await hub.repoExists({ ...asBob, repo: 'alice/secret' }), false);
      assert.equal(await hub.repoExists({ ...creds(), repo: 'alice/secret' }), true);
      const r = await fetch(`${h.url}/api/models/alice/secret`, { headers: { Authorization: `Bearer ${bob.token}` } });
      assert.equal(r.status, 404);
      assert.equal(r.headers.get('x-error-code'), 'RepoNotFound');
      assert.ok(r.headers.get('x-request-id'));
      const anon = await fetch(`${h.url}/api/models/alice/secret`);
      assert.equal(anon.headers.get('x-error-code'), 'RepoNotFound');
      const dl = await fetch(`${h.url}/alice/secret/resolve/main/.gitattributes`, { headers: { Authorization: `Bearer ${bob.token}` } });
      assert.equal(dl.status, 404);
    });

    it('deletes a repository, and its packs leave storage', async () => {
      const stored = () => fs.readdirSync(path.join(h.dataDir, 'objects', 'repos'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
      const before = backend === 'fs' ? stored() : 0;
      await hub.deleteRepo({ ...creds(), repo: { type: 'dataset', name: 'alice/data' } });
      assert.equal(await hub.repoExists({ ...creds(), repo: { type: 'dataset', name: 'alice/data' } }), false);
      // Its initial commit stored a pack and an index.
      if (backend === 'fs') assert.ok(stored() === before - 2, `its pack and index are gone (${before} -> ${stored()})`);
    });
  });
}
