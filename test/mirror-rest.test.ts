import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { git, tmpDir } from './helpers/git.js';
import { jsonApi as api } from './helpers/api.js';
import { backends, serverLogOnFailure, startHub, type Hub } from './helpers/server.js';

// A mirror of an upstream that offers only the REST API: the upstream is a second packhub process
// behind a proxy that answers 404 to every git smart HTTP path. The mirror builds one synthetic
// commit per upstream tip from the tree listing and the files, verified byte for byte, and answers
// with the upstream's commit ids.

type User = { name: string; token: string; readToken: string };
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function jobDone(hub: Hub, admin: User, id: string, timeoutMs = 120_000): Promise<{ job: any; log: string[] }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(hub, admin, 'GET', `/api/admin/jobs/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    if (['completed', 'failed', 'cancelled'].includes(r.json.job.state)) return { job: r.json.job, log: r.json.log.map((l: any) => l.line) };
    if (Date.now() > until) throw new Error(`job ${id} still ${r.json.job.state} after ${timeoutMs} ms`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

for (const backend of backends()) {
  describe(`mirror of a REST-only upstream (${backend})`, () => {
    let upstream: Hub;
    let proxy: FaultProxy;
    let mirror: Hub;
    let upAdmin: User;
    let admin: User;
    const id = 'acme/restonly';
    const weights = crypto.randomBytes(3 << 20);

    before(async () => {
      upstream = await startHub({ backend: 'fs' });
      upAdmin = await upstream.user('upadmin', { admin: true });
      proxy = await startFaultProxy(upstream.url);
      // No git smart HTTP upstream: info/refs, upload-pack (and the LFS batch endpoint) answer 404;
      // except for acme/withgit, whose git endpoint passes (a mirror of it may still choose REST).
      proxy.faults.push({ match: /^(?!\/acme\/withgit\.git\/).*\.git\//, kind: 'status', status: 404, times: Infinity });
      mirror = await startHub({
        backend,
        env: { PACKHUB_UPSTREAM_URL: proxy.url, PACKHUB_UPSTREAM_TOKEN: upAdmin.token, PACKHUB_UPSTREAM_TTL: '1h', PACKHUB_JOB_POLL_MS: '200' },
      });
      admin = await mirror.user('root', { admin: true });
    });
    afterEach((t) => serverLogOnFailure(t, mirror, upstream));
    after(async () => {
      await mirror?.stop();
      await proxy?.close();
      await upstream?.stop();
    });

    const upCreds = () => ({ hubUrl: upstream.url, accessToken: upAdmin.token as `hf_${string}` });
    const upstreamSha = async (rev: string) => ((await (await fetch(`${upstream.url}/api/models/${id}/revision/${rev}`, { headers: { authorization: `Bearer ${upAdmin.token}` } })).json()) as { sha: string }).sha;
    const sync = async () => {
      const r = await api(mirror, admin, 'POST', `/api/admin/mirrors/models/${id}/sync`);
      assert.equal(r.status, 202, JSON.stringify(r.json));
      return jobDone(mirror, admin, r.json.job);
    };
    /** Every file of a revision, downloaded with the JS client from a hub: path -> sha256. */
    const files = async (hub: Hub, revision: string, token?: string) => {
      const out = new Map<string, string>();
      const creds = { hubUrl: hub.url, ...(token ? { accessToken: token as `hf_${string}` } : {}) };
      for await (const f of hf.listFiles({ repo: id, recursive: true, revision, ...creds })) {
        if (f.type !== 'file') continue;
        const blob = await hf.downloadFile({ repo: id, path: f.path, revision, ...creds });
        assert.ok(blob, f.path);
        out.set(f.path, sha256(Buffer.from(await blob.arrayBuffer())));
      }
      return out;
    };

    it('a file with wrong bytes fails the sync and nothing is committed; then the history is synthetic, and the API and the JS client see the upstream’s commit ids and bytes', async () => {
      await hf.createRepo({ repo: id, ...upCreds() });
      await hf.uploadFiles({
        repo: id,
        files: [
          { path: 'config.json', content: new Blob([Buffer.from('{"model_type":"bert"}\n')]) },
          { path: 'sub/dir/notes.txt', content: new Blob([Buffer.from('nested\n')]) },
          { path: 'weights.bin', content: new Blob([weights]) },
        ],
        ...upCreds(),
      });
      await hf.createBranch({ repo: id, branch: 'dev', ...upCreds() });
      await hf.uploadFile({ repo: id, branch: 'dev', file: { path: 'dev.txt', content: new Blob([Buffer.from('on dev\n')]) }, ...upCreds() });
      const mainSha = await upstreamSha('main');
      const devSha = await upstreamSha('dev');

      // One byte of config.json flipped on its way: refused, nothing stored.
      proxy.faults.push({ match: /\/resolve\/[0-9a-f]{40}\/config\.json$/, kind: 'flip', times: 1 });
      const reg = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: id, type: 'model' });
      assert.equal(reg.status, 201, JSON.stringify(reg.json));
      const failed = await jobDone(mirror, admin, reg.json.jobs[0]);
      assert.equal(failed.job.state, 'failed', failed.log.join('\n'));
      assert.match(failed.job.error, /wrong bytes for config\.json/);
      assert.match(failed.log.join('\n'), /no git endpoint/);
      const refs = await api(mirror, admin, 'GET', `/api/models/${id}/refs`);
      assert.deepEqual(refs.json.branches, []);
      assert.equal((await api(mirror, admin, 'GET', '/api/admin/mirrors')).json.find((m: any) => m.id === id).state, 'failed');

      // Sync again (the proxy no longer flips): a synthetic commit per tip.
      const ok = await sync();
      assert.equal(ok.job.state, 'completed', `${ok.job.error}\n${ok.log.join('\n')}`);
      assert.match(ok.log.join('\n'), /REST API/);

      // Repo info: the upstream's sha, and the history says it is synthetic.
      for (const [rev, sha] of [
        ['main', mainSha],
        [mainSha, mainSha],
        ['dev', devSha],
        [devSha, devSha],
      ] as const) {
        const info = await api(mirror, admin, 'GET', `/api/models/${id}/revision/${rev}`);
        assert.equal(info.status, 200, JSON.stringify(info.json));
        assert.equal(info.json.sha, sha, rev);
        assert.deepEqual(info.json.mirror, { method: 'rest', history: 'auto' });
      }
      const info = await hf.modelInfo({ name: id, hubUrl: mirror.url, accessToken: admin.token as `hf_${string}`, additionalFields: ['sha'] });
      assert.equal(info.sha, mainSha);
      const listed = (await api(mirror, admin, 'GET', '/api/admin/mirrors')).json.find((m: any) => m.id === id);
      assert.equal(listed.history, 'auto');
      assert.equal(listed.historyMethod, 'rest');

      // X-Repo-Commit is the upstream's id, by branch and by id, for a regular and an LFS file.
      for (const rev of ['main', mainSha]) {
        for (const p of ['config.json', 'weights.bin']) {
          const head = await fetch(`${mirror.url}/${id}/resolve/${rev}/${p}`, { method: 'HEAD', headers: { authorization: `Bearer ${admin.token}` } });
          assert.equal(head.status, 200, `${rev} ${p}`);
          assert.equal(head.headers.get('x-repo-commit'), mainSha, `${rev} ${p}`);
        }
      }

      // The tree is the upstream's, entry for entry (same blob ids, LFS details).
      const tree = async (hub: Hub, token: string, rev: string) => (await api(hub, { token }, 'GET', `/api/models/${id}/tree/${rev}?recursive=true`)).json;
      assert.deepEqual(await tree(mirror, admin.token, mainSha), await tree(upstream, upAdmin.token, mainSha));

      // The JS client downloads the same bytes from the mirror as from the upstream: by id, by branch.
      const theirsMain = await files(upstream, mainSha, upAdmin.token);
      assert.equal(theirsMain.get('weights.bin'), sha256(weights));
      assert.deepEqual(await files(mirror, mainSha, admin.token), theirsMain);
      assert.deepEqual(await files(mirror, 'main', admin.token), theirsMain);
      assert.deepEqual(await files(mirror, 'dev', admin.token), await files(upstream, devSha, upAdmin.token));

      // In git, the synthetic commit names its upstream commit.
      const dir = path.join(tmpDir('mirror-rest'), 'c');
      await git(['clone', '--quiet', `${mirror.authUrl(admin)}/${id}.git`, dir], { env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      assert.match(await git(['log', '-1', '--format=%B'], { cwd: dir }), new RegExp(`Upstream-Commit: ${mainSha}`));
      assert.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: dir })).trim(), '1');

      // An upstream commit later: the next sync adds one synthetic commit on top.
      await hf.uploadFile({ repo: id, file: { path: 'config.json', content: new Blob([Buffer.from('{"model_type":"gpt2"}\n')]) }, ...upCreds() });
      const nextSha = await upstreamSha('main');
      assert.notEqual(nextSha, mainSha);
      const again = await sync();
      assert.equal(again.job.state, 'completed', `${again.job.error}\n${again.log.join('\n')}`);
      assert.equal((await api(mirror, admin, 'GET', `/api/models/${id}/revision/main`)).json.sha, nextSha);
      assert.equal((await api(mirror, admin, 'GET', `/api/models/${id}/revision/${mainSha}`)).json.sha, mainSha, 'the older upstream id still resolves');
      assert.deepEqual(await files(mirror, 'main', admin.token), await files(upstream, nextSha, upAdmin.token));
      // Refs, the commit listing and the last commits of tree entries show the upstream's ids too.
      const refsNow = (await api(mirror, admin, 'GET', `/api/models/${id}/refs`)).json;
      assert.deepEqual(
        refsNow.branches.map((b: any) => [b.name, b.targetCommit]).sort(),
        [
          ['dev', devSha],
          ['main', nextSha],
        ],
      );
      const history = await api(mirror, admin, 'GET', `/api/models/${id}/commits/main`);
      assert.deepEqual(
        history.json.map((c: any) => c.id),
        [nextSha, mainSha],
      );
      const expanded = (await api(mirror, admin, 'GET', `/api/models/${id}/tree/main?expand=true`)).json;
      const lastOf = (entries: any[], p: string) => entries.find((e) => e.path === p)?.lastCommit?.id;
      assert.equal(lastOf(expanded, 'config.json'), nextSha);
      assert.equal(lastOf(expanded, 'weights.bin'), mainSha);
      const info2 = (await api(mirror, admin, 'POST', `/api/models/${id}/paths-info/main`, { paths: ['config.json', 'sub/dir/notes.txt'], expand: true })).json;
      assert.equal(lastOf(info2, 'config.json'), nextSha);
      assert.equal(lastOf(info2, 'sub/dir/notes.txt'), mainSha);
      // The web UI's commit diff and compare take and give upstream ids too.
      const commitDiff = (await api(mirror, admin, 'GET', `/api/models/${id}/commit-diff/${nextSha}`)).json;
      assert.equal(commitDiff.id, nextSha);
      assert.deepEqual(commitDiff.parents, [mainSha]);
      assert.deepEqual(commitDiff.files.map((f: any) => f.path), ['config.json']);
      const compared = (await api(mirror, admin, 'GET', `/api/models/${id}/compare/${mainSha}..main`)).json;
      assert.deepEqual([compared.base, compared.head], [mainSha, nextSha]);
      await git(['fetch', '--quiet', 'origin'], { cwd: dir, env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      assert.equal((await git(['rev-list', '--count', 'origin/main'], { cwd: dir })).trim(), '2');
      assert.equal((await git(['rev-parse', 'origin/main~1'], { cwd: dir })).trim(), (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim());
      assert.match(await git(['log', '-1', '--format=%B', 'origin/main'], { cwd: dir }), new RegExp(`Upstream-Commit: ${nextSha}`));

      // Nothing changed upstream: a sync adds nothing.
      const idle = await sync();
      assert.equal(idle.job.state, 'completed');
      // The web UI's commit diff and compare take and give upstream ids too.
      const diff = (await api(mirror, admin, 'GET', `/api/models/${id}/commit-diff/${nextSha}`)).json;
      assert.equal(diff.id, nextSha);
      assert.deepEqual(diff.parents, [mainSha]);
      assert.deepEqual(diff.files.map((f: any) => f.path), ['config.json']);
      const cmp = (await api(mirror, admin, 'GET', `/api/models/${id}/compare/${mainSha}..main`)).json;
      assert.deepEqual([cmp.base, cmp.head], [mainSha, nextSha]);
      await git(['fetch', '--quiet', 'origin'], { cwd: dir, env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      assert.equal((await git(['rev-list', '--count', 'origin/main'], { cwd: dir })).trim(), '2');
      // Not one git request got through the proxy.
      assert.ok(proxy.seen.filter((s) => /\.git\//.test(s.path)).every((s) => s.status === 404));
    });
    it('history per mirror: git fails on an upstream without git and says why; rest syncs by REST where git is offered; fixed at registration; listed', async () => {
      const small = async (repo: string) => {
        await hf.createRepo({ repo, ...upCreds() });
        await hf.uploadFile({ repo, file: { path: 'README.md', content: new Blob([Buffer.from(`# ${repo}\n`)]) }, ...upCreds() });
        return ((await (await fetch(`${upstream.url}/api/models/${repo}`, { headers: { authorization: `Bearer ${upAdmin.token}` } })).json()) as { sha: string }).sha;
      };
      const restCalls = (repo: string) => proxy.seen.filter((s) => s.path.startsWith(`/api/models/${repo}/`)).length;

      // history git, and the upstream has no git endpoint for it: the sync fails, saying so; no REST fallback.
      await small('acme/nogit');
      const bad = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: 'acme/nogit', history: 'svn' });
      assert.equal(bad.status, 400, JSON.stringify(bad.json));
      const reg = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: 'acme/nogit', history: 'git' });
      assert.equal(reg.status, 201, JSON.stringify(reg.json));
      assert.equal(reg.json.mirror.history, 'git');
      const failed = await jobDone(mirror, admin, reg.json.jobs[0]);
      assert.equal(failed.job.state, 'failed', failed.log.join('\n'));
      assert.match(failed.job.error, /no git endpoint for acme\/nogit \(404\).*history method of this mirror is git/);
      assert.equal(restCalls('acme/nogit'), 0, 'nothing asked of the REST API');
      const listedBad = (await api(mirror, admin, 'GET', '/api/admin/mirrors')).json.find((m: any) => m.id === 'acme/nogit');
      assert.equal(listedBad.state, 'failed');
      assert.equal(listedBad.history, 'git');
      assert.match(listedBad.lastError, /no git endpoint/);
      assert.deepEqual((await api(mirror, admin, 'GET', '/api/models/acme/nogit/refs')).json.branches, []);

      // history rest (the CLI's --history), where the upstream offers git: by REST all the same.
      const withgitSha = await small('acme/withgit');
      const refs = await fetch(`${proxy.url}/acme/withgit.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from(`${upAdmin.name}:${upAdmin.token}`).toString('base64')}` } });
      assert.equal(refs.status, 200, 'the upstream offers git for acme/withgit');
      await refs.arrayBuffer();
      await assert.rejects(mirror.cli(['mirror', 'add', 'acme/withgit', '--history', 'svn']), /--history is git, rest or auto/);
      const gitBefore = proxy.seen.filter((s) => s.path.startsWith('/acme/withgit.git/')).length;
      const out = await mirror.cli(['mirror', 'add', 'acme/withgit', '--history', 'rest', '--wait']);
      assert.match(out, /mirror\.sync completed/);
      assert.equal(proxy.seen.filter((s) => s.path.startsWith('/acme/withgit.git/')).length, gitBefore, 'no git request for a rest mirror');
      assert.ok(restCalls('acme/withgit') > 0);
      const info = await api(mirror, admin, 'GET', '/api/models/acme/withgit');
      assert.equal(info.json.sha, withgitSha);
      assert.deepEqual(info.json.mirror, { method: 'rest', history: 'rest' });
      const again = await api(mirror, admin, 'POST', '/api/admin/mirrors', { repo: 'acme/withgit', history: 'git' });
      assert.equal(again.status, 409, JSON.stringify(again.json));
      assert.match(JSON.stringify(again.json), /cannot change/);

      const list = await mirror.cli(['mirror', 'list']);
      assert.match(list, /model\tacme\/withgit\tsynced\tregistered\trest\t/);
      assert.match(list, /model\tacme\/nogit\tfailed\tregistered\tgit\t/);
      assert.match(list, /model\tacme\/restonly\tsynced\tregistered\tauto \(rest\)\t/);
      const listJson = JSON.parse(await mirror.cli(['mirror', 'list', '--json'])) as any[];
      assert.deepEqual(
        listJson.filter((m) => m.id !== 'acme/restonly').map((m) => [m.id, m.history, m.historyMethod]),
        [
          ['acme/nogit', 'git', 'git'],
          ['acme/withgit', 'rest', 'rest'],
        ],
      );
    });
  });
}
