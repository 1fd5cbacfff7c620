import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { git, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Models already on disk become repositories: `packhub import scan` (CLI, --wait) and
// POST /api/admin/imports walk a folder with vendor/name models and a Hugging Face cache layout;
// git + git-lfs and @huggingface/hub read back byte-identical files.

type User = { name: string; token: string; readToken: string };
const MiB = 1024 * 1024;
const bytesOf = async (b: Blob | null) => Buffer.from(await b!.arrayBuffer());
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function api(hub: Hub, user: User | null, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${hub.url}${p}`, {
    method,
    headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

async function jobDone(hub: Hub, admin: User, id: string): Promise<{ job: any; log: string[] }> {
  const until = Date.now() + 120_000;
  for (;;) {
    const r = await api(hub, admin, 'GET', `/api/admin/jobs/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    if (['completed', 'failed', 'cancelled'].includes(r.json.job.state)) return { job: r.json.job, log: r.json.log.map((l: any) => l.line) };
    if (Date.now() > until) throw new Error(`job ${id} still ${r.json.job.state}`);
    await new Promise((r2) => setTimeout(r2, 200));
  }
}

function write(file: string, data: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** Every file of a working tree outside .git: path -> bytes. */
function treeFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, prefix: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), p);
      else out.set(p, fs.readFileSync(path.join(d, e.name)));
    }
  };
  walk(dir, '');
  return out;
}

