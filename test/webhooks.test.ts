import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as hub from '@huggingface/hub';
import { isNonPublicAddress } from '../src/core/outbound.js';
import { git, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

type User = { name: string; token: string; readToken: string };
type Payload = {
  event: { action: string; scope: string };
  repo: { type: string; name: string; id: string; private: boolean; url: { web: string; api: string }; headSha?: string | null; owner: { id: string } };
  discussion?: { id: string; num: number; title: string; status: string; isPullRequest: boolean; author: { id: string }; url: { web: string; api: string }; changes?: { base: string } };
  comment?: { id: string; author: { id: string }; content: string; hidden: boolean; url: { web: string } };
  updatedRefs?: { ref: string; oldSha: string | null; newSha: string | null }[];
  webhook: { id: string; version: number };
};
type Received = { secret: string | undefined; contentType: string | undefined; payload: Payload };
type Webhook = { id: string; url: string; watched: { type: string; name: string }[]; domains: string[]; secret: string | null; disabled: boolean; job: null };
type Delivery = { id: string; event: { scope: string; action: string }; state: string; attempts: number; status: number | null; error: string | null };

/** A webhook receiver: records what it gets; can go down (connections refused) and come back on the same port. */
class Receiver {
  readonly got: Received[] = [];
  private server: http.Server | null = null;
  port = 0;
  /** The status it answers with. */
  status = 200;

  async up(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n <= 1 << 20) chunks.push(c);
      });
      req.on('end', () => {
        this.got.push({ secret: req.headers['x-webhook-secret'] as string | undefined, contentType: req.headers['content-type'], payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload });
        res.writeHead(this.status, { 'Content-Type': 'application/json' }).end(this.status === 200 ? '{"ok":true}' : '{"error":"internal detail"}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url() {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Waits for a payload that `match` accepts. */
  async waitFor(match: (p: Payload) => boolean, what: string, ms = 30_000): Promise<Received> {
    const end = Date.now() + ms;
    for (;;) {
      const r = this.got.find((g) => match(g.payload));
      if (r) return r;
      if (Date.now() > end) throw new Error(`no webhook payload for ${what}; got ${JSON.stringify(this.got.map((g) => [g.payload.event, g.payload.repo.name]))}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');

for (const backend of backends()) {
  describe(`webhooks (${backend})`, () => {
    let h: Hub;
    let alice: User; // owns alice/proj and the private alice/secret
    let bob: User; // a reader of alice/proj
    let carol: User; // watches alice too, may not read alice/secret
    const rx = new Receiver();
    const rxCarol = new Receiver();

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
    const apiCommit = (who: User, repo: string, summary: string, file: string, content: string) =>
      fetch(`${h.url}/api/models/${repo}/commit/main`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${who.token}`, 'Content-Type': 'application/x-ndjson' },
        body: ndjson([{ key: 'header', value: { summary } }, { key: 'file', value: { path: file, content: Buffer.from(content).toString('base64'), encoding: 'base64' } }]),
      });
    const headOf = async (repo: string) => (await ok<{ sha: string }>(call(alice, 'GET', `/api/models/${repo}/revision/main`))).sha;
    let hook: Webhook;

    before(async () => {
      await rx.up();
      await rxCarol.up();
      h = await startHub({ backend, env: { PACKHUB_WEBHOOK_ALLOW_PRIVATE: 'on', PACKHUB_WEBHOOK_BACKOFF_MS: '300', PACKHUB_WEBHOOK_ATTEMPTS: '12', PACKHUB_JOB_POLL_MS: '100' } });
      alice = await h.user('alice');
      bob = await h.user('bob');
      carol = await h.user('carol');
      await ok(call(alice, 'POST', '/api/repos/create', { name: 'proj', organization: null }));
      await ok(call(alice, 'POST', '/api/repos/create', { name: 'secret', organization: null, private: true }));
    });
    after(async () => {
      await h?.stop();
      await rx.down();
      await rxCarol.down();
    });

    it('manages a user\'s webhooks as the Hub does (bare list, {webhook}, POST update, enable/disable, delete)', async () => {
      // The Python client before 1.6 sends explicit nulls; "discussions" is accepted for "discussion".
      const created = await ok<{ webhook: Webhook }>(
        call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url: rx.url, domains: ['repo', 'discussions'], secret: 's3cret' }),
      );
      hook = created.webhook;
      assert.match(hook.id, /^[0-9a-f]{24}$/);
      assert.deepEqual({ ...hook, id: 'x' }, { id: 'x', url: rx.url, job: null, watched: [{ type: 'user', name: 'alice' }], domains: ['repo', 'discussion'], secret: 's3cret', disabled: false });
      assert.deepEqual(await ok(call(alice, 'GET', '/api/settings/webhooks')), [hook]);
      assert.deepEqual(await ok(call(alice, 'GET', `/api/settings/webhooks/${hook.id}`)), { webhook: hook });

      // Another user's webhook is missing to them; strangers must sign in; read tokens cannot write.
      assert.equal((await call(bob, 'GET', `/api/settings/webhooks/${hook.id}`)).status, 404);
      assert.deepEqual(await ok(call(bob, 'GET', '/api/settings/webhooks')), []);
      assert.equal((await call(null, 'GET', '/api/settings/webhooks')).status, 401);
      assert.equal((await call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url: rx.url }, alice.readToken)).status, 403);

      // Bad URLs: not http(s), credentials in it, not a URL; bad watched entries and domains.
      for (const url of ['ftp://example.com/x', 'http://u:p@example.com/x', 'not a url', 'file:///etc/passwd']) {
        const r = await call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url });
        assert.equal(r.status, 400, `${url}: ${r.status}`);
      }
      assert.equal((await call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'model', name: 'no-namespace' }], url: rx.url })).status, 400);
      assert.equal((await call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url: rx.url, domains: ['space'] })).status, 400);

      // Update: nulls and an empty watched list leave fields as they are.
      const upd = await ok<{ webhook: Webhook }>(call(alice, 'POST', `/api/settings/webhooks/${hook.id}`, { watched: [], url: null, domains: null, secret: null }));
      assert.deepEqual(upd.webhook, hook);
      const dis = await ok<{ webhook: Webhook }>(call(alice, 'POST', `/api/settings/webhooks/${hook.id}/disable`));
      assert.equal(dis.webhook.disabled, true);
      const en = await ok<{ webhook: Webhook }>(call(alice, 'POST', `/api/settings/webhooks/${hook.id}/enable`));
      assert.equal(en.webhook.disabled, false);

      // A throw-away webhook is deleted; a later GET fails.
      const tmp = await ok<{ webhook: Webhook }>(call(alice, 'POST', '/api/settings/webhooks', { watched: [{ type: 'model', name: 'alice/proj' }], url: rx.url }));
      assert.deepEqual(tmp.webhook.domains, ['repo', 'discussion'], 'omitted domains: all');
      assert.equal((await call(alice, 'DELETE', `/api/settings/webhooks/${tmp.webhook.id}`)).status, 200);
      assert.equal((await call(alice, 'GET', `/api/settings/webhooks/${tmp.webhook.id}`)).status, 404);

      // carol watches alice's namespace too (she may read only the public repositories).
      await ok(call(carol, 'POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url: rxCarol.url, domains: ['repo'] }));
    });

    it('a git push, an API commit, a pull request and a comment reach the receiver, signed', async () => {
      // An API commit (the JS client).
      const before = await headOf('alice/proj');
      const out = await hub.commit({
        hubUrl: h.url,
        accessToken: alice.token as `hf_${string}`,
        repo: 'alice/proj',
        title: 'first commit',
        operations: [{ operation: 'addOrUpdate', path: 'README.md', content: new Blob(['# proj\n']) }],
      });
      const apiSha = out!.commit.oid;
      const c1 = await rx.waitFor((p) => p.event.scope === 'repo.content' && !!p.updatedRefs?.some((r) => r.newSha === apiSha), 'the API commit');
      assert.equal(c1.secret, 's3cret');
      assert.match(c1.contentType ?? '', /^application\/json/);
      assert.deepEqual(c1.payload.event, { action: 'update', scope: 'repo.content' });
      assert.deepEqual(c1.payload.updatedRefs, [{ ref: 'refs/heads/main', oldSha: before, newSha: apiSha }]);
      assert.equal(c1.payload.repo.name, 'alice/proj');
      assert.equal(c1.payload.repo.type, 'model');
      assert.equal(c1.payload.repo.private, false);
      assert.equal(c1.payload.repo.headSha, apiSha);
      assert.deepEqual(c1.payload.repo.url, { web: `${h.url}/alice/proj`, api: `${h.url}/api/models/alice/proj` });
      assert.ok(c1.payload.repo.id && c1.payload.repo.owner.id);
      assert.deepEqual(c1.payload.webhook, { id: hook.id, version: 3 });

      // A git push.
      const dir = path.join(tmpDir('wh-push'), 'c');
      await git(['clone', '--quiet', `${h.authUrl(alice)}/alice/proj.git`, dir]);
      fs.writeFileSync(path.join(dir, 'pushed.txt'), 'by git\n');
      await git(['add', 'pushed.txt'], { cwd: dir });
      await git(['commit', '--quiet', '-m', 'pushed by git'], { cwd: dir });
      const pushed = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
      await git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: dir });
      const c2 = await rx.waitFor((p) => !!p.updatedRefs?.some((r) => r.newSha === pushed), 'the git push');
      assert.equal(c2.secret, 's3cret');
      assert.deepEqual(c2.payload.updatedRefs, [{ ref: 'refs/heads/main', oldSha: apiSha, newSha: pushed }]);
      assert.equal(c2.payload.repo.headSha, pushed);

      // A pull request opened by a reader.
      const pr = await ok<{ num: number }>(call(bob, 'POST', '/api/models/alice/proj/discussions', { title: 'Add a section', description: 'Please look.', pullRequest: true }));
      const c3 = await rx.waitFor((p) => p.event.scope === 'discussion' && p.discussion?.num === pr.num, 'the pull request');
      assert.equal(c3.secret, 's3cret');
      assert.deepEqual(c3.payload.event, { action: 'create', scope: 'discussion' });
      const d = c3.payload.discussion!;
      assert.equal(d.isPullRequest, true);
      assert.equal(d.title, 'Add a section');
      assert.equal(d.status, 'draft');
      assert.deepEqual(d.url, { web: `${h.url}/alice/proj/discussions/${pr.num}`, api: `${h.url}/api/models/alice/proj/discussions/${pr.num}` });
      assert.deepEqual(d.changes, { base: 'refs/heads/main' });
      assert.match(d.id, /^[0-9a-f]{24}$/);
      assert.equal(c3.payload.comment?.content, 'Please look.');
      assert.equal(c3.payload.repo.headSha, undefined, 'headSha only on repo scopes');
      // The new refs/pr/N is a content update too, as on the Hub.
      await rx.waitFor((p) => !!p.updatedRefs?.some((r) => r.ref === `refs/pr/${pr.num}` && r.oldSha === null), 'refs/pr/N');

      // A comment.
      const cm = await ok<{ newMessage: { id: string } }>(call(alice, 'POST', `/api/models/alice/proj/discussions/${pr.num}/comment`, { comment: 'Thanks!' }));
      const c4 = await rx.waitFor((p) => p.event.scope === 'discussion.comment' && p.comment?.id === cm.newMessage.id, 'the comment');
      assert.deepEqual(c4.payload.event, { action: 'create', scope: 'discussion.comment' });
      assert.equal(c4.payload.comment!.content, 'Thanks!');
      assert.equal(c4.payload.comment!.hidden, false);
      assert.equal(c4.payload.comment!.url.web, `${h.url}/alice/proj/discussions/${pr.num}#${cm.newMessage.id}`);
      assert.equal(c4.payload.discussion!.num, pr.num);
      assert.equal(c4.secret, 's3cret');

      // carol (domains: repo) got the public repository's content events, no discussion event.
      await rxCarol.waitFor((p) => !!p.updatedRefs?.some((r) => r.newSha === pushed), 'carol: the git push');
      assert.equal(rxCarol.got.some((g) => g.payload.event.scope.startsWith('discussion')), false);
      assert.equal(rxCarol.got[0]!.secret, undefined, 'no secret, no header');
    });

    it('events of a private repository reach only webhooks whose owner may read it', async () => {
      const r = await apiCommit(alice, 'alice/secret', 'private work', 'a.txt', 'hidden\n');
      assert.equal(r.status, 200, await r.text());
      const sha = await headOf('alice/secret');
      const got = await rx.waitFor((p) => p.repo.name === 'alice/secret' && !!p.updatedRefs?.some((u) => u.newSha === sha), 'alice: the private commit');
      assert.equal(got.payload.repo.private, true);
      // A later public event reaches carol; the private one never did.
      const pub = await apiCommit(alice, 'alice/proj', 'after the private one', 'b.txt', 'b\n');
      assert.equal(pub.status, 200);
      const pubSha = await headOf('alice/proj');
      await rxCarol.waitFor((p) => !!p.updatedRefs?.some((u) => u.newSha === pubSha), 'carol: the public commit');
      assert.equal(rxCarol.got.some((g) => g.payload.repo.name === 'alice/secret'), false);
      assert.equal(JSON.stringify(rxCarol.got).includes('secret'), false);
    });

    it('with the receiver down the write succeeds at once; deliveries are retried until it is back', async () => {
      await rx.down();
      const t0 = Date.now();
      const r = await apiCommit(alice, 'alice/proj', 'while the receiver is down', 'down.txt', 'down\n');
      const text = await r.text();
      assert.equal(r.status, 200, text);
      const sha = (JSON.parse(text) as { commitOid: string }).commitOid;
      assert.ok(Date.now() - t0 < 5000, 'the commit did not wait for the webhook');
      assert.equal(await headOf('alice/proj'), sha);
      const cm = await ok<{ newMessage: { id: string } }>(call(bob, 'POST', '/api/models/alice/proj/discussions/1/comment', { comment: 'while down' }));

      // The log shows failed attempts, waiting for the next one.
      const end = Date.now() + 20_000;
      let log: Delivery[] = [];
      for (;;) {
        log = await ok<Delivery[]>(call(alice, 'GET', `/api/settings/webhooks/${hook.id}/deliveries`));
        const mine = log.filter((d) => d.state === 'pending' && d.attempts >= 2);
        if (mine.length >= 2) break;
        assert.ok(Date.now() < end, `no retried delivery in the log: ${JSON.stringify(log.slice(0, 4))}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      const waiting = log.find((d) => d.state === 'pending')!;
      assert.match(waiting.error ?? '', /could not POST to the webhook: ECONNREFUSED/);
      assert.equal(waiting.status, null);
      assert.equal(rx.got.some((g) => g.payload.updatedRefs?.some((u) => u.newSha === sha)), false);
      assert.equal((await call(bob, 'GET', `/api/settings/webhooks/${hook.id}/deliveries`)).status, 404, "another user's log is missing");

      // The receiver comes back on the same port: the retried deliveries arrive.
      await rx.up();
      const c = await rx.waitFor((p) => !!p.updatedRefs?.some((u) => u.newSha === sha), 'the commit made while down');
      assert.equal(c.secret, 's3cret');
      await rx.waitFor((p) => p.comment?.id === cm.newMessage.id, 'the comment made while down');
      const later = Date.now() + 10_000;
      for (;;) {
        log = await ok<Delivery[]>(call(alice, 'GET', `/api/settings/webhooks/${hook.id}/deliveries`));
        if (log.every((d) => d.state === 'delivered')) break;
        assert.ok(Date.now() < later, `deliveries not all delivered: ${JSON.stringify(log.filter((d) => d.state !== 'delivered'))}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      const retried = log.filter((d) => d.attempts > 1);
      assert.ok(retried.length >= 2, 'the deliveries made while down took several attempts');
      assert.ok(retried.every((d) => d.status === 200 && d.error === null));
    });

    it('a receiver answering 4xx fails the delivery at once; 5xx is retried; the log shows status, attempts and error', async () => {
      const logOf = () => ok<Delivery[]>(call(alice, 'GET', `/api/settings/webhooks/${hook.id}/deliveries`));
      /** Commits, then waits for the delivery of that commit to show in the log (it is queued just after the write). */
      const commitNow = async (file: string): Promise<string> => {
        const known = new Set((await logOf()).map((d) => d.id));
        const r = await apiCommit(alice, 'alice/proj', `answer test ${file}`, file, `${file}\n`);
        assert.equal(r.status, 200);
        const end = Date.now() + 10_000;
        for (;;) {
          const fresh = (await logOf()).find((d) => !known.has(d.id));
          if (fresh) return fresh.id;
          assert.ok(Date.now() < end, 'no delivery for the commit');
          await new Promise((res) => setTimeout(res, 100));
        }
      };
      rx.status = 400;
      const id4 = await commitNow('four.txt');
      const end = Date.now() + 15_000;
      let top: Delivery;
      for (;;) {
        top = (await logOf()).find((d) => d.id === id4)!;
        if (top.state !== 'pending') break;
        assert.ok(Date.now() < end, 'the 400 delivery did not end');
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.deepEqual({ state: top.state, attempts: top.attempts, status: top.status, error: top.error }, { state: 'failed', attempts: 1, status: 400, error: 'HTTP 400' });

      rx.status = 503;
      const id5 = await commitNow('five.txt');
      const retry = Date.now() + 15_000;
      for (;;) {
        top = (await logOf()).find((d) => d.id === id5)!;
        if (top.attempts >= 2) break;
        assert.ok(Date.now() < retry, 'the 503 delivery was not retried');
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(top.state, 'pending');
      assert.equal(top.status, 503);
      assert.equal(top.error, 'HTTP 503', 'the answer body is not shown');
      rx.status = 200;
      const done = Date.now() + 15_000;
      for (;;) {
        const d = (await logOf()).find((x) => x.id === top.id)!;
        if (d.state === 'delivered') break;
        assert.ok(Date.now() < done, 'the 503 delivery was not delivered once the receiver answered 200');
        await new Promise((res) => setTimeout(res, 200));
      }
    });

    it('a disabled webhook gets nothing; a deleted one stops at once', async () => {
      await ok(call(alice, 'POST', `/api/settings/webhooks/${hook.id}/disable`));
      const before = rx.got.length;
      const r = await apiCommit(alice, 'alice/proj', 'while disabled', 'off.txt', 'off\n');
      assert.equal(r.status, 200);
      const sha = await headOf('alice/proj');
      await rxCarol.waitFor((p) => !!p.updatedRefs?.some((u) => u.newSha === sha), 'carol: the commit while alice\'s hook is off');
      await new Promise((res) => setTimeout(res, 1000));
      assert.equal(rx.got.length, before);
      assert.equal((await call(alice, 'DELETE', `/api/settings/webhooks/${hook.id}`)).status, 200);
      assert.equal((await call(alice, 'GET', `/api/settings/webhooks/${hook.id}/deliveries`)).status, 404);
    });
  });
}

// The check depends on the addresses, not on storage: one backend is enough.
describe('webhooks may not point into the hub\'s own network unless the operator allows it', () => {
  let h: Hub;
  let alice: User;
  const rx = new Receiver();
  const call = (method: string, p: string, body?: unknown) =>
    fetch(`${h.url}${p}`, {
      method,
      headers: { Authorization: `Bearer ${alice.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    await rx.up();
    h = await startHub({ backend: backends()[0]!, env: { PACKHUB_JOB_POLL_MS: '100' } });
    alice = await h.user('alice');
    assert.equal((await call('POST', '/api/repos/create', { name: 'proj', organization: null })).status, 200);
  });
  after(async () => {
    await h?.stop();
    await rx.down();
  });

  it('refuses loopback, private, link-local and mapped addresses when the webhook is made', async () => {
    for (const url of [rx.url, 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://192.168.0.1/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://localhost:9/', 'http://0.0.0.0/']) {
      const res = await call('POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url, domains: ['repo'] });
      const text = await res.text();
      assert.equal(res.status, 400, `${url}: ${res.status} ${text}`);
      assert.match(text, /public address/, url);
    }
    assert.deepEqual(await (await call('GET', '/api/settings/webhooks')).json(), []);
  });

  it('a name that resolves to a loopback address is refused when delivering, once, and the receiver gets nothing', async () => {
    const name = os.hostname();
    const addrs = await dns.lookup(name, { all: true });
    assert.ok(addrs.every((a) => isNonPublicAddress(a.address)), `this test needs ${name} to resolve to loopback or private addresses, it resolves to ${JSON.stringify(addrs)}`);
    const made = await call('POST', '/api/settings/webhooks', { watched: [{ type: 'user', name: 'alice' }], url: `http://${name}:${rx.port}/hook`, domains: ['repo'] });
    assert.equal(made.status, 200, await made.clone().text());
    const { webhook } = (await made.json()) as { webhook: Webhook };
    const commit = await fetch(`${h.url}/api/models/alice/proj/commit/main`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
      body: ndjson([{ key: 'header', value: { summary: 'to a private address' } }, { key: 'file', value: { path: 'x.txt', content: Buffer.from('x').toString('base64'), encoding: 'base64' } }]),
    });
    assert.equal(commit.status, 200, 'the write succeeds whatever happens to its webhooks');
    const end = Date.now() + 20_000;
    let d: Delivery | undefined;
    for (;;) {
      d = ((await (await call('GET', `/api/settings/webhooks/${webhook.id}/deliveries`)).json()) as Delivery[])[0];
      if (d?.state === 'failed') break;
      assert.ok(Date.now() < end, `the delivery did not fail: ${JSON.stringify(d)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.match(d.error ?? '', /not a public address/);
    assert.equal(d.attempts, 1, 'a refused address is not retried');
    assert.equal(rx.got.length, 0);
  });
});
