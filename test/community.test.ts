import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { git, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

type User = { name: string; token: string; readToken: string };
type Event = { id: string; type: string; createdAt: string; author?: { name: string }; data: Record<string, unknown> };
type Details = {
  num: number;
  title: string;
  status: string;
  isPullRequest: boolean;
  createdAt: string;
  author?: { name: string };
  repo: { name: string; type: string };
  events: Event[];
  changes?: { base: string; mergeCommitId?: string };
  filesWithConflicts?: string[];
  diff?: string;
};
type Listing = { discussions: Details[]; count: number; start: number };

const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');
const blobOf = (b: Buffer | string) => new Blob([typeof b === 'string' ? Buffer.from(b) : b]);
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

for (const backend of backends()) {
  describe(`discussions and pull requests (${backend})`, () => {
    let h: Hub;
    let alice: User; // owns alice/proj
    let bob: User; // may only read alice/proj
    let dave: User; // may only read, too
    const weights = crypto.randomBytes((2 << 20) + 123); // above the LFS threshold

    /** A request shaped as the Python client sends it: Bearer token, JSON body (or none at all). */
    const call = (who: User | null, method: string, p: string, body?: unknown, token = who?.token) =>
      fetch(`${h.url}${p}`, {
        method,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const ok = async <T>(r: Response | Promise<Response>): Promise<T> => {
      const res = await r;
      const text = await res.text();
      assert.equal(res.status, 200, `${res.url}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const D = (repo: string) => `/api/models/${repo}/discussions`;
    const details = (repo: string, num: number, who: User = alice) => ok<Details>(call(who, 'GET', `${D(repo)}/${num}?diff=1`));
    const commit = (who: User, repo: string, lines: unknown[], rev = 'main', query = '') =>
      fetch(`${h.url}/api/models/${repo}/commit/${encodeURIComponent(rev)}${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${who.token}`, 'Content-Type': 'application/x-ndjson' },
        body: ndjson(lines),
      });
    const file = (p: string, content: string) => ({ key: 'file', value: { path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64' } });
    const headOf = async (repo: string, rev = 'main') => (await ok<{ sha: string }>(call(alice, 'GET', `/api/models/${repo}/revision/${encodeURIComponent(rev)}`))).sha;
    const newRepo = async (name: string, opts: { private?: boolean } = {}) => {
      await ok(call(alice, 'POST', '/api/repos/create', { name, organization: null, ...(opts.private ? { private: true } : {}) }));
      await ok(commit(alice, `alice/${name}`, [{ key: 'header', value: { summary: 'base' } }, file('README.md', '# base\n'), file('shared.txt', 'one\ntwo\nthree\n')]));
    };

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
      dave = await h.user('dave');
      await newRepo('proj');
    });
    after(async () => {
      await h?.stop();
    });

    it('a reader opens a pull request with an LFS file through create_commit(create_pr); a writer merges it; git clone sees it', async () => {
      const mainBefore = await headOf('alice/proj');
      // bob cannot write to main ...
      const denied = await commit(bob, 'alice/proj', [{ key: 'header', value: { summary: 'direct' } }, file('x.txt', 'x\n')]);
      assert.equal(denied.status, 403);
      // ... but may open a pull request, LFS upload included (the JS client sends no ref in the batch).
      const out = await hub.commit({
        hubUrl: h.url,
        accessToken: bob.token as `hf_${string}`,
        repo: 'alice/proj',
        title: 'Add weights',
        description: 'Trained for 3 epochs.',
        operations: [
          { operation: 'addOrUpdate', path: 'weights.bin', content: blobOf(weights) },
          { operation: 'addOrUpdate', path: 'notes.txt', content: blobOf('first line\n') },
        ],
        isPullRequest: true,
      });
      assert.ok(out?.pullRequestUrl, 'the answer links the pull request');
      assert.equal(out.pullRequestUrl, `${h.url}/alice/proj/discussions/1`);
      const num = Number(out.pullRequestUrl.split('/').pop());
      assert.equal(await headOf('alice/proj'), mainBefore, 'main did not move');
      assert.equal(await headOf('alice/proj', `refs/pr/${num}`), out.commit.oid);

      let pr = await details('alice/proj', num, bob);
      assert.equal(pr.isPullRequest, true);
      assert.equal(pr.status, 'open');
      assert.equal(pr.title, 'Add weights');
      assert.equal(pr.author?.name, 'bob');
      assert.deepEqual(pr.repo, { name: 'alice/proj', type: 'model' });
      assert.equal(pr.changes?.base, 'refs/heads/main');
      assert.deepEqual(pr.filesWithConflicts, []);
      assert.equal(pr.events[0]!.type, 'comment');
      assert.equal((pr.events[0]!.data.latest as { raw: string }).raw, 'Trained for 3 epochs.');
      const commitEvent = pr.events.find((e) => e.type === 'commit')!;
      assert.deepEqual(commitEvent.data, { subject: 'Add weights', oid: out.commit.oid });
      assert.match(commitEvent.id, /^[0-9a-f]{24}$/);
      assert.match(pr.diff!, /diff --git a\/notes\.txt b\/notes\.txt\nnew file mode 100644\nindex 0000000\.\.[0-9a-f]{7}\n--- \/dev\/null\n\+\+\+ b\/notes\.txt\n@@ -0,0 \+1 @@\n\+first line\n/);
      assert.match(pr.diff!, /\+oid sha256:[0-9a-f]{64}/, 'the LFS file shows as its pointer, as in git');

      // A comment by the owner; the event it answers is the one the thread shows.
      const c = await ok<{ newMessage: Event }>(call(alice, 'POST', `${D('alice/proj')}/${num}/comment`, { comment: 'Looks good, merging.' }));
      assert.equal(c.newMessage.type, 'comment');
      pr = await details('alice/proj', num, bob);
      assert.deepEqual(pr.events.at(-1), c.newMessage);

      // bob may not merge; alice may.
      const notYours = await call(bob, 'POST', `${D('alice/proj')}/${num}/merge`, { comment: 'merge please' });
      assert.equal(notYours.status, 403);
      assert.equal((await notYours.json() as { error: string }).error.includes('rights'), true);
      const merged = await call(alice, 'POST', `${D('alice/proj')}/${num}/merge`);
      assert.equal(merged.status, 200, await merged.clone().text());
      pr = await details('alice/proj', num, bob);
      assert.equal(pr.status, 'merged');
      // main had not moved: a fast-forward to the pull request's commit.
      assert.equal(pr.changes?.mergeCommitId, out.commit.oid);
      assert.equal(await headOf('alice/proj'), out.commit.oid);
      assert.deepEqual(pr.events.at(-1)!.data, { status: 'merged' });

      // The branch serves the files, LFS content included, to the API and to git clone.
      const dl = await fetch(`${h.url}/alice/proj/resolve/main/weights.bin`);
      assert.ok(Buffer.from(await dl.arrayBuffer()).equals(weights));
      const dir = path.join(tmpDir('pr-clone'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/proj.git`, dir]);
      assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(weights));
      assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'first line\n');
      assert.match(await git(['cat-file', '-p', 'HEAD:weights.bin'], { cwd: dir }), new RegExp(`oid sha256:${sha256(weights)}`));

      // A merged pull request takes no more commits, and cannot be merged again.
      const late = await commit(bob, 'alice/proj', [{ key: 'header', value: { summary: 'late' } }, file('late.txt', 'x\n')], `refs/pr/${num}`);
      assert.equal(late.status, 400);
      assert.equal((await call(alice, 'POST', `${D('alice/proj')}/${num}/merge`)).status, 400);
    });

    it('a pull request behind its base merges as a merge commit built by the commit service', async () => {
      await newRepo('behind');
      const r = await commit(bob, 'alice/behind', [{ key: 'header', value: { summary: 'Add feature', description: 'A feature.' } }, file('feature.txt', 'feature\n')], 'main', '?create_pr=1');
      const pr = (await r.json()) as { pullRequestUrl: string; commitOid: string };
      assert.equal(r.status, 200, JSON.stringify(pr));
      const num = Number(pr.pullRequestUrl.split('/').pop());
      // main moves on meanwhile (other files).
      await ok(commit(alice, 'alice/behind', [{ key: 'header', value: { summary: 'Touch readme' } }, file('README.md', '# base, edited on main\n')]));
      const mainHead = await headOf('alice/behind');
      await ok(call(alice, 'POST', `${D('alice/behind')}/${num}/merge`, { comment: 'Thanks!' }));
      const d = await details('alice/behind', num);
      assert.equal(d.status, 'merged');
      const mergeId = d.changes!.mergeCommitId!;
      assert.equal(await headOf('alice/behind'), mergeId);
      assert.deepEqual(
        d.events.slice(-2).map((e) => e.type),
        ['comment', 'status-change'],
      );
      const dir = path.join(tmpDir('merge-clone'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/behind.git`, dir]);
      assert.equal((await git(['rev-parse', 'HEAD'], { cwd: dir })).trim(), mergeId);
      assert.deepEqual((await git(['rev-list', '--parents', '-n', '1', 'HEAD'], { cwd: dir })).trim().split(' ').slice(1), [mainHead, pr.commitOid]);
      assert.equal(fs.readFileSync(path.join(dir, 'feature.txt'), 'utf8'), 'feature\n');
      assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), '# base, edited on main\n');
      assert.match(await git(['log', '-1', '--format=%s', 'HEAD'], { cwd: dir }), /^Add feature \(#1\)$/m);
      await git(['fsck', '--full', '--strict'], { cwd: dir });
    });

    it('a conflicting pull request is refused, listing the conflicting files; its base is unchanged', async () => {
      await newRepo('conflict');
      const r = await commit(
        bob,
        'alice/conflict',
        [{ key: 'header', value: { summary: 'Rewrite shared' } }, file('shared.txt', 'one\nTWO (bob)\nthree\n'), file('README.md', '# bob\n'), file('bob-only.txt', 'b\n')],
        'main',
        '?create_pr=1',
      );
      assert.equal(r.status, 200);
      const num = Number(((await r.json()) as { pullRequestUrl: string }).pullRequestUrl.split('/').pop());
      await ok(commit(alice, 'alice/conflict', [{ key: 'header', value: { summary: 'Edit on main' } }, file('shared.txt', 'one\ntwo (alice)\nthree\n'), file('README.md', '# alice\n')]));
      const mainHead = await headOf('alice/conflict');
      const d = await details('alice/conflict', num);
      assert.deepEqual(d.filesWithConflicts, ['README.md', 'shared.txt']);
      const refused = await call(alice, 'POST', `${D('alice/conflict')}/${num}/merge`);
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get('x-error-code'), 'MergeConflict');
      const { error } = (await refused.json()) as { error: string };
      assert.match(error, /README\.md/);
      assert.match(error, /shared\.txt/);
      assert.doesNotMatch(error, /bob-only/);
      assert.equal(await headOf('alice/conflict'), mainHead, 'main unchanged');
      assert.equal((await details('alice/conflict', num)).status, 'open');
    });

    it('discussions and API pull requests as the Python client drives them: numbers, list filters, pagination, actions', async () => {
      await newRepo('talk');
      const T = D('alice/talk');
      const pr = await ok<{ num: number }>(call(bob, 'POST', T, { title: 'Test PR', description: 'Pull Request opened with the huggingface_hub Python library', pullRequest: true }));
      const disc = await ok<{ num: number }>(call(bob, 'POST', T, { title: 'Test Discussion', description: 'Discussion opened with the huggingface_hub Python library', pullRequest: false }));
      assert.equal(pr.num, 1);
      assert.equal(disc.num, 2);
      // One event each (the description); the API pull request is a draft at the head of main, readable at once.
      const prd = await details('alice/talk', 1);
      assert.equal(prd.status, 'draft');
      assert.equal(prd.events.length, 1);
      assert.equal((await details('alice/talk', 2)).events.length, 1);
      assert.equal(await headOf('alice/talk', 'refs/pr/1'), await headOf('alice/talk'));
      // A create_commit(create_pr) pull request takes the next number, after the discussion.
      const viaCommit = await commit(dave, 'alice/talk', [{ key: 'header', value: { summary: 'Third' } }, file('t.txt', 't\n')], 'main', '?create_pr=1');
      assert.equal(((await viaCommit.json()) as { pullRequestUrl: string }).pullRequestUrl, `${h.url}/alice/talk/discussions/3`);

      const list = async (q: string) => (await ok<Listing>(call(alice, 'GET', `${T}?p=0${q}`))).discussions.map((d) => d.num);
      assert.deepEqual(await list(''), [3, 2, 1], 'newest first');
      assert.deepEqual(await list('&type=pull_request'), [3, 1]);
      assert.deepEqual(await list('&type=discussion'), [2]);
      assert.deepEqual(await list('&status=open'), [3, 2, 1], 'open includes drafts');
      assert.deepEqual(await list('&author=unknown'), []);
      assert.deepEqual(await list('&author=dave'), [3]);
      assert.equal((await call(alice, 'GET', `${T}?p=0&status=merged`)).status, 400);

      // Rename by its author; a stranger may not.
      assert.equal((await call(dave, 'POST', `${T}/2/title`, { title: 'Hijacked' })).status, 403);
      const renamed = await ok<{ newTitle: Event }>(call(bob, 'POST', `${T}/2/title`, { title: 'Renamed discussion' }));
      assert.deepEqual(renamed.newTitle.data, { from: 'Test Discussion', to: 'Renamed discussion' });
      // Close, then the filters see it closed.
      const closed = await ok<{ newStatus: Event }>(call(bob, 'POST', `${T}/2/status`, { status: 'closed', comment: 'Done here.' }));
      assert.deepEqual(closed.newStatus.data, { status: 'closed' });
      assert.deepEqual(await list('&status=open'), [3, 1]);
      assert.deepEqual(await list('&status=closed'), [2]);
      const d2 = await details('alice/talk', 2);
      assert.equal(d2.title, 'Renamed discussion');
      assert.deepEqual(
        d2.events.map((e) => e.type),
        ['comment', 'title-change', 'status-change', 'comment'],
      );
      assert.deepEqual(d2.events[1], renamed.newTitle);
      assert.deepEqual(d2.events[2], closed.newStatus);
      assert.equal((await call(bob, 'POST', `${T}/2/status`, { status: 'merged' })).status, 400);
      // Reopen.
      await ok(call(alice, 'POST', `${T}/2/status`, { status: 'open' }));

      // Edit and hide a comment (the client lowercases the id); the answer equals the thread's event.
      const first = d2.events[0]!;
      const edited = await ok<{ updatedComment: Event }>(call(bob, 'POST', `${T}/2/comment/${first.id.toLowerCase()}/edit`, { content: 'Edited text' }));
      assert.equal(edited.updatedComment.id, first.id);
      assert.equal(edited.updatedComment.data.edited, true);
      assert.equal((edited.updatedComment.data.latest as { raw: string }).raw, 'Edited text');
      assert.equal((edited.updatedComment.data.history as unknown[]).length, 1);
      assert.deepEqual((await details('alice/talk', 2)).events[0], edited.updatedComment);
      assert.equal((await call(dave, 'POST', `${T}/2/comment/${first.id}/edit`, { content: 'not mine' })).status, 403);
      // hide: no body, no Content-Type.
      const hidden = await ok<{ updatedComment: Event }>(call(bob, 'POST', `${T}/2/comment/${first.id}/hide`));
      assert.equal(hidden.updatedComment.data.hidden, true);
      assert.equal((hidden.updatedComment.data.latest as { raw: string }).raw, '');
      assert.deepEqual((await details('alice/talk', 2)).events[0], hidden.updatedComment);
      assert.equal((await call(bob, 'POST', `${T}/2/comment/${first.id}/edit`, { content: 'again' })).status, 400);
      assert.equal((await call(bob, 'POST', `${T}/2/comment/${'0'.repeat(24)}/edit`, { content: 'x' })).status, 404);

      // A draft cannot be merged; published but empty, it has no associated changes.
      assert.equal((await call(alice, 'POST', `${T}/1/merge`)).status, 400);
      await ok(call(bob, 'POST', `${T}/1/status`, { status: 'open' }));
      const empty = await call(alice, 'POST', `${T}/1/merge`);
      assert.equal(empty.status, 400);
      assert.match(((await empty.json()) as { error: string }).error, /no associated changes/);
      // A discussion is not mergeable; unknown numbers are 404 without RepoNotFound.
      assert.equal((await call(alice, 'POST', `${T}/2/merge`)).status, 400);
      const missing = await call(alice, 'GET', `${T}/99`);
      assert.equal(missing.status, 404);
      assert.notEqual(missing.headers.get('x-error-code'), 'RepoNotFound');
      assert.equal((await call(alice, 'GET', `${T}/abc`)).status, 404);

      // Bad input: a short title, an empty comment.
      assert.equal((await call(bob, 'POST', T, { title: 'ab', description: 'x', pullRequest: false })).status, 400);
      assert.equal((await call(bob, 'POST', `${T}/2/comment`, { comment: '   ' })).status, 400);
    });

    it('numbers stay unique when discussions, API pull requests and create_pr commits race', async () => {
      await newRepo('race');
      const results = await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => call(i % 2 ? bob : dave, 'POST', D('alice/race'), { title: `Race ${i}`, description: 'd', pullRequest: i % 3 === 0 })),
        ...Array.from({ length: 4 }, (_, i) => commit(i % 2 ? bob : dave, 'alice/race', [{ key: 'header', value: { summary: `Commit PR ${i}` } }, file(`race-${i}.txt`, `${i}\n`)], 'main', '?create_pr=1')),
      ]);
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      const listing = await ok<Listing>(call(alice, 'GET', `${D('alice/race')}?p=0`));
      assert.deepEqual(listing.discussions.map((d) => d.num), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      const refs = await ok<{ pullRequests: { ref: string }[] }>(call(alice, 'GET', '/api/models/alice/race/refs?include_prs=1'));
      const prNums = listing.discussions.filter((d) => d.isPullRequest).map((d) => `refs/pr/${d.num}`).sort();
      assert.deepEqual(refs.pullRequests.map((r) => r.ref).sort(), prNums, 'every pull request has its refs/pr/N, and only they');
      assert.equal(prNums.length, 6);
    });

    it('list pagination: pages of 50 with count and start', async () => {
      await newRepo('busy');
      for (let i = 0; i < 52; i++) await ok(call(bob, 'POST', D('alice/busy'), { title: `Discussion ${i}`, description: 'd', pullRequest: false }));
      const p0 = await ok<Listing>(call(alice, 'GET', `${D('alice/busy')}?p=0`));
      const p1 = await ok<Listing>(call(alice, 'GET', `${D('alice/busy')}?p=1`));
      assert.equal(p0.count, 52);
      assert.equal(p0.start, 0);
      assert.equal(p0.discussions.length, 50);
      assert.equal(p1.start, 50);
      assert.deepEqual(
        p1.discussions.map((d) => d.num),
        [2, 1],
      );
    });

    it('create_commit(create_pr) against a commit id or a missing branch is RevisionNotFound; a pull request is added to by its author and writers only', async () => {
      await newRepo('rules');
      const head = await headOf('alice/rules');
      for (const rev of [head, 'no-such-branch']) {
        const r = await commit(bob, 'alice/rules', [{ key: 'header', value: { summary: 'x' } }, file('x.txt', 'x\n')], rev, '?create_pr=1');
        assert.equal(r.status, 404, rev);
        assert.equal(r.headers.get('x-error-code'), 'RevisionNotFound');
      }
      const r = await commit(bob, 'alice/rules', [{ key: 'header', value: { summary: 'Mine' } }, file('mine.txt', '1\n')], 'main', '?create_pr=1');
      const num = Number(((await r.json()) as { pullRequestUrl: string }).pullRequestUrl.split('/').pop());
      // Its author adds a commit (the JS client commits to refs/pr/N so) ...
      const more = await hub.commit({
        hubUrl: h.url,
        accessToken: bob.token as `hf_${string}`,
        repo: 'alice/rules',
        branch: `refs/pr/${num}`,
        title: 'Second commit',
        operations: [{ operation: 'addOrUpdate', path: 'mine2.txt', content: blobOf('2\n') }],
      });
      assert.equal(await headOf('alice/rules', `refs/pr/${num}`), more!.commit.oid);
      // ... another reader may not.
      assert.equal((await commit(dave, 'alice/rules', [{ key: 'header', value: { summary: 'Not mine' } }, file('d.txt', 'd\n')], `refs/pr/${num}`)).status, 403);
      // A read-only token opens nothing.
      const readOnly = { ...bob, token: bob.readToken };
      assert.equal((await commit(readOnly, 'alice/rules', [{ key: 'header', value: { summary: 'ro' } }, file('ro.txt', 'r\n')], 'main', '?create_pr=1')).status, 403);
      assert.equal((await call(readOnly, 'POST', D('alice/rules'), { title: 'read only', description: 'x' })).status, 403);

      // A git push to the existing refs/pr/N updates the pull request (its commits and diff).
      const dir = path.join(tmpDir('pr-push'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/rules.git`, dir]);
      await git(['fetch', '--quiet', 'origin', `refs/pr/${num}:pr`], { cwd: dir });
      await git(['checkout', '--quiet', 'pr'], { cwd: dir });
      fs.writeFileSync(path.join(dir, 'pushed.txt'), 'pushed with git\n');
      await git(['add', 'pushed.txt'], { cwd: dir });
      await git(['commit', '--quiet', '-m', 'Pushed to the pull request'], { cwd: dir });
      await git(['push', '--quiet', 'origin', `pr:refs/pr/${num}`], { cwd: dir });
      const pushed = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
      const d = await details('alice/rules', num);
      assert.deepEqual(
        d.events.filter((e) => e.type === 'commit').map((e) => (e.data as { subject: string }).subject),
        ['Mine', 'Second commit', 'Pushed to the pull request'],
      );
      assert.equal(d.events.filter((e) => e.type === 'commit').at(-1)!.data.oid, pushed);
      assert.match(d.diff!, /\+\+\+ b\/pushed\.txt\n@@ -0,0 \+1 @@\n\+pushed with git/);
      // And merging takes all three commits.
      await ok(call(alice, 'POST', `${D('alice/rules')}/${num}/merge`));
      const files = (await ok<{ path: string }[]>(call(alice, 'GET', '/api/models/alice/rules/tree/main'))).map((e) => e.path);
      for (const f of ['mine.txt', 'mine2.txt', 'pushed.txt']) assert.ok(files.includes(f), f);
    });

    it('a private repository: its discussions are absent for non-readers (404, 401 anonymous)', async () => {
      await newRepo('hidden', { private: true });
      await ok(call(alice, 'POST', D('alice/hidden'), { title: 'Internal', description: 'x', pullRequest: false }));
      for (const [method, p, body] of [
        ['GET', `${D('alice/hidden')}`, undefined],
        ['GET', `${D('alice/hidden')}/1`, undefined],
        ['POST', `${D('alice/hidden')}`, { title: 'Let me in', description: 'x' }],
        ['POST', `${D('alice/hidden')}/1/comment`, { comment: 'hi' }],
      ] as const) {
        const asBob = await call(bob, method, p, body);
        assert.equal(asBob.status, 404, `${method} ${p}`);
        assert.equal(asBob.headers.get('x-error-code'), 'RepoNotFound');
        const anon = await call(null, method, p, body);
        assert.equal(anon.status, 401, `${method} ${p} anonymous`);
      }
      assert.equal((await ok<Listing>(call(alice, 'GET', `${D('alice/hidden')}?p=0`))).count, 1);
      // Anonymous callers read public threads but may not write.
      const pub = await call(null, 'GET', `${D('alice/proj')}?p=0`);
      assert.equal(pub.status, 200);
      assert.equal((await call(null, 'POST', `${D('alice/proj')}/1/comment`, { comment: 'anon' })).status, 401);
    });
  });
}
