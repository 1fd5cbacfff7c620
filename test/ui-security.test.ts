import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { backends, ROOT, startHub, type Hub } from './helpers/server.js';

const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

/** A README that tries every way markdown has to make a click (or an image) run script. */
const TOKEN_CALL = `fetch('/ui-api/tokens',{method:'POST',headers:{'X-Packhub-UI':'1','Content-Type':'application/json'},body:JSON.stringify({name:'pwned',scope:'write'})})`;
const EVIL_README = [
  '# Totally normal model',
  '',
  `[Run the demo](javascript:${TOKEN_CALL})`,
  '',
  '[Mixed case](JaVaScRiPt:window.pwned=1)',
  '',
  '[Entity-encoded](jav&#x09;ascript:window.pwned=2)',
  '',
  '[Leading space]( javascript:window.pwned=3)',
  '',
  '[Data URL](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '',
  '[VBScript](vbscript:msgbox(1))',
  '',
  '<javascript:window.pwned=4>',
  '',
  '[ref link][evil]',
  '',
  '[evil]: javascript:window.pwned=5',
  '',
  '![js image](javascript:window.pwned=6)',
  '',
  '![svg image](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0iYWxlcnQoMSkiLz4=)',
  '',
  '![tiny png](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==)',
  '',
  '<a href="javascript:window.pwned=7">raw html link</a> <script>window.pwned=8</script>',
  '',
  '[Homepage](https://example.com/) · [Mail](mailto:team@example.com) · [Config](config.json) · [Section](#usage)',
  '',
  '```python',
  'print("hello")',
  '```',
].join('\n');

type Win = { pwned?: unknown; __violations?: { directive: string; blocked: string; source: string }[] };

