import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startHub, type Hub } from './helpers/server.js';

/** Screenshots of every page this suite opens, to look at. */
const SHOTS = process.env.PACKHUB_UI_SHOTS ?? '/tmp/ui-shots';
const EVIL = '<img src=x onerror="globalThis.__pwned=1">';

const BERT_README = `---
license: mit
pipeline_tag: text-classification
library_name: transformers
tags:
  - nlp
model-index:
  - name: bert-tiny
    results:
      - task:
          type: text-classification
          name: Text Classification
        dataset:
          name: IMDb
          type: imdb
          split: test
        metrics:
          - type: accuracy
            name: Accuracy
            value: 0.913
          - type: f1
            value: 0.9
      - task:
          type: text-classification
        dataset:
          name: '${EVIL}'
          type: evil
        metrics:
          - type: accuracy
            value: '${EVIL}'
---
# bert tiny
`;

/** A Parquet file of 5000 rows in row groups of 1000; `text` is random, so the file does not compress. */
function parquetFile(): { bytes: Buffer; rows: number } {
  const rows = 5000;
  const id = Int32Array.from({ length: rows }, (_v, i) => i);
  const text = Array.from({ length: rows }, (_v, i) => (i === 0 ? EVIL : crypto.randomBytes(300).toString('base64')));
  const score = Float64Array.from({ length: rows }, (_v, i) => i / 4);
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: id, type: 'INT32' },
      { name: 'text', data: text, type: 'STRING' },
      { name: 'score', data: score, type: 'DOUBLE' },
    ],
    rowGroupSize: 1000,
  });
  return { bytes: Buffer.from(buf), rows };
}

