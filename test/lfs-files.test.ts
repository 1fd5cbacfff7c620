import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { loadConfig } from '../src/core/config.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createBlobStore } from '../src/storage/index.js';
import { git, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// LFS file management as huggingface_hub does it (Python only, so raw HTTP shaped like its
// requests): `list_lfs_files` (GET …/lfs-files, Link pagination) and `permanently_delete_lfs_files`
// (POST …/lfs-files/batch with {"deletions": {"sha": [...], "rewriteHistory": bool}}).

const KiB = 1024;
const blobOf = (b: Buffer) => new Blob([b]);
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

type User = { name: string; token: string; readToken: string };
interface LfsFileJson {
  fileOid: string;
  oid: string;
  size: number;
  pushedAt: string;
  filename: string | null;
  ref?: string | null;
  commits: string[];
}

/** Headers huggingface_hub sends (build_hf_headers). */
const pyHeaders = (token: string | null, json = false): Record<string, string> => ({
  'user-agent': 'huggingface_hub/1.3.7; python/3.12; torch/2.5',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(json ? { 'content-type': 'application/json' } : {}),
});

async function lfsKeys(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of blobs.list('lfs/')) out.push(key);
  return out;
}

for (const backend of backends()) {
  describe(`LFS file management (${backend})`, () => {
    let hub: Hub | undefined;
    let blobs: BlobStore;
    let alice: User;
    let bob: User;
    let orgWriter: User;
    let orgAdmin: User;
    const creds = (u: User = alice) => ({ hubUrl: hub!.url, accessToken: u.token as `hf_${string}` });

    /** `list_lfs_files`: follows `Link: rel="next"` as huggingface_hub's paginate does. */
    async function listLfs(token: string | null, repo: string, first = `/api/models/${repo}/lfs-files`): Promise<LfsFileJson[]> {
      const out: LfsFileJson[] = [];
      let url: string | null = `${hub!.url}${first}`;
      for (let pages = 0; url && pages < 20; pages++) {
        const res: Response = await fetch(url, { headers: pyHeaders(token) });
        const text = await res.text();
        assert.equal(res.status, 200, `${url}: ${res.status} ${text}`);
        out.push(...(JSON.parse(text) as LfsFileJson[]));
        url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
      }
      return out;
    }
    const deleteLfs = (token: string | null, repo: string, body: unknown) =>
      fetch(`${hub!.url}/api/models/${repo}/lfs-files/batch`, { method: 'POST', headers: pyHeaders(token, true), body: JSON.stringify(body) });
    const files = async (repo: string, revision?: string) => {
      const out: string[] = [];
      for await (const f of hf.listFiles({ ...creds(), repo, recursive: true, revision })) if (f.type === 'file') out.push(f.path);
      return out.sort();
    };
    const resolve = (repo: string, rev: string, file: string) => fetch(`${hub!.url}/${repo}/resolve/${rev}/${file}`, { headers: pyHeaders(alice.token) });

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          // The test runs `packhub gc` itself; files of 64 KiB and more go to LFS.
          hub = await startHub({ backend, env: { PACKHUB_GC_INTERVAL_MS: '0', PACKHUB_COMPACT_MIN_PACKS: '0', PACKHUB_COMPACT_GRACE_MS: '0', PACKHUB_LFS_THRESHOLD: String(64 * KiB) } });
          alice = await hub.user('alice');
          bob = await hub.user('bob');
          orgWriter = await hub.user('wendy');
          orgAdmin = await hub.user('adam');
          await hub.cli(['org', 'create', 'lab', '--admin', 'adam']);
          await hub.cli(['org', 'add-member', 'lab', 'wendy', '--role', 'write']);
          blobs = await createBlobStore(loadConfig(hub.env).storage);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('lists one entry per LFS object with its size, a filename, the ref and the commits that added it; readers only', async () => {
      await hf.createRepo({ ...creds(), repo: 'alice/listed' });
      const a = crypto.randomBytes(100 * KiB);
      const b = crypto.randomBytes(90 * KiB);
      const c = crypto.randomBytes(80 * KiB);
      const first = await hf.uploadFiles({
        ...creds(),
        repo: 'alice/listed',
        files: [
          { path: 'lfs_file.bin', content: blobOf(a) },
          { path: 'sub/lfs_file_2.bin', content: blobOf(b) },
          { path: 'txt_file.txt', content: blobOf(Buffer.from('small text\n')) },
        ],
      });
      await hf.createBranch({ ...creds(), repo: 'alice/listed', branch: 'dev' });
      // The same object again on the branch, and a new one there.
      const onDev = await hf.uploadFiles({
        ...creds(),
        repo: 'alice/listed',
        branch: 'dev',
        files: [
          { path: 'copy_of_a.bin', content: blobOf(a) },
          { path: 'lfs_file_3.bin', content: blobOf(c) },
        ],
      });

      const listed = await listLfs(alice.token, 'alice/listed');
      assert.equal(listed.length, 3, JSON.stringify(listed));
      const byOid = new Map(listed.map((f) => [f.fileOid, f]));
      const fa = byOid.get(sha256(a))!;
      const fb = byOid.get(sha256(b))!;
      const fc = byOid.get(sha256(c))!;
      assert.ok(fa && fb && fc);
      for (const f of listed) {
        assert.equal(f.oid, f.fileOid);
        assert.match(f.pushedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      }
      assert.deepEqual([fa.size, fb.size, fc.size], [a.length, b.length, c.length]);
      assert.deepEqual([fa.filename, fb.filename, fc.filename], ['lfs_file.bin', 'sub/lfs_file_2.bin', 'lfs_file_3.bin']);
      assert.ok(['main', 'refs/heads/main'].includes(fa.ref!) && ['main', 'refs/heads/main'].includes(fb.ref!));
      assert.equal(fc.ref, 'refs/heads/dev');
      assert.deepEqual(fa.commits, [first!.commit!.oid]);
      assert.deepEqual(fc.commits, [onDev!.commit!.oid]);

      // Link pagination: one per page.
      const paged = await listLfs(alice.token, 'alice/listed', '/api/models/alice/listed/lfs-files?limit=1');
      assert.deepEqual(
        paged.map((f) => f.fileOid),
        listed.map((f) => f.fileOid),
      );

      // A public repository: any reader; a private one answers as a missing one.
      assert.equal((await listLfs(bob.readToken, 'alice/listed')).length, 3);
      await hf.createRepo({ ...creds(), repo: 'alice/hidden', private: true });
      await hf.uploadFile({ ...creds(), repo: 'alice/hidden', file: { path: 'x.bin', content: blobOf(crypto.randomBytes(70 * KiB)) } });
      const stranger = await fetch(`${hub!.url}/api/models/alice/hidden/lfs-files`, { headers: pyHeaders(bob.token) });
      assert.equal(stranger.status, 404);
      assert.equal(stranger.headers.get('x-error-code'), 'RepoNotFound');
      assert.equal((await fetch(`${hub!.url}/api/models/alice/hidden/lfs-files`, { headers: pyHeaders(null) })).status, 401);
      assert.equal((await listLfs(alice.readToken, 'alice/hidden')).length, 1);
      // Bounded input: a nonsense cursor or limit is clamped, not an error.
      const odd = await fetch(`${hub!.url}/api/models/alice/listed/lfs-files?limit=-5&cursor=abc`, { headers: pyHeaders(alice.token) });
      assert.equal(odd.status, 200);
    });

    it('owners and org admins delete; writers, readers, read tokens and strangers may not; bad bodies are 400', async () => {
      await hf.createRepo({ ...creds({ ...orgAdmin }), repo: 'lab/model' });
      const x = crypto.randomBytes(70 * KiB);
      await hf.uploadFile({ ...creds(orgAdmin), repo: 'lab/model', file: { path: 'x.bin', content: blobOf(x) } });
      const body = { deletions: { sha: [sha256(x)], rewriteHistory: true } };
      const refused = async (token: string | null, status: number) => {
        const res = await deleteLfs(token, 'lab/model', body);
        assert.equal(res.status, status, await res.text());
      };
      await refused(null, 401);
      await refused(bob.token, 403); // reads the public repository, no role in the org
      await refused(orgWriter.token, 403); // write role: not enough
      await refused(orgAdmin.readToken, 403);
      assert.equal((await listLfs(orgAdmin.token, 'lab/model')).length, 1, 'nothing was deleted');
      // A private repository answers as a missing one before anything else.
      await hf.createRepo({ ...creds(), repo: 'alice/private-del', private: true });
      assert.equal((await deleteLfs(bob.token, 'alice/private-del', body)).status, 404);

      for (const bad of [
        {},
        { deletions: { sha: [] } },
        { deletions: { sha: ['nothex'] } },
        { deletions: { sha: [sha256(x)], rewriteHistory: 'yes' } },
        { deletions: { sha: Array.from({ length: 1001 }, (_, i) => sha256(Buffer.from(String(i)))) } },
      ]) {
        const res = await deleteLfs(orgAdmin.token, 'lab/model', bad);
        assert.equal(res.status, 400, `${JSON.stringify(bad).slice(0, 80)}: ${res.status}`);
      }
      const ok = await deleteLfs(orgAdmin.token, 'lab/model', body);
      assert.equal(ok.status, 200, await ok.text());
      assert.deepEqual(await listLfs(orgAdmin.token, 'lab/model'), []);
    });

    it('rewriteHistory (the default): the files leave every ref and its history, downloads give EntryNotFound, gc frees the storage', async () => {
      await hf.createRepo({ ...creds(), repo: 'alice/rewrite' });
      const gone = crypto.randomBytes(100 * KiB);
      const kept = crypto.randomBytes(90 * KiB);
      await hf.uploadFiles({
        ...creds(),
        repo: 'alice/rewrite',
        files: [
          { path: 'lfs_file.bin', content: blobOf(gone) },
          { path: 'deep/dir/only.bin', content: blobOf(gone) },
          { path: 'lfs_file_2.bin', content: blobOf(kept) },
          { path: 'txt_file.txt', content: blobOf(Buffer.from('one\n')) },
        ],
      });
      await hf.uploadFile({ ...creds(), repo: 'alice/rewrite', file: { path: 'txt_file_2.txt', content: blobOf(Buffer.from('two\n')) } });
      await hf.createBranch({ ...creds(), repo: 'alice/rewrite', branch: 'dev' });
      // An annotated tag (create_tag with a message) is rewritten too.
      const tagged = await fetch(`${hub!.url}/api/models/alice/rewrite/tag/main`, { method: 'POST', headers: pyHeaders(alice.token, true), body: JSON.stringify({ tag: 'v1', message: 'first release' }) });
      assert.equal(tagged.status, 200, await tagged.text());
      const oldMain = (await (await fetch(`${hub!.url}/api/models/alice/rewrite/revision/main`, { headers: pyHeaders(alice.token) })).json()) as { sha: string };
      assert.ok((await lfsKeys(blobs)).some((k) => k.endsWith(sha256(gone))));

      // The Python client leaves rewriteHistory out only in older versions: the default is true.
      const res = await deleteLfs(alice.token, 'alice/rewrite', { deletions: { sha: [sha256(gone)] } });
      assert.equal(res.status, 200, await res.text());

      assert.deepEqual(await files('alice/rewrite'), ['.gitattributes', 'lfs_file_2.bin', 'txt_file.txt', 'txt_file_2.txt']);
      assert.deepEqual(await files('alice/rewrite', 'dev'), ['.gitattributes', 'lfs_file_2.bin', 'txt_file.txt', 'txt_file_2.txt']);
      assert.deepEqual(await files('alice/rewrite', 'v1'), ['.gitattributes', 'lfs_file_2.bin', 'txt_file.txt', 'txt_file_2.txt']);
      const dl = await resolve('alice/rewrite', 'main', 'lfs_file.bin');
      assert.equal(dl.status, 404);
      assert.equal(dl.headers.get('x-error-code'), 'EntryNotFound');
      const keptDl = await resolve('alice/rewrite', 'main', 'lfs_file_2.bin');
      assert.equal(keptDl.status, 200);
      assert.ok(Buffer.from(await keptDl.arrayBuffer()).equals(kept));
      assert.deepEqual(
        (await listLfs(alice.token, 'alice/rewrite')).map((f) => f.fileOid),
        [sha256(kept)],
      );
      // Commit ids changed from the first commit on; no commit of any ref still names the object.
      const newMain = (await (await fetch(`${hub!.url}/api/models/alice/rewrite/revision/main`, { headers: pyHeaders(alice.token) })).json()) as { sha: string };
      assert.notEqual(newMain.sha, oldMain.sha);
      const clone = path.join(tmpDir('lfs-files-rewrite'), 'c.git');
      await git(['clone', '--quiet', '--mirror', `${hub!.authUrl(alice)}/alice/rewrite.git`, clone]);
      await git(['fsck', '--strict', '--no-dangling'], { cwd: clone });
      const history = await git(['log', '--all', '-p', '--format=%H'], { cwd: clone });
      assert.ok(!history.includes(sha256(gone)), 'a pointer to the deleted object is left in history');
      assert.ok(history.includes(sha256(kept)));
      assert.equal((await git(['log', '--format=%H', 'main'], { cwd: clone })).trim().split('\n').length, 3, 'the initial commit and both uploads stay');
      assert.equal(await git(['cat-file', '-t', 'v1'], { cwd: clone }), 'tag\n');
      assert.equal(await git(['rev-parse', 'v1^{commit}'], { cwd: clone }), `${newMain.sha}\n`);
      assert.match(await git(['cat-file', '-p', 'v1'], { cwd: clone }), /\n\nfirst release/);

      await hub!.cli(['gc', '--grace-ms', '0']);
      const keys = await lfsKeys(blobs);
      assert.ok(!keys.some((k) => k.endsWith(sha256(gone))), 'the deleted object left storage');
      assert.ok(keys.some((k) => k.endsWith(sha256(kept))));
    });

    it('without rewriteHistory: the pointers stay, downloads give EntryNotFound (also after gc, which does not link it again) and storage is freed; a repository sharing the object keeps it', async () => {
      await hf.createRepo({ ...creds(), repo: 'alice/keep-history' });
      await hf.createRepo({ ...creds(), repo: 'alice/sharer' });
      const gone = crypto.randomBytes(100 * KiB);
      const shared = crypto.randomBytes(80 * KiB);
      await hf.uploadFiles({
        ...creds(),
        repo: 'alice/keep-history',
        files: [
          { path: 'gone.bin', content: blobOf(gone) },
          { path: 'shared.bin', content: blobOf(shared) },
        ],
      });
      await hf.uploadFile({ ...creds(), repo: 'alice/sharer', file: { path: 'shared.bin', content: blobOf(shared) } });

      const res = await deleteLfs(alice.token, 'alice/keep-history', { deletions: { sha: [sha256(gone), sha256(shared)], rewriteHistory: false } });
      assert.equal(res.status, 200, await res.text());
      assert.deepEqual(await files('alice/keep-history'), ['.gitattributes', 'gone.bin', 'shared.bin']);
      for (const f of ['gone.bin', 'shared.bin']) {
        const dl = await resolve('alice/keep-history', 'main', f);
        assert.equal(dl.status, 404, f);
        assert.equal(dl.headers.get('x-error-code'), 'EntryNotFound');
      }
      // git-lfs is refused the objects too.
      const batch = await fetch(`${hub!.url}/alice/keep-history.git/info/lfs/objects/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, accept: 'application/vnd.git-lfs+json', 'content-type': 'application/vnd.git-lfs+json' },
        body: JSON.stringify({ operation: 'download', objects: [{ oid: sha256(gone), size: gone.length }] }),
      });
      const answer = (await batch.json()) as { objects: { error?: { code: number } }[] };
      assert.equal(answer.objects[0]!.error?.code, 404);

      await hub!.cli(['gc', '--grace-ms', '0']);
      assert.deepEqual(await listLfs(alice.token, 'alice/keep-history'), [], 'gc linked a deleted object again');
      assert.equal((await resolve('alice/keep-history', 'main', 'gone.bin')).status, 404);
      const keys = await lfsKeys(blobs);
      assert.ok(!keys.some((k) => k.endsWith(sha256(gone))), 'the deleted object left storage');
      assert.ok(keys.some((k) => k.endsWith(sha256(shared))), 'the other repository still links the shared object');
      const fromSharer = await resolve('alice/sharer', 'main', 'shared.bin');
      assert.equal(fromSharer.status, 200);
      assert.ok(Buffer.from(await fromSharer.arrayBuffer()).equals(shared));

      // Uploading the content again brings the file back.
      await hf.uploadFile({ ...creds(), repo: 'alice/keep-history', file: { path: 'gone.bin', content: blobOf(gone) } });
      const again = await resolve('alice/keep-history', 'main', 'gone.bin');
      assert.equal(again.status, 200);
      assert.ok(Buffer.from(await again.arrayBuffer()).equals(gone));
    });
  });
}
