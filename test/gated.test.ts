import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

type User = { name: string; token: string; readToken: string };
const LFS_JSON = 'application/vnd.git-lfs+json';
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const basic = (u: User) => `Basic ${Buffer.from(`${u.name}:${u.token}`).toString('base64')}`;

for (const backend of backends()) {
  describe(`gated repositories (${backend})`, () => {
    let h: Hub;
    let alice: User; // owner
    let bob: User; // asks, accepted
    let carol: User; // asks, rejected
    let dave: User; // granted, then sent back to pending
    let erin: User; // asks for the auto-gated repository
    let root: User; // hub admin
    const weights = crypto.randomBytes(300_000);
    const card = '---\nlicense: mit\n---\n# gated model\n';

    const call = (token: string | null, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${h.url}${p}`, {
        method,
        redirect: 'manual',
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const ok = async <T>(r: Response | Promise<Response>): Promise<T> => {
      const res = await r;
      const text = await res.text();
      assert.equal(res.status, 200, `${res.url}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };
    /** The Hub's gated answer: status, X-Error-Code GatedRepo, the message in the header and the JSON body. */
    const gated = async (r: Response | Promise<Response>, status: number, message: RegExp) => {
      const res = await r;
      const text = await res.text();
      assert.equal(res.status, status, `${res.url}: ${res.status} ${text}`);
      assert.equal(res.headers.get('x-error-code'), 'GatedRepo', text);
      assert.match(decodeURIComponent(res.headers.get('x-error-message') ?? ''), message);
      assert.match((JSON.parse(text) as { error: string }).error, message);
    };
    const NOT_LISTED = /^Access to model alice\/llm is restricted and you are not in the authorized list\. Visit http:\/\/127\.0\.0\.1:\d+\/alice\/llm to ask for access\.$/;
    const PENDING = /^Your request to access model alice\/llm is awaiting a review from the repo authors\.$/;
    const REJECTED = /^Your request to access model alice\/llm has been rejected by the repo's authors\.$/;
    /** What @huggingface/hub makes of it: the JSON `error`, then the URL and request id. */
    const inJs = (re: RegExp) => new RegExp(`${re.source.replace(/\$$/, '')}\\. URL: `);
    const ANONYMOUS = /^Access to model alice\/llm is restricted\. You must have access to it and be authenticated to access it\. Please log in\.$/;

    const askAccess = (u: User, repo = 'alice/llm') => ok<{ status: string }>(call(u.token, 'POST', `/${repo}/ask-access`, undefined, { Accept: 'application/json' }));
    const handle = (u: User | null, user: string, status: string, extra: Record<string, unknown> = {}) =>
      call(u?.token ?? null, 'POST', '/api/models/alice/llm/user-access-request/handle', { user, status, ...extra });
    const listed = async (status: string) =>
      (await ok<{ user: { user: string; fullname: string; email?: string | null }; status: string; timestamp: string }[]>(call(alice.token, 'GET', `/api/models/alice/llm/user-access-request/${status}`))).map((r) => r.user.user);
    const lfsBatch = (u: User | null, repo = 'alice/llm') =>
      fetch(`${h.url}/${repo}.git/info/lfs/objects/batch`, {
        method: 'POST',
        headers: { Accept: LFS_JSON, 'Content-Type': LFS_JSON, ...(u ? { Authorization: basic(u) } : {}) },
        body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid: sha256(weights), size: weights.length }] }),
      });
    const clone = (u: User, repo = 'alice/llm') => {
      const dir = path.join(tmpDir('gated-clone'), 'c');
      return { dir, run: () => gitResult(['clone', '--quiet', `${h.authUrl(u)}/${repo}.git`, dir]) };
    };
    const download = (u: User | null, file: string) =>
      hub.downloadFile({ hubUrl: h.url, ...(u ? { accessToken: u.token as `hf_${string}` } : {}), repo: 'alice/llm', path: file });

    before(async () => {
      h = await startHub({ backend });
      alice = await h.user('alice');
      bob = await h.user('bob');
      carol = await h.user('carol');
      dave = await h.user('dave');
      erin = await h.user('erin');
      root = await h.user('root', { admin: true });
      for (const name of ['llm', 'auto', 'open']) {
        await hub.createRepo({ hubUrl: h.url, accessToken: alice.token as `hf_${string}`, repo: { type: 'model', name: `alice/${name}` } });
        await hub.uploadFiles({
          hubUrl: h.url,
          accessToken: alice.token as `hf_${string}`,
          repo: `alice/${name}`,
          files: [
            { path: 'README.md', content: new Blob([card]) },
            { path: 'config.json', content: new Blob(['{"layers": 2}']) },
            { path: 'weights.bin', content: new Blob([weights]) },
          ],
        });
      }
    });
    after(async () => {
      await h?.stop();
    });

    it('gated in settings (as update_repo_settings sends it), repo info and listings', async () => {
      assert.deepEqual(await ok(call(alice.token, 'PUT', '/api/models/alice/llm/settings', { gated: 'manual' })), { private: false, gated: 'manual' });
      assert.deepEqual(await ok(call(alice.token, 'PUT', '/api/models/alice/auto/settings', { gated: 'auto', visibility: 'public' })), { private: false, gated: 'auto' });
      const bad = await call(alice.token, 'PUT', '/api/models/alice/llm/settings', { gated: true });
      assert.equal(bad.status, 400);
      // Only the repository's admins change settings.
      assert.equal((await call(bob.token, 'PUT', '/api/models/alice/llm/settings', { gated: false })).status, 403);
      assert.equal((await ok<{ gated: unknown }>(call(bob.token, 'GET', '/api/models/alice/llm'))).gated, 'manual');
      const info = await hub.modelInfo({ hubUrl: h.url, accessToken: bob.token as `hf_${string}`, name: 'alice/llm' });
      assert.equal(info.gated, 'manual');
      const all = await ok<{ id: string; gated: unknown }[]>(call(null, 'GET', '/api/models?author=alice&sort=id&direction=1'));
      assert.deepEqual(
        all.map((r) => [r.id, r.gated]),
        [
          ['alice/auto', 'auto'],
          ['alice/llm', 'manual'],
          ['alice/open', false],
        ],
      );
      assert.deepEqual((await ok<{ id: string }[]>(call(null, 'GET', '/api/models?author=alice&gated=true&sort=id&direction=1'))).map((r) => r.id), ['alice/auto', 'alice/llm']);
      assert.deepEqual((await ok<{ id: string }[]>(call(null, 'GET', '/api/models?author=alice&gated=false'))).map((r) => r.id), ['alice/open']);
    });

    it('a user without access gets GatedRepo on resolve, raw, auth-check, git and LFS; metadata stays visible', async () => {
      await gated(call(bob.token, 'GET', '/alice/llm/resolve/main/config.json'), 403, NOT_LISTED);
      const head = await call(bob.token, 'HEAD', '/alice/llm/resolve/main/weights.bin');
      assert.equal(head.status, 403);
      assert.equal(head.headers.get('x-error-code'), 'GatedRepo');
      // Checked before the revision and the file.
      await gated(call(bob.token, 'GET', '/alice/llm/resolve/main/no/such/file'), 403, NOT_LISTED);
      await gated(call(bob.token, 'GET', '/alice/llm/resolve/no-such-branch/config.json'), 403, NOT_LISTED);
      await gated(call(bob.token, 'GET', '/alice/llm/raw/main/README.md'), 403, NOT_LISTED);
      await gated(call(bob.token, 'GET', '/api/models/alice/llm/auth-check'), 403, NOT_LISTED);
      const head1 = (await ok<{ sha: string }>(call(alice.token, 'GET', '/api/models/alice/llm'))).sha;
      await gated(call(bob.token, 'GET', `/api/models/alice/llm/commit-diff/${head1}`), 403, NOT_LISTED);
      // Strangers: 401 with the Hub's words.
      await gated(call(null, 'GET', '/alice/llm/resolve/main/config.json'), 401, ANONYMOUS);
      // The model card and the licence stay readable through resolve (not raw); a missing one is EntryNotFound.
      assert.equal(await (await call(bob.token, 'GET', '/alice/llm/resolve/main/README.md')).text(), card);
      assert.equal((await call(null, 'GET', '/alice/llm/resolve/main/README.md')).status, 200);
      const licence = await call(bob.token, 'GET', '/alice/llm/resolve/main/LICENSE');
      assert.equal(licence.status, 404);
      assert.equal(licence.headers.get('x-error-code'), 'EntryNotFound');
      // Metadata, as on the Hub: info with siblings, tree, paths-info, refs, commits.
      const info = await ok<{ siblings: { rfilename: string }[] }>(call(bob.token, 'GET', '/api/models/alice/llm'));
      assert.deepEqual(info.siblings.map((s) => s.rfilename).sort(), ['.gitattributes', 'README.md', 'config.json', 'weights.bin']);
      const tree = await ok<{ path: string }[]>(call(bob.token, 'GET', '/api/models/alice/llm/tree/main'));
      assert.ok(tree.some((e) => e.path === 'weights.bin'));
      await ok(call(null, 'GET', '/api/models/alice/llm/tree/main'));
      await ok(call(bob.token, 'POST', '/api/models/alice/llm/paths-info/main', { paths: ['config.json'] }));
      await ok(call(bob.token, 'GET', '/api/models/alice/llm/commits/main'));

      // Discussions stay public, but a pull request's diff shows content: left out for a caller without access
      // (else a pull request copying a gated file would show it).
      const ndjson = [
        { key: 'header', value: { summary: 'copy the config', description: '' } },
        { key: 'copyFile', value: { path: 'leak.json', srcPath: 'config.json' } },
      ].map((l) => JSON.stringify(l)).join('\n');
      const pr = await fetch(`${h.url}/api/models/alice/llm/commit/main?create_pr=1`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bob.token}`, 'Content-Type': 'application/x-ndjson' },
        body: ndjson,
      });
      const prText = await pr.text();
      assert.equal(pr.status, 200, prText);
      const num = Number(/\/discussions\/(\d+)/.exec((JSON.parse(prText) as { pullRequestUrl: string }).pullRequestUrl)![1]);
      const asBob = await ok<{ isPullRequest: boolean; diff?: string }>(call(bob.token, 'GET', `/api/models/alice/llm/discussions/${num}?diff=1`));
      assert.equal(asBob.isPullRequest, true);
      assert.equal('diff' in asBob, false);
      assert.match((await ok<{ diff?: string }>(call(alice.token, 'GET', `/api/models/alice/llm/discussions/${num}?diff=1`))).diff ?? '', /"layers": 2/);
      await gated(call(bob.token, 'GET', `/alice/llm/resolve/refs%2Fpr%2F${num}/leak.json`), 403, NOT_LISTED);

      // @huggingface/hub: downloadFile raises HubApiError 403 with the Hub's message (it has no gated error of its own).
      await assert.rejects(download(bob, 'config.json'), (err: unknown) => {
        assert.ok(err instanceof hub.HubApiError, String(err));
        assert.equal(err.statusCode, 403);
        assert.match(err.message, inJs(NOT_LISTED));
        return true;
      });
      await assert.rejects(download(null, 'weights.bin'), (err: unknown) => err instanceof hub.HubApiError && err.statusCode === 401 && inJs(ANONYMOUS).test(err.message));

      // git: info/refs for upload-pack and upload-pack itself; git prints the reason.
      const c = clone(bob);
      const r = await c.run();
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /403|restricted/);
      assert.ok(!fs.existsSync(path.join(c.dir, 'config.json')));
      const refs = await fetch(`${h.url}/alice/llm.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic(bob) } });
      assert.equal(refs.status, 403);
      assert.equal(refs.headers.get('x-error-code'), 'GatedRepo');
      assert.match(await refs.text(), /not in the authorized list/);
      const up = await fetch(`${h.url}/alice/llm.git/git-upload-pack`, {
        method: 'POST',
        headers: { Authorization: basic(bob), 'Content-Type': 'application/x-git-upload-pack-request' },
        body: '0000',
      });
      assert.equal(up.status, 403);
      assert.equal(up.headers.get('x-error-code'), 'GatedRepo');
      const anonRefs = await fetch(`${h.url}/alice/llm.git/info/refs?service=git-upload-pack`);
      assert.equal(anonRefs.status, 401);
      assert.match(anonRefs.headers.get('www-authenticate') ?? '', /^Basic/);

      // LFS batch download: refused as a whole, in the LFS error shape.
      const batch = await lfsBatch(bob);
      assert.equal(batch.status, 403);
      assert.equal(batch.headers.get('x-error-code'), 'GatedRepo');
      assert.match(((await batch.json()) as { message: string }).message, NOT_LISTED);
      assert.equal((await lfsBatch(null)).status, 401);
    });

    it('owners, hub admins and the repository team always have access', async () => {
      for (const u of [alice, root]) {
        assert.equal(await (await call(u.token, 'GET', '/alice/llm/resolve/main/config.json')).text(), '{"layers": 2}');
        assert.equal((await call(u.readToken, 'GET', '/alice/llm/resolve/main/config.json')).status, 200);
        await ok(call(u.token, 'GET', '/api/models/alice/llm/auth-check'));
        assert.equal((await lfsBatch(u)).status, 200);
      }
      const c = clone(alice);
      const r = await c.run();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.readFileSync(path.join(c.dir, 'weights.bin')).equals(weights));
    });

    it('readers cannot list or handle access requests; a repository that is not gated has none', async () => {
      for (const p of ['pending', 'accepted', 'rejected']) {
        const res = await call(bob.token, 'GET', `/api/models/alice/llm/user-access-request/${p}`);
        assert.equal(res.status, 403);
        assert.equal(((await res.json()) as { error: string }).error, 'You have read access but not the required permissions for this operation');
        assert.equal((await call(null, 'GET', `/api/models/alice/llm/user-access-request/${p}`)).status, 401);
      }
      assert.equal((await handle(bob, 'bob', 'accepted')).status, 403);
      assert.equal((await call(bob.token, 'POST', '/api/models/alice/llm/user-access-request/grant', { user: 'bob' })).status, 403);
      // The owner's read token may not manage them either.
      assert.equal((await call(alice.readToken, 'GET', '/api/models/alice/llm/user-access-request/pending')).status, 403);
      const notGated = await call(alice.token, 'GET', '/api/models/alice/open/user-access-request/pending');
      assert.equal(notGated.status, 400);
      assert.equal(notGated.headers.get('x-error-code'), 'RepoNotGated');
      assert.equal((await call(alice.token, 'GET', '/api/models/alice/llm/user-access-request/everything')).status, 400);
      // A private repository's requests are as missing as the repository for strangers.
      assert.equal((await call(bob.token, 'GET', '/api/models/alice/nope/user-access-request/pending')).status, 404);
    });

    it('manual: a request waits; once accepted, resolve, the JS client, git clone and LFS all work', async () => {
      assert.deepEqual(await askAccess(bob), { status: 'pending' });
      assert.deepEqual(await askAccess(bob), { status: 'pending' });
      // The browser form: 303 back to the repository page.
      const form = await call(carol.token, 'POST', '/alice/llm/ask-access', undefined, { Accept: 'text/html' });
      assert.equal(form.status, 303);
      assert.equal(form.headers.get('location'), '/alice/llm');
      assert.equal((await call(null, 'POST', '/alice/llm/ask-access', undefined, { Accept: 'application/json' })).status, 401);
      await gated(call(bob.token, 'GET', '/alice/llm/resolve/main/config.json'), 403, PENDING);
      assert.equal((await lfsBatch(bob)).status, 403);
      const pending = await ok<{ user: Record<string, unknown>; status: string; timestamp: string; fields: unknown }[]>(call(alice.token, 'GET', '/api/models/alice/llm/user-access-request/pending'));
      assert.deepEqual(pending.map((p) => [p.user.user, p.user.fullname, p.status]), [
        ['bob', 'bob', 'pending'],
        ['carol', 'carol', 'pending'],
      ]);
      assert.match(pending[0]!.timestamp, /^\d{4}-\d\d-\d\dT.*Z$/);
      assert.match(String(pending[0]!.user._id), /^[0-9a-f]{24}$/);

      assert.deepEqual(await ok(handle(alice, 'bob', 'accepted')), {});
      assert.deepEqual(await listed('pending'), ['carol']);
      assert.deepEqual(await listed('accepted'), ['bob']);
      // The same state again: 404 as on the Hub.
      assert.equal((await handle(alice, 'bob', 'accepted')).status, 404);
      assert.equal((await handle(alice, 'nobody', 'accepted')).status, 404);
      assert.equal((await handle(alice, 'erin', 'accepted')).status, 404); // never asked
      assert.equal((await handle(alice, 'bob', 'maybe')).status, 400);

      assert.equal(await (await call(bob.token, 'GET', '/alice/llm/resolve/main/config.json')).text(), '{"layers": 2}');
      await ok(call(bob.token, 'GET', '/api/models/alice/llm/auth-check'));
      const blob = await download(bob, 'weights.bin');
      assert.ok(blob);
      assert.ok(Buffer.from(await blob.arrayBuffer()).equals(weights));
      const c = clone(bob);
      const r = await c.run();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.readFileSync(path.join(c.dir, 'weights.bin')).equals(weights), 'LFS content smudged in the clone');
      await git(['lfs', 'fsck'], { cwd: c.dir });
      const batch = await lfsBatch(bob);
      assert.equal(batch.status, 200);
      const objects = ((await batch.json()) as { objects: { actions?: { download?: unknown } }[] }).objects;
      assert.ok(objects[0]!.actions?.download);
    });

    it('a rejected user stays out, also after asking again; cancel takes access away', async () => {
      assert.deepEqual(await ok(handle(alice, 'carol', 'rejected', { rejectionReason: 'no affiliation given' })), {});
      assert.equal((await handle(alice, 'carol', 'rejected')).status, 404);
      assert.deepEqual(await listed('rejected'), ['carol']);
      await gated(call(carol.token, 'GET', '/alice/llm/resolve/main/config.json'), 403, REJECTED);
      assert.deepEqual(await askAccess(carol), { status: 'rejected' });
      await gated(call(carol.token, 'GET', '/alice/llm/resolve/main/config.json'), 403, REJECTED);
      const r = await clone(carol).run();
      assert.notEqual(r.code, 0);
      assert.equal((await lfsBatch(carol)).status, 403);

      // Back to pending (cancel_access_request): bob loses access.
      assert.deepEqual(await ok(handle(alice, 'bob', 'pending')), {});
      assert.equal((await handle(alice, 'bob', 'pending')).status, 404);
      await gated(call(bob.token, 'GET', '/alice/llm/resolve/main/config.json'), 403, PENDING);
      assert.equal((await lfsBatch(bob)).status, 403);
    });

    it('grant: an admin gives access directly (no email shared); granting twice is refused', async () => {
      assert.deepEqual(await ok(call(alice.token, 'POST', '/api/models/alice/llm/user-access-request/grant', { user: 'dave' })), {});
      const accepted = await ok<{ user: Record<string, unknown>; status: string }[]>(call(alice.token, 'GET', '/api/models/alice/llm/user-access-request/accepted'));
      const daves = accepted.find((a) => a.user.user === 'dave');
      assert.ok(daves);
      assert.equal(daves.user.email ?? null, null);
      assert.equal((await call(alice.token, 'POST', '/api/models/alice/llm/user-access-request/grant', { user: 'dave' })).status, 400);
      assert.equal((await call(alice.token, 'POST', '/api/models/alice/llm/user-access-request/grant', { user: 'nobody' })).status, 404);
      assert.equal((await call(dave.token, 'GET', '/alice/llm/resolve/main/config.json')).status, 200);
      // A rejected user may be granted access.
      await ok(call(alice.token, 'POST', '/api/models/alice/llm/user-access-request/grant', { user: 'carol' }));
      assert.equal((await call(carol.token, 'GET', '/alice/llm/resolve/main/config.json')).status, 200);
    });

    it('auto: a request is accepted at once', async () => {
      await gated(
        call(erin.token, 'GET', '/alice/auto/resolve/main/config.json'),
        403,
        /^Access to model alice\/auto is restricted and you are not in the authorized list\. Visit http:\/\/127\.0\.0\.1:\d+\/alice\/auto to ask for access\.$/,
      );
      assert.equal((await lfsBatch(erin, 'alice/auto')).status, 403);
      assert.deepEqual(await askAccess(erin, 'alice/auto'), { status: 'accepted' });
      assert.equal(await (await call(erin.token, 'GET', '/alice/auto/resolve/main/config.json')).text(), '{"layers": 2}');
      assert.equal((await lfsBatch(erin, 'alice/auto')).status, 200);
      const accepted = await ok<{ user: { user: string } }[]>(call(alice.token, 'GET', '/api/models/alice/auto/user-access-request/accepted'));
      assert.deepEqual(accepted.map((a) => a.user.user), ['erin']);
      // Asking on a repository that is not gated is refused.
      const open = await call(erin.token, 'POST', '/alice/open/ask-access', undefined, { Accept: 'application/json' });
      assert.equal(open.status, 400);
    });

    it('ungating opens the content to every reader', async () => {
      await ok(call(alice.token, 'PUT', '/api/models/alice/llm/settings', { gated: false }));
      assert.equal((await ok<{ gated: unknown }>(call(null, 'GET', '/api/models/alice/llm'))).gated, false);
      assert.equal((await call(erin.token, 'GET', '/alice/llm/resolve/main/config.json')).status, 200);
      assert.equal((await call(null, 'GET', '/alice/llm/resolve/main/config.json')).status, 200);
      assert.equal((await lfsBatch(null)).status, 200);
    });
  });
}