for (const backend of backends()) {
  describe(`import from disk (${backend})`, () => {
    let hub: Hub;
    let admin: User;
    let bob: User;
    const root = fs.realpathSync(tmpDir('import-root'));
    const outside = fs.realpathSync(tmpDir('import-outside'));
    const models = path.join(root, 'models');
    const commit = crypto.randomBytes(20).toString('hex');
    // What each repository must hold, byte for byte.
    const bert = new Map<string, Buffer>([
      ['config.json', Buffer.from('{"architectures":["BertModel"],"hidden_size":32}\n')],
      ['README.md', Buffer.from('# tiny bert\n')],
      ['model.safetensors', crypto.randomBytes(Math.floor(1.5 * MiB))],
      ['tokenizer/vocab.txt', Buffer.from('[PAD]\n[UNK]\nhello\n')],
    ]);
    const gguf = new Map<string, Buffer>([
      ['config.json', Buffer.from('{"model_type":"llama"}\n')],
      ['model-q4.gguf', crypto.randomBytes(64 * 1024)],
    ]);
    const cached = new Map<string, Buffer>([
      ['config.json', Buffer.from('{"model_type":"gpt2"}\n')],
      ['weights/model.bin', crypto.randomBytes(Math.floor(1.2 * MiB))],
      // The same bytes as the safetensors of acme/tiny-bert: stored once.
      ['shared.safetensors', bert.get('model.safetensors')!],
    ]);

    before(async () => {
      for (const [p, d] of bert) write(path.join(models, 'acme', 'tiny-bert', p), d);
      for (const [p, d] of gguf) write(path.join(models, 'acme', 'small-gguf', p), d);
      // A symlink out of the folder: never followed.
      write(path.join(outside, 'secret.txt'), 'not for the hub\n');
      fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(models, 'acme', 'tiny-bert', 'leak.txt'));
      // Files that cannot be imported: a name git refuses, a dangling symlink, a FIFO (no content to read).
      write(path.join(models, 'acme', 'tiny-bert', 'bad\\name.txt'), 'backslash\n');
      fs.symlinkSync(path.join(models, 'acme', 'tiny-bert', 'gone.bin'), path.join(models, 'acme', 'tiny-bert', 'dangling.bin'));
      execFileSync('mkfifo', [path.join(models, 'acme', 'tiny-bert', 'pipe')]);
      // The Hugging Face cache: snapshots/<commit>/ files are symlinks into ../../blobs/.
      const cache = path.join(models, 'hub', 'models--openai-community--gpt2-mini');
      for (const [p, d] of cached) {
        const blob = path.join(cache, 'blobs', sha256(d));
        write(blob, d);
        const link = path.join(cache, 'snapshots', commit, p);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.relative(path.dirname(link), blob), link);
      }
      write(path.join(cache, 'refs', 'main'), commit);

      hub = await startHub({ backend, env: { PACKHUB_IMPORT_ROOTS: `${outside}x,${root}`, PACKHUB_UPSTREAM_URL: 'none', PACKHUB_JOB_POLL_MS: '100' } });
      await withServerLog(
        () => hub,
        async () => {
          admin = await hub.user('root', { admin: true });
          bob = await hub.user('bob');
        },
      );
    });
    after(async () => {
      await hub?.stop();
    });
    afterEach((t) => serverLogOnFailure(t, hub));

    it('CLI: packhub import scan DIR --wait makes three repositories; the symlink out of DIR is skipped with a log line', async () => {
      const dry = await hub.cli(['import', 'scan', models, '--dry-run']);
      assert.match(dry, /acme\/tiny-bert: would be created \(4 files, 1 in LFS/);
      assert.match(dry, /openai-community\/gpt2-mini: would be created \(3 files, 2 in LFS \(1 to store, 1 already held\)/);
      assert.match(dry, /dry run done: 3 to commit, 0 unchanged/);
      assert.equal((await api(hub, admin, 'GET', '/api/models/acme/tiny-bert')).status, 404, 'a dry run writes nothing');

      const out = await hub.cli(['import', 'scan', models, '--wait']);
      assert.match(out, /acme\/tiny-bert: committed [0-9a-f]{40}/);
      assert.match(out, /acme\/small-gguf: committed [0-9a-f]{40}/);
      assert.match(out, /openai-community\/gpt2-mini: committed [0-9a-f]{40}/);
      assert.match(out, /acme\/tiny-bert: leak\.txt: skipped, symlink out of the imported folder/);
      assert.match(out, /acme\/tiny-bert: bad\\name\.txt: skipped, name unsafe for git/);
      assert.match(out, /acme\/tiny-bert: dangling\.bin: skipped, broken symlink/);
      assert.match(out, /acme\/tiny-bert: pipe: skipped, not a regular file/);
      // The safetensors of tiny-bert and gpt2-mini's shared.safetensors are the same bytes: stored once.
      assert.match(out, /acme\/tiny-bert: committed [0-9a-f]{40} \(\d+ changes; 4 files, 1 in LFS \(1 stored, 0 already held\)\)/);
      assert.match(out, /openai-community\/gpt2-mini: committed [0-9a-f]{40} \(\d+ changes; 3 files, 2 in LFS \(1 stored, 1 already held\), cache snapshot [0-9a-f]{40}\)/);
      assert.match(out, /job [0-9a-f-]+ completed/);
      // The namespaces did not exist: organizations administered by the hub's admins (the CLI's importer).
      const me = await api(hub, admin, 'GET', '/api/whoami-v2');
      for (const ns of ['acme', 'openai-community']) assert.equal(me.json.orgs.find((o: any) => o.name === ns)?.roleInOrg, 'admin', JSON.stringify(me.json.orgs));
    });

    it('git clone + git lfs give byte-identical files; large files are LFS pointers tracked in .gitattributes', async () => {
      for (const [id, files, lfsPaths] of [
        ['acme/tiny-bert', bert, ['model.safetensors']],
        ['acme/small-gguf', gguf, []],
        ['openai-community/gpt2-mini', cached, ['shared.safetensors', 'weights/model.bin']],
      ] as const) {
        const dir = path.join(tmpDir('import-clone'), 'c');
        await git(['clone', '--quiet', `${hub.authUrl(bob)}/${id}.git`, dir]);
        const got = treeFiles(dir);
        const expected = new Map(files);
        if (lfsPaths.length) expected.set('.gitattributes', Buffer.from(lfsPaths.map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join('')));
        assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), id);
        for (const [p, d] of expected) assert.ok(got.get(p)!.equals(d), `${id}: ${p} is byte-identical`);
        const lfs = (await git(['lfs', 'ls-files', '--name-only'], { cwd: dir })).trim().split('\n').filter(Boolean).sort();
        assert.deepEqual(lfs, [...lfsPaths].sort(), `${id}: LFS files`);
        for (const p of lfsPaths) assert.match(await git(['cat-file', '-p', `HEAD:${p}`], { cwd: dir }), /^version https:\/\/git-lfs.github.com\/spec\/v1\noid sha256:/);
        assert.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: dir })).trim(), '1', `${id}: one commit`);
      }
    });

    it('@huggingface/hub downloads give byte-identical files; the cache-imported repo reports its upstream commit', async () => {
      const creds = { hubUrl: hub.url, accessToken: bob.token as `hf_${string}` };
      for (const [id, files] of [
        ['acme/tiny-bert', bert],
        ['openai-community/gpt2-mini', cached],
      ] as const) {
        for (const [p, d] of files) assert.ok((await bytesOf(await hf.downloadFile({ ...creds, repo: id, path: p }))).equals(d), `${id}: ${p}`);
      }
      const info = await api(hub, bob, 'GET', '/api/models/openai-community/gpt2-mini');
      assert.equal(info.status, 200);
      assert.deepEqual(info.json.importedFrom, { cacheSnapshot: commit });
      const plain = await api(hub, bob, 'GET', '/api/models/acme/tiny-bert');
      assert.equal(plain.json.importedFrom, undefined);
      // A mirrors row: read-only like a mirror until an admin detaches it.
      const mirrors = await api(hub, admin, 'GET', '/api/admin/mirrors');
      const m = mirrors.json.find((x: any) => x.id === 'openai-community/gpt2-mini');
      assert.equal(m.source, 'cache-import');
      assert.equal(m.upstreamRevision, commit);
    });

    it('admin API: a second scan reports unchanged; a changed file gives a new commit', async () => {
      const again = await api(hub, admin, 'POST', '/api/admin/imports', { dir: models });
      assert.equal(again.status, 202, JSON.stringify(again.json));
      const done = await jobDone(hub, admin, again.json.job);
      assert.equal(done.job.state, 'completed', done.log.join('\n'));
      assert.equal(done.job.kind, 'import.scan');
      assert.equal(done.job.filesDone, done.job.filesTotal);
      assert.ok(done.job.bytesDone > 2 * MiB, `bytes hashed: ${done.job.bytesDone}`);
      for (const id of ['acme/tiny-bert', 'acme/small-gguf', 'openai-community/gpt2-mini']) assert.ok(done.log.some((l) => l.startsWith(`${id}: unchanged`)), `${id} unchanged:\n${done.log.join('\n')}`);
      assert.ok(done.log.some((l) => /0 committed, 3 unchanged/.test(l)));

      const headBefore = (await api(hub, bob, 'GET', '/api/models/acme/small-gguf')).json.sha;
      const changed = Buffer.from('{"model_type":"llama","rope_theta":10000}\n');
      write(path.join(models, 'acme', 'small-gguf', 'config.json'), changed);
      // A file gone from the folder is gone from the next commit.
      fs.rmSync(path.join(models, 'acme', 'tiny-bert', 'tokenizer'), { recursive: true });
      const third = await api(hub, admin, 'POST', '/api/admin/imports', { dir: path.join(models, 'acme') + '/..' });
      const done3 = await jobDone(hub, admin, third.json.job);
      assert.equal(done3.job.state, 'completed', done3.log.join('\n'));
      assert.ok(done3.log.some((l) => /^acme\/small-gguf: committed [0-9a-f]{40} \(1 changes/.test(l)), done3.log.join('\n'));
      assert.ok(done3.log.some((l) => /^acme\/tiny-bert: committed [0-9a-f]{40} \(1 changes/.test(l)), done3.log.join('\n'));
      assert.ok(done3.log.some((l) => l.startsWith('openai-community/gpt2-mini: unchanged')));
      const bertFiles: string[] = [];
      for await (const f of hf.listFiles({ hubUrl: hub.url, accessToken: bob.token as `hf_${string}`, repo: 'acme/tiny-bert', recursive: true })) if (f.type === 'file') bertFiles.push(f.path);
      assert.deepEqual(bertFiles.sort(), ['.gitattributes', 'README.md', 'config.json', 'model.safetensors']);
      const info = (await api(hub, bob, 'GET', '/api/models/acme/small-gguf')).json;
      assert.notEqual(info.sha, headBefore);
      const creds = { hubUrl: hub.url, accessToken: bob.token as `hf_${string}` };
      assert.ok((await bytesOf(await hf.downloadFile({ ...creds, repo: 'acme/small-gguf', path: 'config.json' }))).equals(changed));
    });

    it('a new cache snapshot with the same files moves the recorded upstream commit; a detached repository is not imported into', async () => {
      const cache = path.join(models, 'hub', 'models--openai-community--gpt2-mini');
      const next = crypto.randomBytes(20).toString('hex');
      fs.cpSync(path.join(cache, 'snapshots', commit), path.join(cache, 'snapshots', next), { recursive: true, verbatimSymlinks: true });
      write(path.join(cache, 'refs', 'main'), `${next}\n`);
      const before = (await api(hub, bob, 'GET', '/api/models/openai-community/gpt2-mini')).json.sha;
      const r = await api(hub, admin, 'POST', '/api/admin/imports', { dir: path.join(models, 'hub') });
      const done = await jobDone(hub, admin, r.json.job);
      assert.equal(done.job.state, 'completed', done.log.join('\n'));
      assert.ok(done.log.includes(`openai-community/gpt2-mini: files unchanged at ${before}; cache snapshot now ${next}`), done.log.join('\n'));
      const info = (await api(hub, bob, 'GET', '/api/models/openai-community/gpt2-mini')).json;
      assert.equal(info.sha, before);
      assert.deepEqual(info.importedFrom, { cacheSnapshot: next });

      assert.equal((await api(hub, admin, 'POST', '/api/admin/mirrors/models/openai-community/gpt2-mini/detach')).status, 200);
      assert.equal((await api(hub, bob, 'GET', '/api/models/openai-community/gpt2-mini')).json.importedFrom, undefined);
      const again = await api(hub, admin, 'POST', '/api/admin/imports', { dir: path.join(models, 'hub') });
      const done2 = await jobDone(hub, admin, again.json.job);
      assert.ok(done2.log.some((l) => l.startsWith('openai-community/gpt2-mini: skipped, it exists here as an ordinary repository')), done2.log.join('\n'));
    });

    it('--namespace puts every repository under one new organization administered by the importing admin', async () => {
      const r = await api(hub, admin, 'POST', '/api/admin/imports', { dir: path.join(models, 'acme'), namespace: 'team' });
      // acme/ itself is the vendor folder: its models are one level down, found all the same.
      const done = await jobDone(hub, admin, r.json.job);
      assert.equal(done.job.state, 'completed', done.log.join('\n'));
      const creds = { hubUrl: hub.url, accessToken: admin.token as `hf_${string}` };
      assert.ok((await bytesOf(await hf.downloadFile({ ...creds, repo: 'team/tiny-bert', path: 'model.safetensors' }))).equals(bert.get('model.safetensors')!));
      const me = await api(hub, admin, 'GET', '/api/whoami-v2');
      assert.deepEqual(
        me.json.orgs.filter((o: any) => o.name === 'team').map((o: any) => o.roleInOrg),
        ['admin'],
      );
      assert.deepEqual(
        (await api(hub, bob, 'GET', '/api/whoami-v2')).json.orgs.filter((o: any) => o.name === 'team'),
        [],
      );
    });

    it('a folder outside PACKHUB_IMPORT_ROOTS is refused (also through a symlink); non-admins get 404', async () => {
      const r = await api(hub, admin, 'POST', '/api/admin/imports', { dir: outside });
      assert.equal(r.status, 403);
      const via = path.join(root, 'via-link');
      fs.symlinkSync(outside, via);
      assert.equal((await api(hub, admin, 'POST', '/api/admin/imports', { dir: via })).status, 403, 'checked after realpath');
      await assert.rejects(hub.cli(['import', 'scan', outside, '--wait']), /not inside PACKHUB_IMPORT_ROOTS/);
      assert.equal((await api(hub, admin, 'POST', '/api/admin/imports', { dir: 'relative/dir' })).status, 400);
      for (const u of [bob, null]) {
        const denied = await api(hub, u, 'POST', '/api/admin/imports', { dir: models });
        assert.equal(denied.status, 404, `${u?.name ?? 'anonymous'}: ${JSON.stringify(denied.json)}`);
      }
    });
  });
}
