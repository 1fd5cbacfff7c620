import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const file = (p: string, content: string) => ({ key: 'file', value: { path: p, content: b64(content), encoding: 'base64' } });

for (const backend of backends()) {
  describe(`Hub compatibility details (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string; readToken: string };
    let bob: { name: string; token: string; readToken: string };
    const as = (who: { token: string } | null) => (p: string, init: RequestInit = {}) =>
      fetch(`${h.url}${p}`, { redirect: 'manual', ...init, headers: { ...(who ? { Authorization: `Bearer ${who.token}` } : {}), ...(init.headers as Record<string, string>) } });
    const api = (p: string, init: RequestInit = {}) => as(alice)(p, init);
    const create = (body: Record<string, unknown>) => api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const move = (fromRepo: string, toRepo: string, type = 'model') =>
      api('/api/repos/move', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fromRepo, toRepo, type }) });
    const commit = (repo: string, lines: unknown[], rev = 'main', query = '') =>
      api(`/api/models/${repo}/commit/${encodeURIComponent(rev)}${query}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: ndjson(lines) });
    const creds = () => ({ hubUrl: h.url, accessToken: alice.token as `hf_${string}` });

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
    });
    after(async () => {
      await h?.stop();
    });

    describe('case-insensitive repo ids', () => {
      before(async () => {
        assert.equal((await create({ name: 'MixedCase', organization: 'alice' })).status, 200);
        assert.equal((await commit('alice/MixedCase', [{ key: 'header', value: { summary: 'add' } }, file('hello.txt', 'hello\n')])).status, 200);
      });

      it('API, resolve and the JS client find a repository in any letter case; answers carry the stored case', async () => {
        const info = await api('/api/models/ALICE/mixedcase');
        assert.equal(info.status, 200);
        assert.equal(((await info.json()) as { id: string }).id, 'alice/MixedCase');
        const dl = await api('/alice/MIXEDCASE/resolve/main/hello.txt');
        assert.equal(dl.status, 200);
        assert.equal(await dl.text(), 'hello\n');
        // create_commit to repo_id.lower(), as the Python client's test does: commitUrl names the stored case.
        const c = await commit('alice/mixedcase', [{ key: 'header', value: { summary: 'lower' } }, file('lower.txt', 'x\n')]);
        assert.equal(c.status, 200);
        assert.match(((await c.json()) as { commitUrl: string }).commitUrl, /\/alice\/MixedCase\/commit\//);
        const files: string[] = [];
        for await (const f of hub.listFiles({ ...creds(), repo: { type: 'model', name: 'alice/mixedCASE' } })) files.push(f.path);
        assert.deepEqual(files.sort(), ['.gitattributes', 'hello.txt', 'lower.txt']);
        const listed = (await (await api('/api/models?author=ALICE')).json()) as { id: string }[];
        assert.ok(listed.some((r) => r.id === 'alice/MixedCase'), 'author filter is case-insensitive');
      });

      it('git clone and LFS batch with another letter case', async () => {
        const dir = path.join(tmpDir('compat-case'), 'c');
        await git(['clone', `${h.authUrl(alice)}/Alice/MIXEDCASE.git`, dir]);
        assert.equal(fs.readFileSync(path.join(dir, 'hello.txt'), 'utf8'), 'hello\n');
        const batch = await fetch(`${h.url}/ALICE/mixedcase.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: { Accept: 'application/vnd.git-lfs+json', 'Content-Type': 'application/vnd.git-lfs+json', Authorization: `Basic ${Buffer.from(`alice:${alice.token}`).toString('base64')}` },
          body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid: 'a'.repeat(64), size: 1 }] }),
        });
        assert.equal(batch.status, 200);
      });

      it('creating a repository that differs only in case is a 409 that names the existing one', async () => {
        const r = await create({ name: 'mixedcase', organization: 'alice' });
        assert.equal(r.status, 409);
        assert.equal(((await r.json()) as { url: string }).url, `${h.url}/alice/MixedCase`);
        await assert.rejects(hub.createRepo({ ...creds(), repo: { type: 'model', name: 'alice/MIXEDcase' } }), /already/i);
        // Another type may use the name.
        assert.equal((await create({ name: 'mixedcase', organization: 'alice', type: 'dataset' })).status, 200);
      });
    });

    describe('moved repositories', () => {
      it('API and resolve answer the old name with a relative 307 the clients follow; POST keeps its body', async () => {
        assert.equal((await create({ name: 'old-name', organization: 'alice' })).status, 200);
        assert.equal((await commit('alice/old-name', [{ key: 'header', value: { summary: 'add' } }, file('a.txt', 'a\n')])).status, 200);
        assert.equal((await move('alice/old-name', 'alice/new-name')).status, 200);

        const info = await api('/api/models/alice/old-name?expand[]=sha');
        assert.equal(info.status, 307);
        assert.equal(info.headers.get('location'), '/api/models/alice/new-name?expand[]=sha');
        const dl = await api('/alice/Old-Name/resolve/main/a.txt', { method: 'HEAD' });
        assert.equal(dl.status, 307);
        assert.equal(dl.headers.get('location'), '/alice/new-name/resolve/main/a.txt');

        // The JS client follows (fetch's default), for reads and for commits.
        assert.equal((await hub.modelInfo({ ...creds(), name: 'alice/old-name' })).name, 'alice/new-name');
        const blob = await hub.downloadFile({ ...creds(), repo: 'alice/old-name', path: 'a.txt' });
        assert.equal(await blob!.text(), 'a\n');
        await hub.uploadFile({ ...creds(), repo: 'alice/old-name', file: { path: 'b.txt', content: new Blob(['b\n']) } });
        const after = await api('/alice/new-name/resolve/main/b.txt');
        assert.equal(await after.text(), 'b\n');
        // A chain of moves still lands on the current name.
        assert.equal((await move('alice/new-name', 'alice/newest-name')).status, 200);
        assert.equal((await api('/api/models/alice/old-name')).headers.get('location'), '/api/models/alice/newest-name');
      });

      it('git clone and push of the old name follow the redirect', async () => {
        assert.equal((await create({ name: 'git-old', organization: 'alice' })).status, 200);
        assert.equal((await move('alice/git-old', 'alice/git-new')).status, 200);
        const dir = path.join(tmpDir('compat-moved'), 'c');
        await git(['clone', `${h.authUrl(alice)}/alice/git-old.git`, dir]);
        assert.ok(fs.existsSync(path.join(dir, '.gitattributes')));
        fs.writeFileSync(path.join(dir, 'pushed.txt'), 'pushed\n');
        await git(['add', 'pushed.txt'], { cwd: dir });
        await git(['-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qm', 'push'], { cwd: dir });
        await git(['push', 'origin', 'HEAD:main'], { cwd: dir });
        assert.equal(await (await api('/alice/git-new/resolve/main/pushed.txt')).text(), 'pushed\n');
      });

      it("a private repository's old name tells nobody else anything; a new repository under the old name drops the redirect", async () => {
        assert.equal((await create({ name: 'secret-old', organization: 'alice', private: true })).status, 200);
        assert.equal((await move('alice/secret-old', 'alice/secret-new')).status, 200);
        assert.equal((await api('/api/models/alice/secret-old')).status, 307);
        const stranger = await as(bob)('/api/models/alice/secret-old');
        assert.equal(stranger.status, 404);
        assert.equal(stranger.headers.get('x-error-code'), 'RepoNotFound');
        assert.equal(stranger.headers.get('location'), null);
        const anon = await as(null)('/alice/secret-old/resolve/main/.gitattributes');
        assert.equal(anon.status, 401);
        assert.equal(anon.headers.get('x-error-code'), 'RepoNotFound');
        const gitAnon = await gitResult(['ls-remote', `${h.authUrl(bob)}/alice/secret-old.git`]);
        assert.notEqual(gitAnon.code, 0);
        assert.doesNotMatch(gitAnon.stderr, /secret-new/);

        assert.equal((await create({ name: 'secret-old', organization: 'alice' })).status, 200);
        const fresh = await api('/api/models/alice/secret-old');
        assert.equal(fresh.status, 200);
        assert.equal(((await fresh.json()) as { id: string; private: boolean }).private, false);
      });

      it('a change of letter case is a move onto itself, answered in the new case', async () => {
        assert.equal((await create({ name: 'casemove', organization: 'alice' })).status, 200);
        assert.equal((await move('alice/casemove', 'alice/CaseMove')).status, 200);
        const r = await api('/api/models/alice/casemove');
        assert.equal(r.status, 200);
        assert.equal(((await r.json()) as { id: string }).id, 'alice/CaseMove');
      });
    });

    describe('smaller differences', () => {
      let head = '';
      before(async () => {
        assert.equal((await create({ name: 'small', organization: 'alice' })).status, 200);
        const c = await commit('alice/small', [{ key: 'header', value: { summary: 'tree' } }, file('old_dir/a.txt', 'a\n'), file('old_dir/sub/b.txt', 'b\n'), file('keep.txt', 'k\n')]);
        assert.equal(c.status, 200);
        head = ((await c.json()) as { commitOid: string }).commitOid;
      });

      it('a namespace-less id is RepoNotFound on every route shape', async () => {
        for (const [p, method] of [
          ['/api/models/no-such-repo', 'GET'],
          ['/api/models/no-such-repo/revision/main', 'GET'],
          ['/api/models/no-such-repo/commits/main', 'GET'],
          ['/api/datasets/no-such-repo/tree/main', 'GET'],
          ['/no-such-repo/resolve/main/config.json', 'GET'],
          ['/no-such-repo/resolve/main/config.json', 'HEAD'],
          ['/datasets/no-such-repo/resolve/main/sub/x.json', 'GET'],
        ] as const) {
          const r = await api(p, { method });
          assert.equal(r.status, 404, `${method} ${p}`);
          assert.equal(r.headers.get('x-error-code'), 'RepoNotFound', `${method} ${p}`);
        }
        const anon = await as(null)('/no-such-repo/resolve/main/config.json', { method: 'HEAD' });
        assert.equal(anon.status, 401);
        assert.equal(anon.headers.get('x-error-code'), 'RepoNotFound');
        await assert.rejects(hub.modelInfo({ ...creds(), name: 'no-such-repo' }), /not found/i);
      });

      it('deletedFolder takes its folder with a trailing slash, as the Python client sends it', async () => {
        const r = await commit('alice/small', [{ key: 'header', value: { summary: 'rm', description: '' } }, { key: 'deletedFolder', value: { path: 'old_dir/' } }]);
        assert.equal(r.status, 200, await r.clone().text());
        const tree = (await (await api('/api/models/alice/small/tree/main')).json()) as { path: string }[];
        assert.deepEqual(tree.map((e) => e.path).sort(), ['.gitattributes', 'keep.txt']);
      });

      it('a pull request against a commit id (or a missing branch) is RevisionNotFound, and opens nothing', async () => {
        for (const rev of [head, head.slice(0, 7), 'no-such-branch']) {
          const r = await commit('alice/small', [{ key: 'header', value: { summary: 'pr' } }, file('pr.txt', 'x\n')], rev, '?create_pr=1');
          assert.equal(r.status, 404, rev);
          assert.equal(r.headers.get('x-error-code'), 'RevisionNotFound', rev);
        }
        const list = (await (await api('/api/models/alice/small/discussions')).json()) as { count: number };
        assert.equal(list.count, 0);
        await assert.rejects(hub.uploadFile({ ...creds(), repo: 'alice/small', branch: head, isPullRequest: true, file: { path: 'pr.txt', content: new Blob(['x']) } }));
      });

      it('create_tag: the revision is checked before the name, then existence (404, 400, 409)', async () => {
        const tag = (rev: string, name: string) => api(`/api/models/alice/small/tag/${rev}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: name }) });
        const missing = await tag('foobar', 'invalid tag');
        assert.equal(missing.status, 404);
        assert.equal(missing.headers.get('x-error-code'), 'RevisionNotFound');
        assert.equal((await tag('main', 'invalid tag')).status, 400);
        assert.equal((await tag(head.slice(0, 7), 'v1')).status, 200);
        assert.equal((await tag('main', 'v1')).status, 409);
        const del = await api('/api/models/alice/small/tag/nope', { method: 'DELETE' });
        assert.equal(del.status, 404);
        assert.equal(del.headers.get('x-error-code'), 'RevisionNotFound');
      });

      it("path errors carry the Hub's status and codes", async () => {
        const miss = await api('/alice/small/resolve/main/nope.txt');
        assert.equal(miss.status, 404);
        assert.equal(miss.headers.get('x-error-code'), 'EntryNotFound');
        assert.match(miss.headers.get('x-repo-commit') ?? '', /^[0-9a-f]{40}$/);
        const badRev = await api('/alice/small/resolve/nope/keep.txt', { method: 'HEAD' });
        assert.equal(badRev.status, 404);
        assert.equal(badRev.headers.get('x-error-code'), 'RevisionNotFound');
        const treeMiss = await api('/api/models/alice/small/tree/main/nope');
        assert.equal(treeMiss.status, 404);
        assert.equal(treeMiss.headers.get('x-error-code'), 'EntryNotFound');
        const delMiss = await commit('alice/small', [{ key: 'header', value: { summary: 'rm' } }, { key: 'deletedFile', value: { path: 'nope.txt' } }]);
        assert.equal(delMiss.status, 404);
        assert.equal(delMiss.headers.get('x-error-code'), 'EntryNotFound');
        assert.match(delMiss.headers.get('x-error-message') ?? '', /A file with this name doesn't exist/);
        assert.equal(await hub.fileDownloadInfo({ ...creds(), repo: 'alice/small', path: 'nope.txt' }), null);
      });
    });

    describe('README metadata validation', () => {
      const validate = (content: string) => api('/api/validate-yaml', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ content, repoType: 'model' }) });
      before(async () => {
        assert.equal((await create({ name: 'cards', organization: 'alice' })).status, 200);
      });

      it('/api/validate-yaml answers JSON: valid, missing metadata (a warning), invalid (400 with errors)', async () => {
        const ok = await validate('---\nlicense: mit\n---\nhello');
        assert.equal(ok.status, 200);
        assert.deepEqual(await ok.json(), { errors: [], warnings: [] });
        const none = await validate('hello');
        assert.equal(none.status, 200);
        assert.deepEqual(((await none.json()) as { warnings: { message: string }[] }).warnings, [{ message: 'Empty or missing yaml metadata in repo card' }]);
        const bad = await validate('---\nmodel-index: foo\n---\nhello');
        assert.equal(bad.status, 400);
        const body = (await bad.json()) as { errors: { message: string }[] };
        assert.match(body.errors[0]!.message, /model-index/);
        const broken = await validate('---\nlicense: [mit\n---\nhello');
        assert.equal(broken.status, 400);
      });

      it('an API commit with invalid README metadata is refused with 400 and changes nothing; valid metadata lands', async () => {
        const before = ((await (await api('/api/models/alice/cards/revision/main')).json()) as { sha: string }).sha;
        for (const text of ['---\nmodel-index: foo\n---\n# card\n', '---\nlicense: [mit\n---\n', '---\n- a\n- b\n---\n', '---\ntags: {a: 1}\n---\n']) {
          const r = await commit('alice/cards', [{ key: 'header', value: { summary: 'card' } }, file('README.md', text)]);
          assert.equal(r.status, 400, text);
          assert.match(r.headers.get('x-error-message') ?? '', /Invalid metadata in README\.md/);
        }
        await assert.rejects(hub.uploadFile({ ...creds(), repo: 'alice/cards', file: { path: 'README.md', content: new Blob(['---\nmodel-index: foo\n---\n']) } }), /Invalid metadata/);
        const after = ((await (await api('/api/models/alice/cards/revision/main')).json()) as { sha: string }).sha;
        assert.equal(after, before);
        // Not at the root, or no metadata at all: not checked / only a warning.
        assert.equal((await commit('alice/cards', [{ key: 'header', value: { summary: 'sub' } }, file('docs/README.md', '---\nmodel-index: foo\n---\n')])).status, 200);
        assert.equal((await commit('alice/cards', [{ key: 'header', value: { summary: 'plain' } }, file('README.md', '# no metadata\n')])).status, 200);
        await hub.uploadFile({ ...creds(), repo: 'alice/cards', file: { path: 'README.md', content: new Blob(['---\nlicense: mit\ntags: [a, b]\n---\n# card\n']) } });
        const info = (await (await api('/api/models/alice/cards')).json()) as { cardData?: { license?: string } };
        assert.equal(info.cardData?.license, 'mit');
      });

      it('a git push that brings invalid README metadata is rejected with the Hub\'s words; a valid one lands', async () => {
        const dir = path.join(tmpDir('compat-card'), 'c');
        await git(['clone', `${h.authUrl(alice)}/alice/cards.git`, dir]);
        fs.writeFileSync(path.join(dir, 'README.md'), '---\nmodel-index: foo\n---\n# card\n');
        await git(['-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qam', 'bad card'], { cwd: dir });
        const pushed = await gitResult(['push', 'origin', 'HEAD:main'], { cwd: dir });
        assert.notEqual(pushed.code, 0);
        assert.match(pushed.stderr, /Sorry, your push was rejected during YAML metadata verification/);
        fs.writeFileSync(path.join(dir, 'README.md'), '---\nlicense: apache-2.0\n---\n# card\n');
        await git(['-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qam', 'good card'], { cwd: dir });
        await git(['push', 'origin', 'HEAD:main'], { cwd: dir });
        const info = (await (await api('/api/models/alice/cards')).json()) as { cardData?: { license?: string } };
        assert.equal(info.cardData?.license, 'apache-2.0');
      });
    });
  });
}
