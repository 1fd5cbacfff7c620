import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { git, tmpDir } from './helpers/git.js';
import { serverLogOnFailure, startHub, type Hub } from './helpers/server.js';

// The operator's pages in headless Chromium: the overview, settings (never the upstream token), the
// live job monitor following a mirror download from a second packhub behind a throttling proxy, a
// mirror's files with per-file and per-folder downloads, a job's page with cancel and retry; and
// that none of it exists for anyone but an administrator (pages and every admin API route).

const SHOTS = process.env.PACKHUB_UI_SHOTS ?? '/tmp/ui-shots';
type User = { name: string; token: string; readToken: string };
const UPSTREAM_TOKEN_NOTE = 'the upstream token';

async function api(hub: Hub, token: string | null, method: string, p: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${hub.url}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

/** A repository pushed with real git and git-lfs (`*.bin` in LFS). */
async function pushRepo(hub: Hub, user: User, id: string, files: Record<string, Buffer>): Promise<void> {
  await hub.repo(id);
  const dir = path.join(tmpDir('dash-src'), 'w');
  await git(['init', '--quiet', '-b', 'main', dir]);
  await git(['lfs', 'install', '--local'], { cwd: dir });
  await git(['lfs', 'track', '*.bin'], { cwd: dir });
  for (const [p, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), data);
  }
  await git(['add', '-A'], { cwd: dir });
  await git(['commit', '--quiet', '-m', 'add files'], { cwd: dir });
  await git(['push', '--quiet', `${hub.authUrl(user)}/${id}.git`, 'main'], { cwd: dir });
}

