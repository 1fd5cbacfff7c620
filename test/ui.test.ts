import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { git, tmpDir } from './helpers/git.js';
import { ROOT, startHub, type Hub } from './helpers/server.js';


const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

describe('web UI in headless Chromium', () => {
  let hub: Hub;
  let browser: Browser;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    hub = await startHub({ backend: 'fs', env: { PACKHUB_REGISTRATION: 'invite', PACKHUB_LFS_THRESHOLD: '65536' } });
    await hub.cli(['user', 'create', 'alice', '--password', 'correct horse battery']);
    browser = await chromium.launch({
      executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // Every page must work under the UI's Content-Security-Policy: violations are collected and checked after each test.
    await page.addInitScript(() => {
      const w = globalThis as unknown as { __violations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
      w.__violations = [];
      w.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
  });
  afterEach(async () => {
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { __violations?: string[] }).__violations ?? []), [], 'no Content-Security-Policy violations');
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it('sign in, create a repo, upload a README, browse it, read it, see the commit', async () => {
    await page.goto(`${hub.url}/login`);
    await page.fill('input[name=name]', 'alice');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Sign out');
    await shot('home');

    await page.goto(`${hub.url}/new`);
    await page.fill('input[name=repo]', 'demo');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/alice\/demo$/);
    // Uploads live on the Files tab, at the revision shown.
    await page.click('nav.tabs a:has-text("Files")');
    await page.waitForURL(/\/alice\/demo\/tree\/main$/);
    await page.waitForSelector('text=.gitattributes');

    await page.setInputFiles('input[type=file]', [
      { name: 'README.md', mimeType: 'text/markdown', buffer: Buffer.from('---\nlicense: mit\n---\n# Demo model\n\nUploaded from the **browser**.\n\n<img src=x onerror="window.pwned=1">\n') },
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"layers": 2}\n') },
    ]);
    await page.click('form.upload button[type=submit]');
    await page.waitForSelector('table.files tr[data-path="README.md"]');
    assert.equal(await page.getAttribute('progress', 'value'), '1');
    await page.click('nav.tabs a:has-text("Model card")');
    await page.waitForSelector('.readme h1');
    assert.equal(await page.textContent('.readme h1'), 'Demo model');
    assert.match((await page.textContent('.readme')) ?? '', /Uploaded from the browser/);
    assert.match((await page.textContent('.chip[data-kind=license]')) ?? '', /mit/, 'front matter as chips');
    assert.doesNotMatch((await page.textContent('.readme')) ?? '', /license: mit/, 'and not as text');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined, 'raw HTML in a README is not run');
    assert.match((await page.textContent('.readme')) ?? '', /<img src=x/);
    await shot('repo');
    await page.click('nav.tabs a:has-text("History")');
    await page.waitForURL(/\/alice\/demo\/commits\/main$/);
    await page.waitForSelector('.commits');
    assert.match((await page.textContent('.commits')) ?? '', /Upload README\.md, config\.json/);
    assert.match((await page.textContent('.commits')) ?? '', /initial commit/);

    // The commit, with what it changed.
    await page.click('.commits li:has-text("Upload README.md") a');
    await page.waitForSelector('.commit pre.diff');
    const diff = (await page.textContent('.commit')) ?? '';
    assert.match(diff, /added\s*config\.json/);
    assert.match(diff, /\+\{"layers": 2\}/);
    assert.match(diff, /\+# Demo model/);
    await shot('commit');

    await page.click('nav.tabs a:has-text("Files")');
    await page.click('table.files a:has-text("config.json")');
    await page.waitForURL(/\/alice\/demo\/blob\/main\/config\.json$/);
    await page.waitForSelector('pre.file');
    assert.equal((await page.textContent('pre.file'))?.trim(), '{"layers": 2}');
    assert.equal(await page.textContent('pre.file .hljs-attr'), '"layers"', 'highlighted as JSON');
    await shot('file');

    // The home page finds it.
    await page.goto(`${hub.url}/`);
    await page.fill('input[aria-label=search]', 'demo');
    await page.click('form button');
    await page.waitForURL(/\/\?search=demo$/);
    await page.waitForSelector('text=alice/demo');
    await shot('search');

    // Old links (/#/...) land on the page's path today.
    await page.goto(`${hub.url}/#/models/alice/demo/blob/config.json`);
    await page.waitForURL(/\/alice\/demo\/blob\/main\/config\.json$/);
    await page.waitForSelector('pre.file');
    await page.goto(`${hub.url}/#/models/alice/demo`);
    await page.waitForURL(/\/alice\/demo$/);
    await page.waitForSelector('.readme h1');
  });

  it('an empty repository (created by the CLI) shows how to fill it; a repository whose default branch is master opens on master', async () => {
    await hub.repo('alice/empty-one');
    await page.goto(`${hub.url}/alice/empty-one`);
    await page.waitForSelector('.empty-repo');
    assert.match((await page.textContent('.empty-repo')) ?? '', /This repository is empty[\s\S]*git clone http:\/\/127\.0\.0\.1:\d+\/alice\/empty-one\.git/);
    assert.doesNotMatch((await page.textContent('body')) ?? '', /Invalid rev id|\b404\b/);
    await shot('empty-repo');

    const dora = await hub.user('dora'); // a user of her own: alice's token list stays as the token test expects
    await hub.cli(['repo', 'create', 'dora/on-master', '--default-branch', 'master']);
    const work = path.join(tmpDir('ui-master'), 'w');
    await git(['init', '--quiet', '-b', 'master', work]);
    fs.writeFileSync(path.join(work, 'README.md'), '# On master\n');
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'first on master'], { cwd: work });
    await git(['push', '--quiet', `${hub.authUrl(dora)}/dora/on-master.git`, 'master'], { cwd: work });
    await page.goto(`${hub.url}/dora/on-master`);
    await page.waitForSelector('.readme h1');
    assert.equal(await page.textContent('.readme h1'), 'On master');
    assert.equal(await page.inputValue('select[aria-label=branch]'), 'master');
    // Every link carries the revision: master, never main.
    await page.click('nav.tabs a:has-text("Files")');
    await page.waitForURL(/\/dora\/on-master\/tree\/master$/);
    await page.click('table.files a:has-text("README.md")');
    await page.waitForURL(/\/dora\/on-master\/blob\/master\/README\.md$/);
    await page.waitForSelector('pre.file');
    await page.click('nav.tabs a:has-text("History")');
    await page.waitForURL(/\/dora\/on-master\/commits\/master$/);
    assert.match((await page.textContent('.commits')) ?? '', /first on master/);
    assert.doesNotMatch((await page.textContent('body')) ?? '', /does not exist/);
  });

  it('manages access tokens: created and shown once, then revoked', async () => {
    await page.goto(`${hub.url}/settings/tokens`);
    await page.waitForSelector('text=Create token');
    await page.click('text=Create token');
    await page.waitForSelector('.token code');
    const token = (await page.textContent('.token code'))!;
    assert.match(token, /^hf_/);
    const who = await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(who.status, 200);
    await shot('tokens');
    await page.click('text=Revoke');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('tbody tr').length === 0);
    assert.equal((await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } })).status, 401);
  });

  it('registers through an invitation link, switches branches, shows an image, changes visibility, deletes a repo', async () => {
    await page.goto(`${hub.url}/`);
    await page.waitForSelector('nav >> text=Sign out');
    await page.click('nav >> text=Sign out');
    await page.waitForSelector('nav >> text=Sign in');
    const link = (await hub.cli(['invite', 'create', 'bob'])).trim().split('\n').at(-1)!;
    await page.goto(`${hub.url}/${link.slice(link.indexOf('#'))}`);
    await page.waitForSelector('input[name=invite]');
    assert.equal(await page.inputValue('input[name=name]'), 'bob');
    await page.fill('input[name=password]', 'bob has a long password');
    await shot('register');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Sign out');
    assert.equal(await page.textContent('.me'), 'bob');

    await page.goto(`${hub.url}/new`);
    await page.fill('input[name=repo]', 'pics');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/bob\/pics$/);
    await page.click('nav.tabs a:has-text("Files")');
    await page.waitForSelector('text=.gitattributes');
    // A 1x1 PNG, and a branch with a file of its own (made through the API with the session).
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
    // A file over the LFS threshold (64 KiB here) goes through the LFS batch API, hashed in the browser.
    const weights = crypto.randomBytes(300 << 10);
    await page.setInputFiles('input[type=file]', [
      { name: 'dot.png', mimeType: 'image/png', buffer: png },
      { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: weights },
    ]);
    await page.click('form.upload button[type=submit]');
    await page.waitForSelector('table.files tr:has-text("weights.bin") .lfs');
    await page.waitForSelector('text=dot.png');
    const tree = (await (await fetch(`${hub.url}/api/models/bob/pics/tree/main`)).json()) as { path: string; lfs?: { oid: string } }[];
    assert.equal(tree.find((e) => e.path === 'weights.bin')?.lfs?.oid, crypto.createHash('sha256').update(weights).digest('hex'), 'stored as an LFS pointer');
    assert.equal(tree.find((e) => e.path === 'dot.png')?.lfs, undefined, 'the small file is stored inline');
    const back = Buffer.from(await (await fetch(`${hub.url}/bob/pics/resolve/main/weights.bin`)).arrayBuffer());
    assert.ok(back.equals(weights), 'the LFS file reads back identical');
    const made = await page.evaluate(async () => {
      const h = { 'X-Packhub-UI': '1', 'Content-Type': 'application/json' };
      const b = await fetch('/api/models/bob/pics/branch/dev', { method: 'POST', headers: h, body: '{}' });
      const lines = [{ key: 'header', value: { summary: 'on dev' } }, { key: 'file', value: { path: 'only-on-dev.txt', content: 'ZGV2Cg==', encoding: 'base64' } }];
      const c = await fetch('/api/models/bob/pics/commit/dev', { method: 'POST', headers: { ...h, 'Content-Type': 'application/x-ndjson' }, body: lines.map((l) => JSON.stringify(l)).join('\n') });
      return [b.status, c.status];
    });
    assert.deepEqual(made, [200, 200]);
    await page.reload();
    await page.waitForSelector('select[aria-label=branch] option[value=dev]', { state: 'attached' });
    assert.equal(await page.isVisible('text=only-on-dev.txt'), false);
    await page.selectOption('select[aria-label=branch]', 'dev');
    await page.waitForURL(/\/bob\/pics\/tree\/dev$/);
    await page.waitForSelector('text=only-on-dev.txt');
    // An upload commits to the branch shown (dev), not to the default branch.
    await page.setInputFiles('input[type=file]', [{ name: 'dev-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('for dev only\n') }]);
    await page.click('form.upload button[type=submit]');
    await page.waitForSelector('table.files tr[data-path="dev-notes.txt"]');
    const pathsOn = async (rev: string) => ((await (await fetch(`${hub.url}/api/models/bob/pics/tree/${rev}`)).json()) as { path: string }[]).map((e) => e.path);
    assert.ok((await pathsOn('dev')).includes('dev-notes.txt'), 'committed to dev');
    assert.ok(!(await pathsOn('main')).includes('dev-notes.txt'), 'main is untouched');
    await page.click('nav.tabs a:has-text("History")');
    await page.waitForURL(/\/bob\/pics\/commits\/dev$/);
    await page.waitForSelector('.commits li:has-text("Upload dev-notes.txt")');
    assert.match((await page.textContent('.commits')) ?? '', /on dev/);
    await shot('branch');
    await page.click('nav.tabs a:has-text("Files")');
    await page.waitForURL(/\/bob\/pics\/tree\/dev$/);

    await page.click('text=dot.png');
    await page.waitForURL(/\/bob\/pics\/blob\/dev\/dot\.png$/);
    await page.waitForSelector('img.view');
    await page.waitForFunction(() => ((globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('img.view')?.naturalWidth ?? 0) > 0);
    await shot('image');

    await page.click('summary:has-text("Settings")');
    await page.click('text=Make it private');
    await page.waitForSelector('h1 .badge:has-text("private")');
    assert.equal((await fetch(`${hub.url}/api/models/bob/pics`)).status, 401, 'private now: anonymous callers are asked to authenticate');
    await shot('settings');
    if (!(await page.isVisible('input[name=confirm]'))) await page.click('summary:has-text("Settings")');
    await page.fill('input[name=confirm]', 'bob/pics');
    await page.click('button.danger');
    await page.waitForURL(`${hub.url}/`);
    const gone = await page.evaluate(async () => (await fetch('/api/models/bob/pics', { headers: { 'X-Packhub-UI': '1' } })).status);
    assert.equal(gone, 404);
  });

  it('user and organization pages: create an org, add and remove members, create a repo in it; non-admins cannot manage members', async () => {
    await page.goto(`${hub.url}/bob`);
    await page.waitForSelector('text=New organization');
    await page.fill('input[name=org]', 'lab');
    await page.click('text=Create organization');
    await page.waitForURL(/\/lab$/);
    await page.waitForSelector('.members');
    assert.match((await page.textContent('.members')) ?? '', /bob\s*admin/);
    await page.fill('input[name=member]', 'alice');
    await page.selectOption('select[name=role]', 'write');
    await page.click('text=Add or change member');
    await page.waitForSelector('.members td:has-text("alice")');
    assert.match((await page.textContent('.members')) ?? '', /alice\s*write/);

    await page.goto(`${hub.url}/new`);
    await page.selectOption('select[name=owner]', 'lab');
    await page.fill('input[name=repo]', 'shared');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/lab\/shared$/);
    await page.goto(`${hub.url}/lab`);
    await page.waitForSelector('text=lab/shared');
    await shot('org');

    // alice (a writer, not an admin) may not manage members: the API says no.
    const login = await fetch(`${hub.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'correct horse battery' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const asAlice = await fetch(`${hub.url}/ui-api/orgs/lab/members/alice`, { method: 'PUT', headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'admin' }) });
    assert.equal(asAlice.status, 403);
    const lastAdmin = await page.evaluate(async () => (await fetch('/ui-api/orgs/lab/members/bob', { method: 'DELETE', headers: { 'X-Packhub-UI': '1' } })).status);
    assert.equal(lastAdmin, 409, 'the last admin stays');

    await page.click('.members tr:has-text("alice") button');
    await page.waitForSelector('.members td:has-text("alice")', { state: 'detached' });
    const anonymous = (await (await fetch(`${hub.url}/ui-api/namespaces/lab`)).json()) as { members?: unknown };
    assert.equal(anonymous.members, undefined, 'members are listed to members only');
  });

  it('administrators manage users on the Users page (admin rights, disabling, a new password); for others the page and its API are absent', async () => {
    await hub.cli(['user', 'create', 'root', '--admin', '--password', 'operator passphrase']);
    await hub.cli(['user', 'create', 'carol', '--password', 'carol passphrase']);
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const admin = await context.newPage();
    try {
      await admin.goto(`${hub.url}/login`);
      await admin.fill('input[name=name]', 'root');
      await admin.fill('input[name=password]', 'operator passphrase');
      await admin.click('button[type=submit]');
      await admin.waitForSelector('text=Sign out');
      await admin.click('nav a:has-text("Users")');
      await admin.waitForSelector('tr[data-user=carol]');
      const carol = admin.locator('tr[data-user=carol]');
      await carol.locator('button:has-text("Make admin")').click();
      await carol.locator('td:has-text("administrator")').waitFor();
      await carol.locator('button:has-text("Revoke admin")').click();
      await carol.locator('button:has-text("Make admin")').waitFor();
      await carol.locator('input[type=password]').fill('carol new passphrase');
      await carol.locator('button:has-text("Set")').click();
      await admin.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('tr[data-user=carol] input[type=password]')?.value === '');
      await carol.locator('button:has-text("Disable")').click();
      await carol.locator('td:has-text("disabled")').waitFor();
      await admin.screenshot({ path: path.join(SHOTS, 'admin-users.png'), fullPage: true });
      // Disabled: no sign-in, whatever the password.
      const login = (password: string) => fetch(`${hub.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'carol', password }) });
      assert.equal((await login('carol new passphrase')).status, 401);
      await carol.locator('button:has-text("Enable")').click();
      await carol.locator('td:has-text("active")').waitFor();
      assert.equal((await login('carol passphrase')).status, 401, 'the old password is gone');
      assert.equal((await login('carol new passphrase')).status, 200, 'the password the administrator set works');
      assert.equal(await admin.locator('tr[data-user=root] button:has-text("Disable")').count(), 0, 'no button to lock oneself out');
      // carol holds no repository: her account can be deleted (after a confirmation).
      admin.once('dialog', (d) => void d.accept());
      await carol.locator('button:has-text("Delete")').click();
      await admin.waitForSelector('tr[data-user=carol]', { state: 'detached' });
      assert.equal((await login('carol new passphrase')).status, 401, 'a deleted account cannot sign in');
    } finally {
      await context.close();
    }
    // alice (signed in on the main page) is no administrator: no link, and the API says nothing exists.
    await page.goto(`${hub.url}/`);
    await page.waitForSelector('text=Sign out');
    assert.equal(await page.locator('nav a:has-text("Users")').count(), 0);
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    for (const [method, url] of [['GET', '/ui-api/admin/users'], ['PATCH', '/ui-api/admin/users/dora'], ['DELETE', '/ui-api/admin/users/dora']] as const) {
      const r = await fetch(`${hub.url}${url}`, { method, headers: { cookie, 'Content-Type': 'application/json' }, body: method === 'PATCH' ? '{"isAdmin":true}' : undefined });
      assert.equal(r.status, 404, `${method} ${url} for a non-admin`);
      const anon = await fetch(`${hub.url}${url}`, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'PATCH' ? '{"isAdmin":true}' : undefined });
      assert.equal(anon.status, 404, `${method} ${url} anonymously`);
    }
    assert.match(await hub.cli(['user', 'list']), /^dora$/m, 'dora is untouched');
  });
});