describe('web UI hub pages in headless Chromium: search, metrics, dataset viewer, account', () => {
  let hub: Hub;
  let alice: { name: string; token: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const parquet = parquetFile();
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SHOTS, `hub-${name}.png`), fullPage: true });

  async function commit(repo: string, files: Record<string, Buffer | string>, kind = 'models') {
    const lines = [
      { key: 'header', value: { summary: 'add files' } },
      ...Object.entries(files).map(([p, c]) => ({ key: 'file', value: { path: p, content: Buffer.from(c).toString('base64'), encoding: 'base64' } })),
    ];
    const r = await fetch(`${hub.url}/api/${kind}/${repo}/commit/main`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
    });
    assert.equal(r.status, 200, await r.text());
  }
  const signIn = async (p: Page, password = 'alice has a passphrase') => {
    await p.goto(`${hub.url}/login`);
    await p.fill('input[name=name]', 'alice');
    await p.fill('input[name=password]', password);
    await p.click('button[type=submit]');
    await p.waitForSelector('nav >> text=Sign out');
  };
  const cardIds = async (p: Page = page) => p.$$eval('.repo-card .id', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent.trim()));
  const fits = async (p: Page) =>
    p.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    hub = await startHub({ backend: 'fs', env: { PACKHUB_LFS_THRESHOLD: '16384' } });
    alice = await hub.user('alice');
    await hub.cli(['user', 'passwd', 'alice', '--password', 'alice has a passphrase']);
    await hub.repo('alice/bert-tiny');
    await commit('alice/bert-tiny', { 'README.md': BERT_README, 'config.json': '{"architectures":["BertModel"],"model_type":"bert"}' });
    await hub.repo('alice/llama-gen');
    await commit('alice/llama-gen', { 'README.md': '---\nlicense: apache-2.0\npipeline_tag: text-generation\nlibrary_name: gguf\n---\n# gen\n', 'config.json': '{}' });
    await hub.repo('alice/plain');
    await commit('alice/plain', { 'notes.txt': 'no card\n' });
    await hub.repo('alice/rows', { type: 'dataset' });
    const csv = `id,text,label\n1,"hello, world",pos\n2,"${EVIL.replace(/"/g, '""')}",neg\n3,"two\nlines",pos\n`;
    const jsonl = Array.from({ length: 150 }, (_v, i) => JSON.stringify({ n: i, nested: { a: [i, i + 1] } })).join('\n') + '\n';
    await commit('alice/rows', { 'README.md': '---\nlicense: cc-by-4.0\n---\n# Rows\n', 'data/train.csv': csv, 'data/more.jsonl': jsonl }, 'datasets');
    // The Parquet file (2 MiB) goes through LFS, as the JS client uploads it.
    await hf.uploadFiles({ hubUrl: hub.url, accessToken: alice.token as `hf_${string}`, repo: { type: 'dataset', name: 'alice/rows' }, files: [{ path: 'data/table.parquet', content: new Blob([parquet.bytes]) }] });
    // Three downloads of bert-tiny as the clients make them (config.json on resolve), one of llama-gen.
    for (const [repo, n] of [['alice/bert-tiny', 3], ['alice/llama-gen', 1]] as const) {
      for (let i = 0; i < n; i++) assert.equal((await fetch(`${hub.url}/${repo}/resolve/main/config.json`)).status, 200);
    }

    browser = await chromium.launch({
      executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await context.addInitScript(() => {
      const w = globalThis as unknown as { __violations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
      w.__violations = [];
      w.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
  });
  afterEach(async () => {
    for (const p of context.pages()) {
      assert.deepEqual(await p.evaluate(() => (globalThis as unknown as { __violations?: string[] }).__violations ?? []), [], 'no Content-Security-Policy violations');
      assert.equal(await p.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, 'no user content ran');
    }
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it('home: repository cards with type, task, tags, updated, downloads and likes', async () => {
    await page.goto(`${hub.url}/`);
    await page.waitForSelector('.repo-card >> text=alice/bert-tiny');
    assert.deepEqual((await cardIds()).sort(), ['alice/bert-tiny', 'alice/llama-gen', 'alice/plain', 'alice/rows']);
    const bert = page.locator('.repo-card', { hasText: 'alice/bert-tiny' });
    assert.equal(await bert.locator('.badge').first().textContent(), 'model');
    assert.equal(await bert.locator('.task').textContent(), 'text-classification');
    assert.equal(await bert.locator('.downloads').textContent(), '↓ 3');
    assert.equal(await bert.locator('.likes').textContent(), '♥ 0');
    assert.match((await bert.locator('.updated').textContent()) ?? '', /^updated (just now|\d+ minutes? ago)$/);
    assert.deepEqual(await bert.locator('.tags li').allTextContents(), ['transformers', 'license:mit', 'nlp']);
    assert.equal(await page.locator('.repo-card', { hasText: 'alice/rows' }).locator('.badge').first().textContent(), 'dataset');
    await shot('home');
  });

  it('search: type, task, library and license filters and the sort live in the URL and go to the API as its parameters', async () => {
    const asked: string[] = [];
    const listen = (r: { url(): string }) => {
      const u = new URL(r.url());
      if (/^\/api\/(models|datasets|spaces)$/.test(u.pathname)) asked.push(u.pathname + u.search);
    };
    page.on('request', listen);
    try {
      await page.goto(`${hub.url}/`);
      await page.waitForSelector('.repo-card');
      // Type.
      await page.click('.types >> text=Datasets');
      await page.waitForURL(`${hub.url}/?type=datasets`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.repo-card').length === 1);
      assert.deepEqual(await cardIds(), ['alice/rows']);
      // Task, from the values the repositories have.
      await page.click('.types >> text=Models');
      await page.waitForURL(`${hub.url}/?type=models`);
      await page.waitForSelector('select[name=pipeline_tag] option[value="text-generation"]', { state: 'attached' });
      assert.deepEqual(await page.$$eval('select[name=pipeline_tag] option', (o) => o.map((x) => (x as unknown as { value: string }).value)), ['', 'text-classification', 'text-generation']);
      await page.selectOption('select[name=pipeline_tag]', 'text-classification');
      await page.waitForURL(`${hub.url}/?type=models&pipeline_tag=text-classification`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.repo-card').length === 1);
      assert.deepEqual(await cardIds(), ['alice/bert-tiny']);
      assert.ok(asked.some((a) => a.startsWith('/api/models?') && new URLSearchParams(a.split('?')[1]).get('pipeline_tag') === 'text-classification'), asked.join('\n'));
      // Removing the task filter, then a library and a license.
      await page.click('.active >> text=task: text-classification');
      await page.waitForURL(`${hub.url}/?type=models`);
      await page.selectOption('select[name=library]', 'gguf');
      await page.waitForURL(`${hub.url}/?type=models&library=gguf`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.repo-card').length === 1);
      assert.deepEqual(await cardIds(), ['alice/llama-gen']);
      assert.ok(asked.some((a) => new URLSearchParams(a.split('?')[1]).get('library') === 'gguf'));
      await page.goto(`${hub.url}/?license=cc-by-4.0`);
      await page.waitForSelector('.repo-card >> text=alice/rows');
      assert.deepEqual(await cardIds(), ['alice/rows']);
      assert.equal(await page.inputValue('select[name=license]'), 'cc-by-4.0', 'the URL sets the filter');
      // Sort by downloads (every type): the API is asked for it, the cards follow.
      await page.goto(`${hub.url}/?type=models`);
      await page.waitForSelector('.repo-card');
      await page.selectOption('select[name=sort]', 'downloads');
      await page.waitForURL(`${hub.url}/?type=models&sort=downloads`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('.repo-card .id')?.textContent === 'alice/bert-tiny');
      assert.deepEqual(await cardIds(), ['alice/bert-tiny', 'alice/llama-gen', 'alice/plain']);
      assert.ok(asked.some((a) => a.startsWith('/api/models?') && new URLSearchParams(a.split('?')[1]).get('sort') === 'downloads'));
      // Search with a filter kept.
      await page.fill('input[aria-label=search]', 'llama');
      await page.click('form.search button');
      await page.waitForURL(`${hub.url}/?type=models&sort=downloads&search=llama`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.repo-card').length === 1);
      assert.deepEqual(await cardIds(), ['alice/llama-gen']);
      await page.goto(`${hub.url}/?type=models&pipeline_tag=text-classification&license=apache-2.0`);
      await page.waitForSelector('.results >> text=Nothing matches.');
      await shot('search-filtered');
    } finally {
      page.off('request', listen);
    }
  });

  it('model card: a metrics table from model-index, its values shown as text', async () => {
    await page.goto(`${hub.url}/alice/bert-tiny`);
    await page.waitForSelector('section.metrics table');
    const rows = await page.$$eval('section.metrics tbody tr', (trs) => trs.map((tr) => [...(tr as unknown as { querySelectorAll(s: string): { textContent: string }[] }).querySelectorAll('td')].map((td) => td.textContent.trim())));
    assert.deepEqual(rows, [
      ['Text Classification', 'IMDb (test)', 'Accuracy', '0.913'],
      ['Text Classification', 'IMDb (test)', 'f1', '0.9'],
      ['text-classification', EVIL, 'accuracy', EVIL],
    ]);
    assert.deepEqual(await page.$$eval('section.metrics thead th', (th) => th.map((t) => (t as unknown as { textContent: string }).textContent)), ['Task', 'Dataset', 'Metric', 'Value']);
    assert.equal(await page.locator('section.metrics img').count(), 0, 'markup in the card is text');
    // No download counted for the page's own reads of config.json.
    const info = (await (await fetch(`${hub.url}/api/models/alice/bert-tiny`)).json()) as { downloads: number };
    assert.equal(info.downloads, 3);
    await shot('model-metrics');
  });

  it("dataset viewer: a dataset's page shows the Parquet file's first rows, read with Range requests only", async () => {
    const reads: { range: string | undefined; status: number; bytes: number }[] = [];
    const listen = async (r: { url(): string; status(): number; request(): { headers(): Record<string, string> }; headers(): Record<string, string> }) => {
      if (!r.url().includes('/resolve/main/data/table.parquet')) return;
      reads.push({ range: r.request().headers().range, status: r.status(), bytes: Number(r.headers()['content-length'] ?? -1) });
    };
    page.on('response', listen);
    try {
      await page.goto(`${hub.url}/datasets/alice/rows`);
      await page.waitForSelector('section.viewer table tbody tr');
      assert.equal(await page.textContent('section.viewer h2 .file'), 'data/table.parquet');
      assert.deepEqual(await page.$$eval('section.viewer thead th', (th) => th.map((t) => (t as unknown as { textContent: string }).textContent)), ['id', 'text', 'score']);
      assert.equal(await page.locator('section.viewer tbody tr').count(), 100);
      assert.equal((await page.textContent('section.viewer .summary'))?.trim(), 'The first 100 rows of 5,000, 3 columns.');
      const first = await page.$$eval('section.viewer tbody tr:first-child td', (td) => td.map((t) => (t as unknown as { textContent: string }).textContent));
      assert.deepEqual(first, ['0', EVIL, '0']);
      assert.equal(await page.locator('section.viewer img').count(), 0, 'cells are text');
      assert.equal(await page.locator('section.viewer tbody tr:nth-child(100) td').first().textContent(), '99');
      assert.ok(reads.length >= 1);
      for (const r of reads) {
        assert.match(r.range ?? '', /^bytes=\d+-\d+$/, 'every read is a Range request');
        assert.equal(r.status, 206);
      }
      const total = reads.reduce((a, r) => a + r.bytes, 0);
      assert.ok(total < parquet.bytes.length / 2, `read ${total} of ${parquet.bytes.length} bytes: the first row group and the footer, not the file`);
      await shot('dataset-viewer');
    } finally {
      page.off('response', listen);
    }
  });

  it('dataset viewer on blob pages: CSV with quotes and markup, JSON Lines bounded to 100 rows', async () => {
    await page.goto(`${hub.url}/datasets/alice/rows/blob/main/data/train.csv`);
    await page.waitForSelector('section.viewer table tbody tr');
    const rows = await page.$$eval('section.viewer tbody tr', (trs) => trs.map((tr) => [...(tr as unknown as { querySelectorAll(s: string): { textContent: string }[] }).querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows, [
      ['1', 'hello, world', 'pos'],
      ['2', EVIL, 'neg'],
      ['3', 'two\nlines', 'pos'],
    ]);
    assert.equal(await page.locator('section.viewer img').count(), 0);
    assert.ok(await page.isVisible('pre.file'), 'the text is still shown below');
    await shot('blob-csv');
    await page.goto(`${hub.url}/datasets/alice/rows/blob/main/data/more.jsonl`);
    await page.waitForSelector('section.viewer table tbody tr');
    assert.equal(await page.locator('section.viewer tbody tr').count(), 100);
    assert.deepEqual(await page.$$eval('section.viewer thead th', (th) => th.map((t) => (t as unknown as { textContent: string }).textContent)), ['n', 'nested']);
    assert.equal(await page.locator('section.viewer tbody tr:nth-child(2) td:nth-child(2)').textContent(), '{"a":[1,2]}');
    assert.equal((await page.textContent('section.viewer .summary'))?.trim(), 'The first 100 rows, 2 columns.');
    await page.goto(`${hub.url}/datasets/alice/rows/blob/main/data/table.parquet`);
    await page.waitForSelector('section.viewer table tbody tr');
    assert.equal(await page.locator('section.viewer tbody tr').count(), 100);
    await shot('blob-parquet');
  });

  it('account page: the password changes with the current one; other devices are signed out', async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const laptop = await other.newPage();
      await signIn(laptop);
      await signIn(page);
      await page.goto(`${hub.url}/settings/account`);
      await page.waitForSelector('form.password');
      assert.match((await page.textContent('section.who')) ?? '', /Signed in as alice/);
      // Wrong current password: refused, in words.
      await page.fill('input[name=current-password]', 'not my password');
      await page.fill('input[name=new-password]', 'a brand new passphrase');
      await page.fill('input[name=new-password-again]', 'a brand new passphrase');
      await page.click('form.password button[type=submit]');
      await page.waitForSelector('form.password [role=alert]');
      assert.match((await page.textContent('form.password [role=alert]')) ?? '', /current password is not correct/i);
      assert.doesNotMatch((await page.textContent('form.password [role=alert]')) ?? '', /\b40\d\b/);
      // The two new ones must agree (checked before asking the server).
      await page.fill('input[name=current-password]', 'alice has a passphrase');
      await page.fill('input[name=new-password-again]', 'something else entirely');
      await page.click('form.password button[type=submit]');
      await page.waitForSelector('form.password [role=alert] >> text=The two new passwords differ.');
      await page.fill('input[name=new-password-again]', 'a brand new passphrase');
      await page.click('form.password button[type=submit]');
      await page.waitForSelector('form.password [role=status]');
      await shot('account');
      // This browser stays signed in; the laptop is signed out; the new password signs in, the old one does not.
      await page.reload();
      await page.waitForSelector('nav >> text=Sign out');
      await laptop.reload();
      await laptop.waitForSelector('nav >> text=Sign in');
      const login = async (password: string) => (await fetch(`${hub.url}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alice', password }) })).status;
      assert.equal(await login('alice has a passphrase'), 401);
      assert.equal(await login('a brand new passphrase'), 200);
      // Bounded: a new password of 2000 characters is refused by the server.
      const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const long = await fetch(`${hub.url}/ui-api/password`, { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: cookie, 'X-Packhub-UI': '1' }, body: JSON.stringify({ currentPassword: 'a brand new passphrase', newPassword: 'x'.repeat(2000) }) });
      assert.equal(long.status, 400);
    } finally {
      await other.close();
    }
  });

  it('tokens page: a token with an expiry chosen from the list', async () => {
    await page.goto(`${hub.url}/settings/tokens`);
    await page.waitForSelector('select[name=expires]');
    await page.fill('form.card input >> nth=0', 'ci');
    await page.selectOption('select[name=expires]', '7');
    await page.click('form.card button[type=submit]');
    await page.waitForSelector('.token code');
    const row = page.locator('tbody tr', { hasText: 'ci' });
    const expires = (await row.locator('td.expires').textContent())?.trim() ?? '';
    const shown = await page.evaluate((d) => new Date(d).toLocaleDateString(), Date.now() + 7 * 86_400_000);
    assert.equal(expires, shown);
    await shot('tokens');
  });

  it('works at 390 px wide', async () => {
    // In the signed-in context (the menu folds away at this width), so the account page shows.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [name, p, ready] of [
        ['phone-home', '/?type=models&sort=downloads', '.repo-card'],
        ['phone-model', '/alice/bert-tiny', 'section.metrics table'],
        ['phone-dataset', '/datasets/alice/rows', 'section.viewer tbody tr'],
        ['phone-csv', '/datasets/alice/rows/blob/main/data/train.csv', 'section.viewer tbody tr'],
      ] as const) {
        await phone.goto(`${hub.url}${p}`);
        await phone.waitForSelector(ready);
        const overflow = await fits(phone);
        assert.ok(overflow <= 0, `${p} fits 390 px (overflows by ${overflow} px)`);
        await shot(name, phone);
      }
      await phone.goto(`${hub.url}/settings/account`);
      await phone.waitForSelector('form.password');
      assert.ok((await fits(phone)) <= 0, 'the account page fits 390 px');
      await shot('phone-account', phone);
    } finally {
      await phone.close();
    }
  });
});