describe('operator dashboard, job monitor and mirror pages in headless Chromium', () => {
  let upstream: Hub;
  let proxy: FaultProxy;
  let hub: Hub;
  let upAdmin: User;
  let root: User;
  let alice: User;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const big = crypto.randomBytes(30 << 20);
  const bigPath = /\/acme\/big\/resolve\/[0-9a-f]{40}\/weights\/big\.bin/;
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const signIn = async (p: Page, name: string, password: string) => {
    await p.goto(`${hub.url}/login`);
    await p.fill('input[name=name]', name);
    await p.fill('input[name=password]', password);
    await p.click('button[type=submit]');
    await p.waitForSelector('nav >> text=Sign out', { state: 'attached' });
  };

  /** One commit through the Hub API, as alice. */
  async function commitFile(repo: string, file: string, content: Buffer) {
    const r = await fetch(`${hub.url}/api/models/${repo}/commit/main`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
      body: [{ key: 'header', value: { summary: `add ${file}` } }, { key: 'file', value: { path: file, content: content.toString('base64'), encoding: 'base64' } }].map((l) => JSON.stringify(l)).join('\n'),
    });
    assert.equal(r.status, 200, await r.text());
  }

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    upstream = await startHub({ backend: 'fs' });
    upAdmin = await upstream.user('upadmin', { admin: true });
    await pushRepo(upstream, upAdmin, 'acme/big', { 'config.json': Buffer.from('{"model_type":"bert"}\n'), 'README.md': Buffer.from('# big\n'), 'weights/big.bin': big });
    await pushRepo(upstream, upAdmin, 'acme/parts', {
      'config.json': Buffer.from('{}\n'),
      'weights/a.bin': crypto.randomBytes(1 << 20),
      'weights/b.bin': crypto.randomBytes(1 << 20),
      'extra/c.bin': crypto.randomBytes(512 << 10),
    });
    proxy = await startFaultProxy(upstream.url);
    // 30 MiB at 2 MiB/s: about 15 seconds of download to watch.
    proxy.faults.push({ match: bigPath, kind: 'throttle', bytesPerSecond: 2 << 20, times: Infinity });
    hub = await startHub({
      backend: 'fs',
      env: {
        PACKHUB_UPSTREAM_URL: proxy.url,
        PACKHUB_UPSTREAM_TOKEN: upAdmin.token,
        PACKHUB_UPSTREAM_DENY: 'secret/*',
        PACKHUB_QUOTA_PRIVATE_BYTES: '5GiB',
        PACKHUB_REGISTRATION: 'open',
        PACKHUB_JOB_POLL_MS: '200',
        PACKHUB_LFS_THRESHOLD: '16384',
      },
    });
    root = await hub.user('root', { admin: true });
    await hub.cli(['user', 'passwd', 'root', '--password', 'root has a passphrase']);
    alice = await hub.user('alice');
    await hub.cli(['user', 'passwd', 'alice', '--password', 'alice has a passphrase']);
    await hub.repo('alice/own-model');
    await hub.repo('alice/corpus', { type: 'dataset' });
    await hub.repo('alice/demo', { type: 'space' });
    await commitFile('alice/own-model', 'w.safetensors', crypto.randomBytes(64 << 10));

    browser = await chromium.launch({
      executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.addInitScript(() => {
      const w = globalThis as unknown as { __violations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
      w.__violations = [];
      w.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page = await context.newPage();
    await signIn(page, 'root', 'root has a passphrase');
  });
  afterEach(async (t) => {
    serverLogOnFailure(t, hub, upstream);
    for (const p of context.pages()) assert.deepEqual(await p.evaluate(() => (globalThis as unknown as { __violations?: string[] }).__violations ?? []), [], 'no Content-Security-Policy violations');
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
    await proxy?.close();
    await upstream?.stop();
  });

  it('settings show the storage, registration, quotas and upstream; the upstream token is never in the page or the API', async () => {
    await page.click('nav a:has-text("Admin")');
    await page.waitForSelector('h1:has-text("Overview")');
    await page.click('nav.admin a:has-text("Settings")');
    await page.waitForSelector('[data-upstream-token]');
    assert.equal(new URL(page.url()).pathname, '/admin/settings');
    assert.equal((await page.textContent('[data-upstream-token]'))?.trim(), 'set');
    assert.equal((await page.textContent('[data-upstream-url]'))?.trim(), proxy.url);
    assert.match((await page.textContent('[data-setting=storage]')) ?? '', /filesystem/);
    assert.match((await page.textContent('[data-setting=registration]')) ?? '', /open/);
    assert.equal((await page.textContent('[data-setting=quota-private]'))?.trim(), '5.00 GiB');
    assert.equal((await page.textContent('[data-setting=quota-public]'))?.trim(), 'unlimited');
    await shot('admin-settings');
    const html = await page.content();
    assert.ok(!html.includes(upAdmin.token), `${UPSTREAM_TOKEN_NOTE} is not in the settings page`);
    for (const p of ['/api/admin/settings', '/api/admin/overview']) {
      const r = await api(hub, root.token, 'GET', p);
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(upAdmin.token), `${UPSTREAM_TOKEN_NOTE} is not in ${p}`);
      assert.equal(r.json.upstream.tokenSet, true);
      assert.equal(r.json.upstream.url, proxy.url);
      assert.deepEqual(r.json.upstream.deny, ['secret/*']);
    }
    const overview = await page.evaluate(async () => (await fetch('/api/admin/overview', { headers: { 'X-Packhub-UI': '1' } })).text());
    assert.ok(!overview.includes(upAdmin.token));
  });

  it('the job monitor shows a mirror download advance live (registered through the import form) until it completes', async () => {
    await page.click('nav.admin a:has-text("Mirrors")');
    await page.fill('form.import input[name=repo]', 'acme/big');
    await page.check('form.import input[name=download][value=now]');
    await shot('admin-mirrors-form');
    await page.click('form.import button[type=submit]');
    await page.waitForURL(`${hub.url}/admin/mirrors/models/acme/big`);
    // The job monitor, opened once and never reloaded: a marker on the window stays while the page lives.
    await page.click('nav.admin a:has-text("Jobs")');
    await page.waitForSelector('h2:has-text("Running now") .dot.on');
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    let downloadId = '';
    const until = Date.now() + 60_000;
    while (!downloadId) {
      const r = await api(hub, root.token, 'GET', '/api/admin/jobs?kind=mirror.download');
      downloadId = r.json.jobs[0]?.id ?? '';
      if (!downloadId) {
        assert.ok(Date.now() < until, 'the sync queues a download job');
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    const live = page.locator(`section.live [data-job="${downloadId}"]`);
    await live.locator('progress').waitFor({ timeout: 30_000 });
    const values: number[] = [];
    let sawRate = false;
    let sawEta = false;
    while (Date.now() < until + 180_000) {
      if ((await live.count()) === 0) break;
      const v = await live
        .locator('progress')
        .evaluate((el) => (el as unknown as { value: number; hasAttribute(n: string): boolean }).value)
        .catch(() => null);
      if (v !== null && (values.length === 0 || v !== values[values.length - 1])) values.push(v);
      if (values.length === 3) await shot('admin-jobs-live');
      const text = (await live.textContent().catch(() => '')) ?? '';
      if (/\/s/.test(text)) sawRate = true;
      if (/left/.test(text)) sawEta = true;
      await new Promise((res) => setTimeout(res, 150));
    }
    const increases = values.filter((v, i) => i > 0 && v > values[i - 1]!).length;
    assert.ok(increases >= 2, `the progress bar moved forward at least twice without a reload: ${values.join(', ')}`);
    assert.ok(values.every((v, i) => i === 0 || v >= values[i - 1]!), `never backwards: ${values.join(', ')}`);
    assert.ok(sawRate, 'bytes per second shown');
    assert.ok(sawEta, 'time left shown');
    // Done: out of the live list, completed in the history; still the same document.
    await page.locator(`.history [data-job="${downloadId}"][data-state=completed]`).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
    assert.ok(proxy.bytesFor(bigPath) >= big.length, 'the bytes came through the throttled upstream');
    await shot('admin-jobs');

    // The history's filters: by state and kind (in the URL), and by repository.
    await page.selectOption('form.filters select[name=state]', 'completed');
    await page.selectOption('form.filters select[name=kind]', 'mirror.download');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL((u) => u.searchParams.get('state') === 'completed' && u.searchParams.get('kind') === 'mirror.download');
    // The filtered list replaces the unfiltered one once it has loaded: wait for one row (a broken filter keeps two).
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.history [data-job]').length === 1, undefined, { timeout: 10_000 }).catch(() => undefined);
    await page.locator(`.history [data-job="${downloadId}"]`).waitFor();
    assert.equal(await page.locator('.history [data-job]').count(), 1);
    await page.fill('form.filters input[name=repo]', 'model:acme/parts');
    await page.click('form.filters button[type=submit]');
    await page.locator('.history >> text=No job matches.').waitFor();

    // The job's page: its log and state; the file is here.
    await page.goto(`${hub.url}/admin/jobs/${downloadId}`);
    await page.waitForSelector('[data-job-state]');
    assert.equal((await page.textContent('[data-job-state]'))?.trim(), 'completed');
    assert.match((await page.textContent('pre.log')) ?? '', /1 large files wanted/);
    await shot('admin-job');
    const file = await fetch(`${hub.url}/acme/big/resolve/main/weights/big.bin`);
    assert.equal(Buffer.compare(Buffer.from(await file.arrayBuffer()), big), 0);
  });

  it('a mirror registered with metadata only: files remote; a file’s and a folder’s download button make them local', async () => {
    await page.goto(`${hub.url}/admin/mirrors`);
    await page.fill('form.import input[name=repo]', 'acme/parts');
    await page.check('form.import input[name=download][value=later]');
    await page.click('form.import button[type=submit]');
    await page.waitForURL(`${hub.url}/admin/mirrors/models/acme/parts`);
    // The sync runs as a job: reload until the files are listed.
    const row = (p: string) => page.locator(`tr[data-file="${p}"]`);
    for (let i = 0; (await row('weights/a.bin').count()) === 0; i++) {
      assert.ok(i < 100, 'the sync lists the files');
      await new Promise((res) => setTimeout(res, 200));
      await page.reload();
      await page.waitForSelector('h1');
    }
    for (const p of ['weights/a.bin', 'weights/b.bin', 'extra/c.bin']) assert.equal(await row(p).getAttribute('data-state'), 'remote', p);
    assert.equal(await row('config.json').getAttribute('data-state'), 'local', 'small files come with the commits');
    await shot('admin-mirror-remote');
    await row('weights/a.bin').locator('button:has-text("Download")').click();
    await page.locator('tr[data-file="weights/a.bin"][data-state=local]').waitFor({ timeout: 30_000 });
    assert.equal(await row('weights/b.bin').getAttribute('data-state'), 'remote', 'only the file asked for');
    assert.equal(await row('extra/c.bin').getAttribute('data-state'), 'remote');
    await page.locator('li[data-folder="extra/"] button:has-text("Download folder")').click();
    await page.locator('tr[data-file="extra/c.bin"][data-state=local]').waitFor({ timeout: 30_000 });
    assert.equal(await row('weights/b.bin').getAttribute('data-state'), 'remote', 'only the folder asked for');
    await shot('admin-mirror');
    const states = await api(hub, root.token, 'GET', '/api/admin/mirrors/models/acme/parts');
    assert.deepEqual(
      Object.fromEntries((states.json.files as { path: string; state: string }[]).map((f) => [f.path, f.state])),
      { '.gitattributes': 'local', 'config.json': 'local', 'extra/c.bin': 'local', 'weights/a.bin': 'local', 'weights/b.bin': 'remote' },
    );
  });

  it('the overview shows counts, storage by namespace, mirrors by state, jobs and recent activity', async () => {
    // A commit makes the oldest repository the most recently updated one. SQLite keeps the packs'
    // times to the second: the commit comes a second after the mirror's last pack, so the order is defined.
    await new Promise((r) => setTimeout(r, 1100));
    await commitFile('alice/own-model', 'notes.txt', Buffer.from('later\n'));
    const api1 = await api(hub, root.token, 'GET', '/api/admin/overview');
    assert.deepEqual(api1.json.repos, { models: 3, datasets: 1, spaces: 1 });
    assert.equal(api1.json.mirrors.byState.synced, 2);
    assert.ok(api1.json.storage.lfsBytes >= big.length, 'the big file counts as LFS storage');
    assert.ok(api1.json.storage.packBytes > 0);
    await page.goto(`${hub.url}/admin`);
    await page.waitForSelector('[data-count=models]');
    assert.equal(await page.textContent('[data-count=models]'), '3');
    assert.equal(await page.textContent('[data-count=datasets]'), '1');
    assert.equal(await page.textContent('[data-count=spaces]'), '1');
    assert.equal(await page.textContent('[data-mirrors=synced]'), '2');
    assert.equal(Number(await page.getAttribute('[data-stat=storage] [data-bytes]', 'data-bytes')), api1.json.storage.totalBytes);
    assert.match((await page.textContent('tr[data-namespace=acme]')) ?? '', /3[0-9.]+ MiB/);
    assert.ok(await page.locator('tr[data-namespace=alice]').count());
    assert.match((await page.textContent('[data-upstream-token]')) ?? '', /set/);
    assert.equal(api1.json.recent.repos[0].id, 'alice/own-model', 'the repository committed to last comes first');
    assert.equal((await page.textContent('.updated li:first-child a'))?.trim(), 'alice/own-model');
    assert.ok(await page.locator('.updated a:has-text("acme/parts")').count(), 'recently updated repositories');
    assert.ok(await page.locator('section:has(h2:has-text("Recent jobs")) [data-job]').count());
    await shot('admin-overview');
  });

  it('a job’s page: cancel a running job, retry a failed one', async () => {
    const long = await api(hub, root.token, 'POST', '/api/admin/jobs', { kind: 'noop', params: { ms: 60_000 } });
    assert.equal(long.status, 201, long.text);
    await page.goto(`${hub.url}/admin/jobs/${long.json.id}`);
    await page.locator('[data-job-state]:has-text("running")').waitFor({ timeout: 20_000 });
    await page.click('button:has-text("Cancel")');
    await page.locator('[data-job-state]:has-text("cancelled")').waitFor({ timeout: 20_000 });
    const failing = await api(hub, root.token, 'POST', '/api/admin/jobs', { kind: 'noop', params: { ms: 100, fail: 'the disk is on fire' } });
    await page.goto(`${hub.url}/admin/jobs/${failing.json.id}`);
    await page.locator('[data-job-state]:has-text("failed")').waitFor({ timeout: 20_000 });
    assert.equal((await page.textContent('[data-job-error]'))?.trim(), 'the disk is on fire');
    await shot('admin-job-failed');
    await page.click('button:has-text("Retry")');
    await page.waitForURL((u) => u.pathname.startsWith('/admin/jobs/') && !u.pathname.endsWith(failing.json.id));
    const retried = new URL(page.url()).pathname.split('/').pop()!;
    const r = await api(hub, root.token, 'GET', `/api/admin/jobs/${retried}`);
    assert.equal(r.json.job.retryOf, failing.json.id);
  });

  it('at 390 px and in dark mode the admin pages fit the screen', async () => {
    const small = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const p = await small.newPage();
    try {
      await signIn(p, 'root', 'root has a passphrase');
      for (const [url, name, ready] of [
        ['/admin', 'overview', '[data-count=models]'],
        ['/admin/jobs', 'jobs', '.history [data-job]'],
        ['/admin/mirrors', 'mirrors', 'tr[data-mirror]'],
        ['/admin/mirrors/models/acme/parts', 'mirror', 'tr[data-file]'],
        ['/admin/settings', 'settings', '[data-upstream-token]'],
      ] as const) {
        await p.goto(`${hub.url}${url}`);
        await p.waitForSelector(ready);
        const width = await p.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${url}: nothing wider than the screen (${width}px)`);
        await shot(`admin-${name}-390-dark`, p);
      }
    } finally {
      await small.close();
    }
  });

  it('non-admins: no admin link, the admin pages are not found, every admin API route answers 404', async () => {
    const other = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const p = await other.newPage();
    try {
      await signIn(p, 'alice', 'alice has a passphrase');
      assert.equal(await p.locator('header a[href^="/admin"]').count(), 0, 'no admin link');
      for (const url of ['/admin', '/admin/jobs', '/admin/mirrors', '/admin/mirrors/models/acme/parts', '/admin/settings', '/admin/users']) {
        await p.goto(`${hub.url}${url}`);
        await p.waitForSelector('h2:has-text("Nothing here")');
        assert.equal(await p.locator('nav.admin').count(), 0, url);
      }
      await shot('admin-not-found', p);
      const anon = await browser.newPage();
      await anon.goto(`${hub.url}/admin/jobs`);
      await anon.waitForSelector('h2:has-text("Nothing here")');
      assert.equal(await anon.locator('header a[href^="/admin"]').count(), 0);
      await anon.close();

      const cookie = (await other.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const jobs = await api(hub, root.token, 'GET', '/api/admin/jobs?limit=1');
      const job = jobs.json.jobs[0].id as string;
      const noopJobs = async () => (await api(hub, root.token, 'GET', '/api/admin/jobs?kind=noop&limit=500')).json.jobs.length as number;
      const noopBefore = await noopJobs();
      const routes: [string, string, unknown?][] = [
        ['GET', '/api/admin/overview'],
        ['GET', '/api/admin/settings'],
        ['GET', '/api/admin/jobs'],
        ['POST', '/api/admin/jobs', { kind: 'noop', params: { ms: 1 } }],
        ['GET', '/api/admin/jobs/events'],
        ['GET', `/api/admin/jobs/${job}`],
        ['GET', `/api/admin/jobs/${job}/events`],
        ['POST', `/api/admin/jobs/${job}/cancel`],
        ['POST', `/api/admin/jobs/${job}/retry`],
        ['GET', '/api/admin/mirrors'],
        ['POST', '/api/admin/mirrors', { repo: 'acme/other' }],
        ['GET', '/api/admin/mirrors/models/acme/parts'],
        ['POST', '/api/admin/mirrors/models/acme/parts/sync', {}],
        ['POST', '/api/admin/mirrors/models/acme/parts/download', { include: ['weights/b.bin'] }],
        ['POST', '/api/admin/mirrors/models/acme/parts/detach'],
        ['GET', '/ui-api/admin/users'],
        ['PATCH', '/ui-api/admin/users/alice', { isAdmin: true }],
        ['DELETE', '/ui-api/admin/users/root'],
      ];
      const callers: [string, Record<string, string>][] = [
        ['anonymous', {}],
        ["a user's token", { Authorization: `Bearer ${alice.token}` }],
        ["a user's session", { Cookie: cookie, 'X-Packhub-UI': '1' }],
      ];
      for (const [who, headers] of callers) {
        for (const [method, route, body] of routes) {
          const ctl = new AbortController();
          const r = await fetch(`${hub.url}${route}`, { method, headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined, signal: ctl.signal });
          assert.equal(r.status, 404, `${who}: ${method} ${route}`);
          ctl.abort();
        }
      }
      // The same routes answer an administrator (nothing was changed by the refused calls).
      for (const [method, route] of routes.filter(([m, r]) => m === 'GET' && !r.endsWith('/events'))) {
        const r = await fetch(`${hub.url}${route}`, { headers: { Authorization: `Bearer ${root.token}` } });
        assert.equal(r.status, 200, `admin: ${method} ${route}`);
      }
      assert.equal((await api(hub, root.token, 'GET', '/api/admin/mirrors')).json.length, 2, 'no mirror registered or detached by the refused calls');
      const after = await api(hub, root.token, 'GET', '/api/admin/mirrors/models/acme/parts');
      assert.equal(after.json.files.find((f: { path: string }) => f.path === 'weights/b.bin').state, 'remote', 'no download queued by the refused calls');
      assert.equal(await noopJobs(), noopBefore, 'no job queued or retried by the refused calls');
    } finally {
      await other.close();
    }
  });
});
