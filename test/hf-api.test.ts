import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');

for (const backend of backends()) {
  describe(`HF API over raw HTTP (${backend})`, () => {
    let h: Hub;
    let alice: { name: string; token: string; readToken: string };
    let auth: Record<string, string>;
    const api = (p: string, init: RequestInit = {}) => fetch(`${h.url}${p}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    const head = async (repo = 'alice/api') => ((await (await api(`/api/models/${repo}/revision/main`)).json()) as { sha: string }).sha;
    const commit = (lines: unknown[], rev = 'main', repo = 'alice/api') =>
      api(`/api/models/${repo}/commit/${encodeURIComponent(rev)}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: ndjson(lines) });
    const file = (p: string, content: string) => ({ key: 'file', value: { path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64' } });

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      auth = { Authorization: `Bearer ${alice.token}` };
      const r = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'api', organization: null }) });
      assert.equal(r.status, 200);
    });
    after(async () => {
      await h?.stop();
    });

    it('create_repo: 409 for an existing repo still carries url; X-Request-Id on every response', async () => {
      const r = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'api', organization: 'alice', private: false }) });
      assert.equal(r.status, 409);
      assert.equal(((await r.json()) as { url: string }).url, `${h.url}/alice/api`);
      assert.ok(r.headers.get('x-request-id'));
    });

    it('usedStorage in repo info and listings is the bytes the repository stores (packs plus linked LFS)', async () => {
      const created = await api('/api/repos/create', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alice/storage-use' }) });
      assert.equal(created.status, 200);
      const big = crypto.randomBytes((1 << 20) + 10).toString('base64'); // just over the LFS threshold: stored in LFS
      assert.equal((await commit([{ key: 'header', value: { summary: 'data' } }, file('a.txt', 'a\n'), { key: 'file', value: { path: 'w.bin', content: big, encoding: 'base64' } }], 'main', 'alice/storage-use')).status, 200);
      const info = (await (await api('/api/models/alice/storage-use')).json()) as { usedStorage: number };
      assert.ok(info.usedStorage > (1 << 20) + 10, `usedStorage ${info.usedStorage} counts the LFS object and the packs`);
      assert.ok(info.usedStorage < (1 << 20) + 64 * 1024, `usedStorage ${info.usedStorage} is not more than what was stored`);
      const listed = (await (await api('/api/models?author=alice&search=storage-use')).json()) as { id: string; usedStorage: number }[];
      assert.equal(listed.find((r) => r.id === 'alice/storage-use')?.usedStorage, info.usedStorage);
    });

    it('10 API commits racing with the same parentCommit: one lands, nine get 412, nothing half-applied', async () => {
      const parent = await head();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => commit([{ key: 'header', value: { summary: `race ${i}`, parentCommit: parent } }, file(`race/${i}.txt`, `${i}\n`)])));
      const codes = results.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, ...Array(9).fill(412)]);
      const failed = results.find((r) => r.status === 412)!;
      assert.match(failed.headers.get('x-error-message') ?? '', /The branch was updated since you opened this page/);
      const tree = (await (await api('/api/models/alice/api/tree/main/race')).json()) as { path: string }[];
      assert.equal(tree.length, 1, 'exactly the winning file is on main');
    });

    it('10 API commits racing without parentCommit: all land', async () => {
      const before = await head();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => commit([{ key: 'header', value: { summary: `free ${i}` } }, file(`free/${i}.txt`, `${i}\n`)])));
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      const tree = (await (await api('/api/models/alice/api/tree/main/free')).json()) as { path: string }[];
      assert.equal(tree.length, 10);
      const commits = (await (await api('/api/models/alice/api/commits/main?limit=11')).json()) as { id: string; title: string }[];
      assert.equal(commits.filter((c) => c.title.startsWith('free ')).length, 10);
      assert.equal(commits[10]!.id, before, 'the ten commits form one linear history on top of the old head');
    });

    it('bad input: each a clear HF-style error, the branch unchanged', async () => {
      const before = await head();
      const cases: [string, () => Promise<Response>, number, string][] = [
        ['malformed NDJSON', () => api('/api/models/alice/api/commit/main', { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: '{"key":"header","value":{"summary":"x"}}\n{not json' }), 400, 'BadRequest'],
        ['lfsFile never uploaded', () => commit([{ key: 'header', value: { summary: 'x' } }, { key: 'lfsFile', value: { path: 'ghost.bin', algo: 'sha256', oid: 'a'.repeat(64), size: 10 } }]), 400, 'LfsObjectMissing'],
        ['path traversal', () => commit([{ key: 'header', value: { summary: 'x' } }, file('../escape.txt', 'x')]), 400, 'InvalidPath'],
        ['.git segment', () => commit([{ key: 'header', value: { summary: 'x' } }, file('a/.git/config', 'x')]), 400, 'InvalidPath'],
        ['absolute path', () => commit([{ key: 'header', value: { summary: 'x' } }, file('/etc/passwd', 'x')]), 400, 'InvalidPath'],
        ['backslash', () => commit([{ key: 'header', value: { summary: 'x' } }, file('a\\..\\b', 'x')]), 400, 'InvalidPath'],
        ['NUL', () => commit([{ key: 'header', value: { summary: 'x' } }, file('a\u0000b', 'x')]), 400, 'InvalidPath'],
        ['unknown revision', () => commit([{ key: 'header', value: { summary: 'x' } }, file('ok.txt', 'x')], 'no-such-branch'), 404, 'RevisionNotFound'],
        ['wrong token', () => fetch(`${h.url}/api/models/alice/api/commit/main`, { method: 'POST', headers: { Authorization: 'Bearer hf_wrongwrongwrong', 'Content-Type': 'application/x-ndjson' }, body: ndjson([{ key: 'header', value: { summary: 'x' } }]) }), 401, 'InvalidToken'],
      ];
      for (const [what, call, status, code] of cases) {
        const r = await call();
        assert.equal(r.status, status, what);
        assert.equal(r.headers.get('x-error-code'), code, what);
        assert.ok((r.headers.get('x-error-message') ?? '').length > 0, `${what} has a message`);
        assert.ok(r.headers.get('x-request-id'), `${what} has a request id`);
      }
      assert.equal(await head(), before, 'main did not move');
    });

    it('form-encoded and JSON paths-info, %2F-encoded and raw revisions, expand[], Link, validate-yaml', async () => {
      await api('/api/models/alice/api/branch/feat%2Fx', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ startingPoint: 'main' }) });
      const dup = await api('/api/models/alice/api/branch/feat%2Fx', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(dup.status, 409);
      assert.match(dup.headers.get('x-error-message') ?? '', /Reference refs\/heads\/feat\/x already exists/);
      const form = await api('/api/models/alice/api/paths-info/feat%2Fx', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'paths=free%2F1.txt&paths=missing.txt&expand=false' });
      const formJson = (await form.json()) as { path: string; type: string; oid: string; size: number }[];
      assert.deepEqual(formJson.map((e) => e.path), ['free/1.txt'], 'missing paths are left out');
      assert.equal(formJson[0]!.size, 2);
      const js = await api('/api/models/alice/api/paths-info/main', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['free'], expand: true }) });
      const jsJson = (await js.json()) as { type: string; lastCommit: { id: string } }[];
      assert.equal(jsJson[0]!.type, 'directory');
      assert.match(jsJson[0]!.lastCommit.id, /^[0-9a-f]{40}$/);
      // Raw revisions (JS client) and encoded ones (Python) name the same tree.
      const raw = await (await api('/api/models/alice/api/tree/feat/x/free'.replace('feat/x', 'feat%2Fx'))).json();
      assert.equal((raw as unknown[]).length, 10);
      const info = (await (await api('/api/models/alice/api?expand[]=sha&expand[]=private')).json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(info).sort(), ['_id', 'id', 'private', 'sha']);
      const page1 = await api('/api/models/alice/api/tree/main/free?limit=4');
      const link = page1.headers.get('link') ?? '';
      assert.match(link, /^<http:\/\/127\.0\.0\.1:\d+\/[^>]+>; rel="next"$/);
      const page2 = await api(new URL(link.slice(1, link.indexOf('>'))).pathname + new URL(link.slice(1, link.indexOf('>'))).search);
      assert.equal(((await page2.json()) as unknown[]).length, 4);
      const commitsRes = await api('/api/models/alice/api/commits/main?limit=2&expand[]=formatted');
      assert.ok(Number(commitsRes.headers.get('x-total-count')) >= 12);
      const cjson = (await commitsRes.json()) as { formatted: { title: string }; date: string }[];
      assert.ok(cjson[0]!.formatted.title.length > 0);
      assert.match(cjson[0]!.date, /Z$/);
      const yaml = await api('/api/validate-yaml', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ content: '---\nlicense: mit\n---\n', repoType: 'model' }) });
      assert.deepEqual(await yaml.json(), { errors: [], warnings: [] });
      const whoBad = await fetch(`${h.url}/api/whoami-v2`, { headers: { Authorization: 'Bearer hf_nope' } });
      assert.equal(whoBad.status, 401);
    });

    it('tree lists directories first, then files, each in byte order; unknown expand values are a 400', async () => {
      await commit([{ key: 'header', value: { summary: 'order' } }, ...['order/b.txt', 'order/A.txt', 'order/zdir/x', 'order/Adir/y', 'order/a-b/z', 'order/_.md'].map((p) => file(p, p))]);
      const listed = (await (await api('/api/models/alice/api/tree/main/order')).json()) as { path: string; type: string }[];
      assert.deepEqual(
        listed.map((e) => e.path),
        ['order/Adir', 'order/a-b', 'order/zdir', 'order/A.txt', 'order/_.md', 'order/b.txt'],
      );
      const recursive = (await (await api('/api/models/alice/api/tree/main/order?recursive=true')).json()) as { path: string }[];
      assert.deepEqual(recursive.slice(0, 2).map((e) => e.path), ['order/Adir', 'order/Adir/y']);
      // Every value the clients send is accepted (gitalyUid included); others are refused as on the Hub.
      assert.equal((await api('/api/models/alice/api?expand=gitalyUid&expand=pipeline_tag&expand=likes&expand=usedStorage')).status, 200);
      const bad = await api('/api/models/alice/api?expand=foo');
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('x-error-message') ?? '', /"expand" must be one of/);
      assert.equal((await api('/api/models?expand=foo')).status, 400);
      assert.equal((await api('/api/models?expand=downloads&expand=gated')).status, 200);
      assert.equal((await api('/api/datasets/alice/api?expand=pipeline_tag')).status, 404, 'no such dataset: not found before the expand check');
    });

    it('resolve: HEAD with X-Repo-Commit and ETag, Range 206, EntryNotFound, RevisionNotFound, short sha, refs/pr', async () => {
      const sha = await head();
      const h1 = await api('/alice/api/resolve/main/free%2F3.txt', { method: 'HEAD' });
      assert.equal(h1.status, 200);
      assert.equal(h1.headers.get('x-repo-commit'), sha);
      assert.equal(h1.headers.get('content-length'), '2');
      assert.match(h1.headers.get('etag') ?? '', /^"[0-9a-f]{40}"$/);
      const range = await api(`/alice/api/resolve/${sha.slice(0, 7)}/free/3.txt`, { headers: { Range: 'bytes=0-0' } });
      assert.equal(range.status, 206);
      assert.equal(range.headers.get('content-range'), 'bytes 0-0/2');
      assert.equal(await range.text(), '3');
      const missing = await api('/alice/api/resolve/main/nope.txt', { method: 'HEAD' });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-error-code'), 'EntryNotFound');
      assert.equal(missing.headers.get('x-repo-commit'), sha);
      const badRev = await api('/alice/api/resolve/nope/free/3.txt');
      assert.equal(badRev.headers.get('x-error-code'), 'RevisionNotFound');
      const pr = await api('/api/models/alice/api/commit/main?create_pr=1', { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: ndjson([{ key: 'header', value: { summary: 'a pr' } }, file('pr.txt', 'pr\n')]) });
      const prJson = (await pr.json()) as { pullRequestUrl: string };
      assert.match(prJson.pullRequestUrl, /\/discussions\/1$/);
      assert.equal(await head(), sha, 'main unchanged by a PR commit');
      assert.equal(await (await api('/alice/api/resolve/refs%2Fpr%2F1/pr.txt')).text(), 'pr\n');
      const refs = (await (await api('/api/models/alice/api/refs?include_prs=1')).json()) as { pullRequests: { ref: string }[] };
      assert.deepEqual(refs.pullRequests.map((p) => p.ref), ['refs/pr/1']);
    });

    it('compare lists changed files; super-squash leaves one commit with the same tree', async () => {
      await api('/api/models/alice/api/branch/squashme', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ startingPoint: 'main' }) });
      const base = ((await (await api('/api/models/alice/api/revision/squashme')).json()) as { sha: string }).sha;
      await commit([{ key: 'header', value: { summary: 'on squashme' } }, file('sq/new.txt', 'n\n'), { key: 'deletedFile', value: { path: 'free/0.txt' } }], 'squashme');
      const cmp = (await (await api(`/api/models/alice/api/compare/${base}..squashme`)).json()) as { files: { path: string; status: string }[] };
      assert.deepEqual(cmp.files.map((f) => `${f.status} ${f.path}`), ['deleted free/0.txt', 'added sq/new.txt']);
      const treeBefore = (await (await api('/api/models/alice/api/tree/squashme?recursive=true')).json()) as { path: string; oid: string }[];
      const sq = await api('/api/models/alice/api/super-squash/squashme', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: 'squashed' }) });
      assert.equal(sq.status, 200);
      const history = (await (await api('/api/models/alice/api/commits/squashme')).json()) as { title: string }[];
      assert.deepEqual(history.map((c) => c.title), ['squashed']);
      assert.deepEqual(await (await api('/api/models/alice/api/tree/squashme?recursive=true')).json(), treeBefore);
    });

    it('a git push with LFS is read through resolve, tree and commits with matching ids', async () => {
      const dir = path.join(tmpDir('hf-git'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/api.git`, dir]);
      await git(['lfs', 'track', '*.bin'], { cwd: dir });
      const data = crypto.randomBytes(3 << 20);
      fs.writeFileSync(path.join(dir, 'pushed.bin'), data);
      await git(['add', '.'], { cwd: dir });
      await git(['commit', '--quiet', '-m', 'git push with lfs'], { cwd: dir });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: dir });
      const sha = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
      const commits = (await (await api('/api/models/alice/api/commits/main?limit=1')).json()) as { id: string; title: string }[];
      assert.deepEqual([commits[0]!.id, commits[0]!.title], [sha, 'git push with lfs']);
      const tree = (await (await api('/api/models/alice/api/tree/main')).json()) as { path: string; lfs?: { oid: string; size: number } }[];
      const entry = tree.find((e) => e.path === 'pushed.bin')!;
      assert.equal(entry.lfs?.oid, crypto.createHash('sha256').update(data).digest('hex'));
      const dl = await api('/alice/api/resolve/main/pushed.bin');
      assert.equal(dl.headers.get('x-repo-commit') ?? sha, sha);
      assert.ok(Buffer.from(await dl.arrayBuffer()).equals(data));
      const headRes = await api('/alice/api/resolve/main/pushed.bin', { method: 'HEAD', redirect: 'manual' });
      assert.equal(headRes.headers.get('x-linked-size'), String(data.length));
      assert.equal(headRes.headers.get('x-linked-etag'), `"${entry.lfs!.oid}"`);
      assert.equal(headRes.headers.get('x-repo-commit'), sha);
    });

    it('a large file pushed without LFS streams through resolve and raw, whole and by Range', async () => {
      const dir = path.join(tmpDir('hf-git-big'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/api.git`, dir]);
      const data = crypto.randomBytes(3 << 20);
      fs.writeFileSync(path.join(dir, 'plain.dat'), data);
      await git(['add', 'plain.dat'], { cwd: dir });
      await git(['commit', '--quiet', '-m', 'a big file without LFS'], { cwd: dir });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: dir });
      for (const kind of ['resolve', 'raw']) {
        const whole = await api(`/alice/api/${kind}/main/plain.dat`);
        assert.equal(whole.status, 200);
        assert.equal(whole.headers.get('content-length'), String(data.length));
        assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data), `${kind}: the same bytes`);
        const part = await api(`/alice/api/${kind}/main/plain.dat`, { headers: { Range: 'bytes=1048570-1048589' } });
        assert.equal(part.status, 206);
        assert.equal(part.headers.get('content-range'), `bytes 1048570-1048589/${data.length}`);
        assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1048570, 1048590)));
        const tail = await api(`/alice/api/${kind}/main/plain.dat`, { headers: { Range: `bytes=${data.length - 5}-` } });
        assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 5)));
      }
    });
  });
}