for (const backend of backends()) {
  describe(`web UI security in headless Chromium (${backend}): sanitized README links, Content-Security-Policy`, () => {
    let hub: Hub;
    let browser: Browser;
    let page: Page;
    const dialogs: string[] = [];
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}-${backend}.png`), fullPage: true });
    const violations = () => page.evaluate(() => (globalThis as unknown as Win).__violations ?? []);
    /** alice's tokens, listed through her session. */
    const aliceTokens = async () =>
      page.evaluate(async () => (await (await fetch('/ui-api/tokens', { headers: { 'X-Packhub-UI': '1' } })).json()) as { name: string }[]);

    before(async () => {
      fs.mkdirSync(SHOTS, { recursive: true });
      hub = await startHub({ backend, env: { PACKHUB_LFS_THRESHOLD: '65536' } });
      if (backend === 's3') {
        // Browsers upload LFS files straight to the bucket (presigned PUT): the bucket must allow the hub's origin, as an operator sets it up.
        const s3 = new S3Client({ endpoint: hub.env.PACKHUB_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
        await s3.send(new PutBucketCorsCommand({ Bucket: hub.env.PACKHUB_S3_BUCKET, CORSConfiguration: { CORSRules: [{ AllowedOrigins: [hub.url], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'], MaxAgeSeconds: 600 }] } }));
        s3.destroy();
      }
      await hub.cli(['user', 'create', 'alice', '--password', 'correct horse battery']);
      // mallory publishes a model whose README carries the links.
      const mallory = await hub.user('mallory');
      await hub.repo('mallory/evil');
      const lines = [
        { key: 'header', value: { summary: 'readme' } },
        { key: 'file', value: { path: 'README.md', content: Buffer.from(EVIL_README).toString('base64'), encoding: 'base64' } },
        { key: 'file', value: { path: 'page.html', content: Buffer.from('<script>parent.pwned=9</script>').toString('base64'), encoding: 'base64' } },
        { key: 'file', value: { path: 'code.py', content: Buffer.from('def f(x):\n    return "<img src=x onerror=alert(1)>"\n').toString('base64'), encoding: 'base64' } },
      ];
      const c = await fetch(`${hub.url}/api/models/mallory/evil/commit/main`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${mallory.token}`, 'Content-Type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n'),
      });
      assert.equal(c.status, 200, await c.text());

      browser = await chromium.launch({
        executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      // Every CSP violation the page reports (an init script runs outside the page's CSP).
      await page.addInitScript(() => {
        const w = globalThis as unknown as Win & { addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string; sourceFile: string }) => void): void };
        w.__violations = [];
        w.addEventListener('securitypolicyviolation', (e) => w.__violations!.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile }));
      });
      // alice, the victim, is signed in.
      await page.goto(`${hub.url}/login`);
      await page.fill('input[name=name]', 'alice');
      await page.fill('input[name=password]', 'correct horse battery');
      await page.click('button[type=submit]');
      await page.waitForSelector('text=Sign out');
    });
    after(async () => {
      await browser?.close();
      await hub?.stop();
    });

    it('the UI is served with a strict Content-Security-Policy and renders under it without violations', async () => {
      await page.goto(`${hub.url}/`);
      const res = await page.reload();
      await page.waitForSelector('text=Sign out');
      await shot('ui-security-home');
      assert.deepEqual(await violations(), []);
      const csp = res!.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, csp);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
      assert.equal(res!.headers()['x-content-type-options'], 'nosniff');
      // The policy is enforced: an inline event handler does not run.
      const ran = await page.evaluate(async () => {
        const g = globalThis as unknown as Win & { document: { body: { insertAdjacentHTML(p: string, h: string): void } } };
        g.document.body.insertAdjacentHTML('beforeend', '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.pwned=\'inline\'" onerror="window.pwned=\'inline\'">');
        await new Promise((r) => setTimeout(r, 300));
        return g.pwned;
      });
      assert.equal(ran, undefined, 'inline handlers are blocked by the CSP');
      assert.ok((await violations()).some((v) => v.directive.startsWith('script-src')), 'and reported');
      await page.reload();
      await page.waitForSelector('text=Sign out');
    });

    it('README links to javascript:, data: and vbscript: URLs are removed; clicking them runs nothing', async () => {
      await page.goto(`${hub.url}/mallory/evil`);
      await page.waitForSelector('.readme h1');
      await shot('ui-security-readme');
      const links = await page.$$eval('.readme a', (as) => as.map((a) => ({ text: a.textContent, href: a.getAttribute('href') })));

      // Click every link that stays on the page (the attack: a signed-in reader clicks "Run the demo").
      for (const l of links) {
        if (/^(https?:|mailto:)/.test(l.href ?? '')) continue; // leaving the page is not the point here
        await page.click(`.readme a:text-is(${JSON.stringify(l.text)})`, { timeout: 5000 }).catch(() => undefined);
        await page.waitForTimeout(150);
        if (new URL(page.url()).pathname !== '/mallory/evil') {
          await page.goto(`${hub.url}/mallory/evil`);
          await page.waitForSelector('.readme h1');
        }
      }
      await page.waitForTimeout(500);
      assert.deepEqual(
        (await aliceTokens()).map((t) => t.name),
        [],
        'no token was created through the session',
      );
      assert.equal(await page.evaluate(() => (globalThis as unknown as Win).pwned), undefined, 'no link ran script');
      assert.deepEqual(dialogs, [], 'no dialog opened');

      // The unsafe URLs are gone from the page, the safe ones stay.
      for (const l of links) {
        if (l.href === null) continue;
        assert.match(l.href, /^(https?:|mailto:|[^:]*$)/i, `unsafe href kept: ${JSON.stringify(l)}`);
      }
      const hrefOf = (text: string) => links.find((l) => l.text === text)?.href;
      assert.equal(hrefOf('Homepage'), 'https://example.com/', 'http(s) links stay');
      assert.equal(hrefOf('Mail'), 'mailto:team@example.com');
      assert.equal(hrefOf('Config'), '/mallory/evil/blob/main/config.json', 'relative links open the file in the repository');
      assert.equal(hrefOf('Section'), '#usage', 'anchors stay');
      const images = await page.$$eval('.readme img', (is) => is.map((i) => ({ alt: i.getAttribute('alt'), src: i.getAttribute('src') })));
      assert.equal(images.find((i) => i.alt === 'js image')?.src ?? null, null);
      assert.equal(images.find((i) => i.alt === 'svg image')?.src ?? null, null, 'data: images other than raster are dropped');
      assert.match(images.find((i) => i.alt === 'tiny png')?.src ?? '', /^data:image\/png;base64,/, 'inline raster images stay');
      assert.match((await page.textContent('.readme')) ?? '', /<a href="javascript:window.pwned=7">raw html link<\/a> <script>/, 'raw HTML is shown as text');
      assert.deepEqual(await violations(), [], 'rendering the README breaks no CSP rule');
    });

    it('a file view highlights code as text; raw HTML files are served as inert downloads', async () => {
      await page.goto(`${hub.url}/mallory/evil/blob/main/code.py`);
      await page.waitForSelector('pre.file .hljs-keyword');
      assert.match((await page.textContent('pre.file')) ?? '', /<img src=x onerror=alert\(1\)>/);
      assert.equal(await page.$('pre.file img'), null);
      const raw = await page.evaluate(async () => {
        const r = await fetch('/mallory/evil/resolve/main/page.html');
        return { type: r.headers.get('content-type'), csp: r.headers.get('content-security-policy'), nosniff: r.headers.get('x-content-type-options') };
      });
      assert.doesNotMatch(raw.type ?? '', /html/);
      assert.match(raw.csp ?? '', /sandbox/);
      assert.equal(raw.nosniff, 'nosniff');
      await shot('ui-security-file');
      assert.deepEqual(await violations(), []);
    });

    it('uploads hash LFS files in a worker allowed to compile WebAssembly; the page itself is not', async () => {
      await page.goto(`${hub.url}/new`);
      await page.fill('input[name=repo]', 'mine');
      await page.click('button[type=submit]');
      await page.waitForURL(/\/alice\/mine$/);
      await page.goto(`${hub.url}/alice/mine/tree/main`);
      await page.waitForSelector('text=.gitattributes');
      const weights = crypto.randomBytes(200 << 10);
      await page.setInputFiles('input[type=file]', [{ name: 'weights.bin', mimeType: 'application/octet-stream', buffer: weights }]);
      await page.click('form.upload button[type=submit]');
      await page.waitForSelector('table.files tr:has-text("weights.bin") .lfs');
      const tree = (await (await fetch(`${hub.url}/api/models/alice/mine/tree/main`)).json()) as { path: string; lfs?: { oid: string } }[];
      assert.equal(tree.find((e) => e.path === 'weights.bin')?.lfs?.oid, crypto.createHash('sha256').update(weights).digest('hex'));
      const pageWasm = await page.evaluate(async () => {
        try {
          const wasm = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<unknown> } }).WebAssembly;
          await wasm.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
          return 'compiled';
        } catch (e) {
          return String(e);
        }
      });
      assert.notEqual(pageWasm, 'compiled', 'the page may not compile WebAssembly');
      await shot('ui-security-upload');
    });
    it('changing the password in the UI signs every other browser out', async () => {
      const other = await fetch(`${hub.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'correct horse battery' }) });
      const cookie = (other.headers.get('set-cookie') ?? '').split(';')[0]!;
      const me = (c: string) => fetch(`${hub.url}/ui-api/me`, { headers: { Cookie: c } }).then((r) => r.status);
      assert.equal(await me(cookie), 200);
      await page.goto(`${hub.url}/alice`);
      await page.evaluate(() => void ((globalThis as unknown as Win).__violations = [])); // the wasm probe above was one
      await page.fill('input[name=current-password]', 'correct horse battery');
      await page.fill('input[name=new-password]', 'an even better passphrase');
      await page.click('text=Change password >> nth=-1');
      await page.waitForSelector('text=Password changed');
      await shot('ui-security-password');
      assert.equal(await me(cookie), 401, 'the other browser is signed out');
      assert.equal(await page.evaluate(async () => (await fetch('/ui-api/me', { headers: { 'X-Packhub-UI': '1' } })).status), 200, 'this one stays signed in');
      assert.deepEqual(await violations(), []);
    });
  });
}
