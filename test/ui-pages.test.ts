import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { git, tmpDir } from './helpers/git.js';
import { startHub, type Hub } from './helpers/server.js';

/** Screenshots of every page this suite opens, to look at. */
const SHOTS = process.env.PACKHUB_UI_SHOTS ?? '/tmp/ui-shots';

type Tensor = { dtype: 'BF16' | 'F32' | 'F16'; shape: number[] };
const ELEMENT = { BF16: 2, F16: 2, F32: 4 };

/** A real safetensors file: 8-byte little-endian header length, the JSON header (padded to 8), then the tensors' bytes. */
function safetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * ELEMENT[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.alloc(offset);
  for (let i = 0; i < offset; i++) data[i] = (i * 31) & 0xff;
  return Buffer.concat([len, Buffer.from(json), data]);
}

const TENSORS: Record<string, Tensor> = {
  'model.embed_tokens.weight': { dtype: 'BF16', shape: [100, 64] },
  'model.layers.0.mlp.up_proj.weight': { dtype: 'BF16', shape: [128, 64] },
  'model.norm.weight': { dtype: 'F32', shape: [64] },
};
const PARAMS = 100 * 64 + 128 * 64 + 64; // 14,656

const README = `---
license: apache-2.0
pipeline_tag: text-generation
library_name: transformers
language:
  - en
  - fr
datasets:
  - alice/corpus
base_model: alice/base-model
---
# Tiny llama

A model small enough for a test. Its [configuration](./config.json), [helpers](src/utils/helpers.py#L2) and a [site](https://example.com/docs).

| metric | value |
| --- | --- |
| loss | 1.23 |
`;

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 2048,
  hidden_act: 'silu',
  torch_dtype: 'bfloat16',
  tie_word_embeddings: false,
};

describe('web UI pages in headless Chromium: Hub URLs, files, history, model pages', () => {
  let hub: Hub;
  let alice: { name: string; token: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let firstCommit = '';
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** One commit through the Hub API: files as { path: content }. */
  async function commit(repo: string, files: Record<string, Buffer | string>, summary: string, rev = 'main', kind = 'models') {
    const lines = [
      { key: 'header', value: { summary } },
      ...Object.entries(files).map(([p, c]) => ({ key: 'file', value: { path: p, content: Buffer.from(c).toString('base64'), encoding: 'base64' } })),
    ];
    const r = await fetch(`${hub.url}/api/${kind}/${repo}/commit/${encodeURIComponent(rev)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/x-ndjson' },
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
    });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    return (JSON.parse(body) as { commitOid: string }).commitOid;
  }
  const signIn = async (p: Page) => {
    await p.goto(`${hub.url}/login`);
    await p.fill('input[name=name]', 'alice');
    await p.fill('input[name=password]', 'alice has a passphrase');
    await p.click('button[type=submit]');
    await p.waitForSelector('nav >> text=Sign out');
  };

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    // Files from 16 KiB go through LFS: the safetensors file is an LFS object, read with Range requests.
    hub = await startHub({ backend: 'fs', env: { PACKHUB_LFS_THRESHOLD: '16384' } });
    alice = await hub.user('alice');
    await hub.cli(['user', 'passwd', 'alice', '--password', 'alice has a passphrase']);
    await hub.repo('alice/tiny-llama');
    firstCommit = await commit('alice/tiny-llama', { 'README.md': README, 'config.json': JSON.stringify(CONFIG, null, 2) }, 'Add the card and config');
    await commit('alice/tiny-llama', { 'model.safetensors': safetensors(TENSORS) }, 'Add weights');
    await commit('alice/tiny-llama', { 'src/main.py': 'from utils.helpers import f\n\nprint(f(2))\n', 'src/utils/helpers.py': 'def f(x):\n    """Doubles x."""\n    return 2 * x\n' }, 'Add code in folders');
    // A long history: 33 more commits, so that it takes two pages of 30.
    for (let i = 1; i <= 33; i++) await commit('alice/tiny-llama', { 'notes.txt': `note ${i}\n` }, `Note ${i}`);
    const b = await fetch(`${hub.url}/api/models/alice/tiny-llama/branch/${encodeURIComponent('feature/x')}`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(b.status, 200, await b.text());
    await commit('alice/tiny-llama', { 'feature.txt': 'only on feature/x\n' }, 'Feature work', 'feature/x');

    // A file that claims a 200 MB header: never read.
    await hub.repo('alice/bad-weights');
    const huge = Buffer.alloc(20000);
    huge.writeBigUInt64LE(200n * 1024n * 1024n);
    await commit('alice/bad-weights', { 'model.safetensors': huge, 'config.json': '{"architectures": ["BertModel"], "model_type": "bert", "max_position_embeddings": 512}' }, 'Bad weights');
    await hub.repo('alice/hidden', { private: true });
    await commit('alice/hidden', { 'README.md': '# secret\n' }, 'secret');
    await hub.repo('alice/corpus', { type: 'dataset' });
    await commit('alice/corpus', { 'README.md': '---\nlicense: cc-by-4.0\n---\n# Corpus\n', 'data/train.csv': 'a,b\n1,2\n' }, 'Add data', 'main', 'datasets');

    browser = await chromium.launch({
      executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url });
    page = await context.newPage();
    await context.addInitScript(() => {
      const w = globalThis as unknown as { __violations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
      w.__violations = [];
      w.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
  });
  afterEach(async () => {
    for (const p of context.pages()) assert.deepEqual(await p.evaluate(() => (globalThis as unknown as { __violations?: string[] }).__violations ?? []), [], 'no Content-Security-Policy violations');
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it('the server answers a browser on every Hub path with the UI; git, downloads and the API are untouched', async () => {
    const html = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const paths = [
      '/alice/tiny-llama',
      '/alice/tiny-llama/tree/main/src/utils',
      '/alice/tiny-llama/blob/main/config.json',
      `/alice/tiny-llama/commit/${firstCommit}`,
      '/alice/tiny-llama/commits/main',
      '/datasets/alice/corpus',
      '/spaces/alice/nothing-here',
      '/settings/tokens',
      '/login',
      '/alice',
      '/alice/hidden',
      '/nobody/nothing',
    ];
    const index = await (await fetch(`${hub.url}/`, { headers: html })).text();
    for (const p of paths) {
      const r = await fetch(`${hub.url}${p}`, { headers: html });
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/, p);
      assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/, p);
      assert.equal(await r.text(), index, `${p}: the same page for every path (a private repository looks like a missing one)`);
      const head = await fetch(`${hub.url}${p}`, { method: 'HEAD', headers: html });
      assert.equal(head.status, 200, `HEAD ${p}`);
    }
    // JSON clients and anything that does not ask for HTML get the JSON 404 as before.
    for (const accept of ['application/json', '*/*', undefined]) {
      const r = await fetch(`${hub.url}/alice/tiny-llama`, { headers: accept ? { Accept: accept } : {} });
      assert.equal(r.status, 404, `Accept: ${accept}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NotFound');
    }
    const post = await fetch(`${hub.url}/alice/tiny-llama`, { method: 'POST', headers: html });
    assert.equal(post.status, 404, 'only GET and HEAD');
    const apiMissing = await fetch(`${hub.url}/api/models/nobody/nothing`, { headers: html });
    assert.equal(apiMissing.status, 401, 'anonymous: as the Hub answers');
    assert.equal(apiMissing.headers.get('x-error-code'), 'RepoNotFound', 'the API answers as the API, even to a browser');
    assert.match(apiMissing.headers.get('content-type') ?? '', /json/);
    const asset = await fetch(`${hub.url}/assets/missing.js`, { headers: html });
    assert.equal(asset.status, 404, 'a missing asset is not the page');
    // Downloads (curl http://host/ns/name/resolve/main/x), with or without a browser's Accept.
    for (const headers of [{}, html]) {
      const r = await fetch(`${hub.url}/alice/tiny-llama/resolve/main/config.json`, { headers });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(await r.text()), CONFIG);
    }
    const raw = await fetch(`${hub.url}/alice/tiny-llama/raw/main/model.safetensors`, { headers: html });
    assert.match(await raw.text(), /^version https:\/\/git-lfs/, 'raw gives the LFS pointer');
    // git clone http://host/ns/name (no .git), as the Hub allows.
    const dir = path.join(tmpDir('ui-pages-clone'), 'tiny-llama');
    await git(['clone', '--quiet', `${hub.url}/alice/tiny-llama`, dir], { env: { GIT_LFS_SKIP_SMUDGE: '1' } });
    assert.equal(fs.readFileSync(path.join(dir, 'src/utils/helpers.py'), 'utf8'), 'def f(x):\n    """Doubles x."""\n    return 2 * x\n');
    assert.equal(await git(['log', '-1', '--format=%s'], { cwd: dir }), 'Note 33\n');
  });

  it('a model page: front matter as chips, parsed config.json, safetensors header read with Range requests, the memory table, copy buttons', async () => {
    const ranges: (string | undefined)[] = [];
    page.on('request', (r) => {
      if (r.url().includes('model.safetensors')) ranges.push(r.headers().range);
    });
    await page.goto(`${hub.url}/alice/tiny-llama`);
    await page.waitForSelector('.readme h1');
    assert.equal(await page.textContent('.readme h1'), 'Tiny llama');
    assert.equal(await page.locator('.readme table td:has-text("1.23")').count(), 1, 'README tables render');
    const chips = await page.$$eval('.chip', (cs) => cs.map((c) => `${c.getAttribute('data-kind')}=${c.textContent?.replace(/\s+/g, ' ').trim()}`));
    for (const want of ['license=license apache-2.0', 'pipeline_tag=task text-generation', 'library_name=library transformers', 'language=language en', 'language=language fr', 'datasets=dataset alice/corpus', 'base_model=base model alice/base-model']) {
      assert.ok(chips.includes(want), `chip ${want} in ${chips.join(', ')}`);
    }
    assert.doesNotMatch((await page.textContent('.readme')) ?? '', /pipeline_tag/, 'the front matter is not shown as text');
    const links = await page.$$eval('.readme a', (as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(links, ['/alice/tiny-llama/blob/main/config.json', '/alice/tiny-llama/blob/main/src/utils/helpers.py#L2', 'https://example.com/docs'], 'relative links open the repository\'s files');

    await page.waitForSelector('.weights .params');
    assert.equal(await page.textContent('.config .arch'), 'LlamaForCausalLM');
    assert.equal(await page.textContent('.config .dtype'), 'bfloat16');
    assert.equal(await page.textContent('.config .context'), '2,048 tokens');
    assert.equal(await page.textContent('.weights .tensors'), '3');
    assert.match((await page.textContent('.weights .params')) ?? '', /14\.7K \(14,656\)/);
    assert.match((await page.textContent('.weights .dtypes')) ?? '', /BF16 14\.6K, F32 64/);
    // fp16/bf16: 2 bytes a parameter, int8: 1, int4: 0.5; and 20% more with the overhead.
    for (const [precision, bytes] of [['fp16', 2], ['bf16', 2], ['int8', 1], ['int4', 0.5]] as const) {
      const row = page.locator(`table.memory tr[data-precision=${precision}]`);
      assert.equal(await row.locator('td.weights').getAttribute('data-bytes'), String(Math.round(PARAMS * bytes)), precision);
      assert.equal(await row.locator('td.total').getAttribute('data-bytes'), String(Math.round(PARAMS * bytes * 1.2)), precision);
    }
    assert.match((await page.textContent('.formula')) ?? '', /memory ≈ parameters × bytes per parameter × 1\.2, with 14,656 parameters \(counted in the safetensors headers\)/);
    assert.ok(ranges.length >= 2, 'the header was read');
    assert.deepEqual(
      ranges.filter((r) => !r),
      [],
      'every request for the weights asked for a byte range',
    );
    assert.ok(ranges.includes('bytes=0-7'), ranges.join(' '));
    await shot('model-page');

    // Copy buttons: the clone and huggingface_hub snippets land on the clipboard as shown.
    await page.click('summary:has-text("Clone or download")');
    await page.click('.snippet:has-text("git clone") button.copy');
    await page.waitForSelector('.snippet:has-text("git clone") button.copy:has-text("Copied")');
    const clip = await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    assert.match(clip, new RegExp(`git clone ${hub.url.replace(/[.:/]/g, '\\$&')}/alice/tiny-llama\\.git`));
    await page.click('.snippet:has-text("snapshot_download") button.copy');
    await page.waitForSelector('.snippet:has-text("snapshot_download") button.copy:has-text("Copied")');
    const hfClip = await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    assert.match(hfClip, /os\.environ\["HF_ENDPOINT"\] = "http:\/\/127\.0\.0\.1:\d+"/);
    assert.match(hfClip, /snapshot_download\("alice\/tiny-llama"\)/);
    await shot('model-page-clone');

    // A header that claims 200 MB is refused, not downloaded; config facts still show.
    ranges.length = 0;
    await page.goto(`${hub.url}/alice/bad-weights`);
    await page.waitForSelector('.weights .failed');
    assert.match((await page.textContent('.weights .failed')) ?? '', /200 MiB, more than the 100 MiB this page reads: not read/);
    assert.deepEqual(ranges, ['bytes=0-7'], 'only the length was read');
    assert.equal(await page.locator('table.memory').count(), 0, 'no estimate without a parameter count');
    assert.equal(await page.textContent('.config .context'), '512 tokens');
    await shot('model-page-bad-header');
  });

  it('files: Hub URLs typed directly, folders with breadcrumbs, last commits, line numbers, raw and download links; the revision stays in every link', async () => {
    await page.goto(`${hub.url}/alice/tiny-llama/tree/main/src/utils`);
    await page.waitForSelector('table.files tr[data-path="src/utils/helpers.py"]');
    assert.equal((await page.textContent('nav.crumbs'))?.replace(/\s+/g, ''), 'tiny-llama/src/utils');
    await page.waitForSelector('table.files tr[data-path="src/utils/helpers.py"] td.last a');
    assert.equal(await page.textContent('table.files tr[data-path="src/utils/helpers.py"] td.last a'), 'Add code in folders', 'the commit that last changed it');
    await shot('tree-folder');
    await page.click('nav.crumbs a:has-text("src")');
    await page.waitForURL(/\/alice\/tiny-llama\/tree\/main\/src$/);
    await page.waitForSelector('table.files tr[data-path="src/utils"] a.dir');
    await page.click('table.files a:has-text("..")');
    await page.waitForURL(/\/alice\/tiny-llama\/tree\/main$/);
    await page.waitForSelector('table.files tr[data-path="model.safetensors"] .lfs');
    assert.equal(await page.getAttribute('table.files tr[data-path="model.safetensors"] td.dl a', 'href'), '/alice/tiny-llama/resolve/main/model.safetensors');
    await shot('tree-root');

    await page.goto(`${hub.url}/alice/tiny-llama/blob/main/src/utils/helpers.py`);
    await page.waitForSelector('pre.file .hljs-keyword');
    assert.equal(await page.textContent('pre.gutter'), '1\n2\n3', 'line numbers');
    assert.equal(await page.getAttribute('a.raw', 'href'), '/alice/tiny-llama/raw/main/src/utils/helpers.py');
    assert.equal(await page.getAttribute('a.download', 'href'), '/alice/tiny-llama/resolve/main/src/utils/helpers.py');
    assert.match((await page.textContent('.blob .last')) ?? '', /Add code in folders/);
    await shot('blob');

    // A branch whose name has a slash travels as one segment (feature%2Fx); links keep it.
    await page.goto(`${hub.url}/alice/tiny-llama/tree/${encodeURIComponent('feature/x')}`);
    await page.waitForSelector('table.files tr[data-path="feature.txt"]');
    assert.equal(await page.inputValue('select[aria-label=branch]'), 'feature/x');
    await page.click('table.files a:has-text("feature.txt")');
    await page.waitForURL(/\/alice\/tiny-llama\/blob\/feature%2Fx\/feature\.txt$/);
    await page.waitForSelector('pre.file');
    await page.click('nav.tabs a:has-text("History")');
    await page.waitForURL(/\/alice\/tiny-llama\/commits\/feature%2Fx$/);
    await page.waitForSelector('.commits li:has-text("Feature work")');
    // Switching back from the selector keeps the view.
    await page.selectOption('select[aria-label=branch]', 'main');
    await page.waitForURL(/\/alice\/tiny-llama\/commits\/main$/);
    await page.waitForSelector('.commits li:has-text("Feature work")', { state: 'detached' });
    assert.equal(await page.textContent('.commits li:first-child a.title'), 'Note 33');
  });

  it('history pages through every commit with the right count; a commit opens from it', async () => {
    await page.goto(`${hub.url}/alice/tiny-llama/commits/main`);
    await page.waitForSelector('.commits li');
    // card + weights + code + 33 notes (the CLI makes repositories without a first commit)
    assert.match((await page.textContent('.history .count')) ?? '', /^36 commits$/);
    assert.equal(await page.locator('.commits li').count(), 30);
    assert.equal(await page.textContent('.commits li:first-child a.title'), 'Note 33');
    await shot('history-1');
    await page.click('a.older');
    await page.waitForURL(/\/alice\/tiny-llama\/commits\/main\?p=1$/);
    await page.waitForSelector('.commits li:has-text("Add the card and config")');
    assert.equal(await page.locator('.commits li').count(), 6);
    assert.equal(await page.locator('a.older').count(), 0, 'no page after the last');
    await page.click('.commits li:has-text("Add the card and config") a.title');
    await page.waitForURL(new RegExp(`/alice/tiny-llama/commit/${firstCommit}$`));
    await page.waitForSelector('.commit pre.diff');
    assert.match((await page.textContent('.commit')) ?? '', /added\s*config\.json/);
    await page.goBack();
    await page.waitForURL(/\?p=1$/);
    await page.waitForSelector('.commits li:has-text("Add weights")');
  });

  it('errors are worded for people, with a sign-in hint where it helps; a private repository reads like a missing one', async () => {
    const anon = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // A Basic challenge would make a real browser pop up a password dialog.
    const challenges: string[] = [];
    anon.on('response', (r) => {
      if (r.headers()['www-authenticate']) challenges.push(r.url());
    });
    try {
      const texts: string[] = [];
      for (const p of ['/alice/no-such-model', '/alice/hidden']) {
        await anon.goto(`${hub.url}${p}`);
        await anon.waitForSelector('[role=alert]');
        const t = (await anon.textContent('[role=alert]')) ?? '';
        texts.push(t.replace(/alice\/\S+/g, ''));
        assert.match(t, /This repository does not exist, or it is private\./);
        assert.match(t, /sign in/);
        assert.doesNotMatch(t, /\b(401|403|404)\b|RepoNotFound/);
      }
      assert.equal(texts[0], texts[1], 'private and missing read the same');
      assert.deepEqual(challenges, [], 'no answer asks the browser for a password');
      await shot('error-private', anon);
      // The hint leads to the sign-in page and back here.
      const hint = await anon.getAttribute('[role=alert] a:has-text("sign in")', 'href');
      assert.equal(hint, '/login?next=%2Falice%2Fhidden');
      await anon.goto(`${hub.url}${hint}`);
      await anon.fill('input[name=name]', 'alice');
      await anon.fill('input[name=password]', 'alice has a passphrase');
      await anon.click('button[type=submit]');
      await anon.waitForURL(/\/alice\/hidden$/);
      await anon.waitForSelector('.readme h1:has-text("secret")');

      await anon.goto(`${hub.url}/alice/tiny-llama/blob/main/nope.txt`);
      await anon.waitForSelector('[role=alert]');
      assert.match((await anon.textContent('[role=alert]')) ?? '', /^This file does not exist at this revision\./);
      await anon.goto(`${hub.url}/alice/tiny-llama/tree/no-such-branch`);
      await anon.waitForSelector('[role=alert]');
      assert.match((await anon.textContent('[role=alert]')) ?? '', /This branch, tag or commit does not exist in this repository\./);
      await anon.goto(`${hub.url}/nobody`);
      await anon.waitForSelector('[role=alert]');
      assert.match((await anon.textContent('[role=alert]')) ?? '', /There is no user or organization called nobody\./);
    } finally {
      await anon.close();
    }
  });

  it('an empty repository shows how to push or upload into it, on its default branch; a dataset page has its card', async () => {
    await hub.cli(['repo', 'create', 'alice/fresh', '--default-branch', 'master']);
    await signIn(page);
    await page.goto(`${hub.url}/alice/fresh`);
    await page.waitForSelector('.empty-repo');
    const text = (await page.textContent('.empty-repo')) ?? '';
    assert.match(text, /git push origin master/);
    assert.match(text, /upload_folder\(repo_id="alice\/fresh"/);
    assert.match(text, /Upload to master/);
    await page.setInputFiles('.empty-repo input[type=file]', [{ name: 'README.md', mimeType: 'text/markdown', buffer: Buffer.from('# Fresh\n') }]);
    await page.click('.empty-repo form.upload button[type=submit]');
    await page.waitForSelector('.readme h1:has-text("Fresh")');
    const refs = (await (await fetch(`${hub.url}/api/models/alice/fresh/refs`, { headers: { Authorization: `Bearer ${alice.token}` } })).json()) as { branches: { name: string }[] };
    assert.deepEqual(refs.branches.map((b) => b.name), ['master'], 'the upload went to the default branch, master');
    assert.equal(await page.inputValue('select[aria-label=branch]'), 'master');

    await page.goto(`${hub.url}/datasets/alice/corpus`);
    await page.waitForSelector('.readme h1:has-text("Corpus")');
    assert.equal(await page.textContent('.chip[data-kind=license]'), 'license cc-by-4.0');
    await page.click('nav.tabs a:has-text("Files")');
    await page.waitForURL(/\/datasets\/alice\/corpus\/tree\/main$/);
    await page.click('table.files a:has-text("data")');
    await page.waitForURL(/\/datasets\/alice\/corpus\/tree\/main\/data$/);
    await page.click('table.files a:has-text("train.csv")');
    await page.waitForURL(/\/datasets\/alice\/corpus\/blob\/main\/data\/train\.csv$/);
    assert.equal((await page.textContent('pre.file'))?.trim(), 'a,b\n1,2');
    await shot('dataset-file');
  });

  it('works at 390 px wide and in dark mode', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    try {
      for (const [name, p, ready] of [
        ['phone-model', '/alice/tiny-llama', 'table.memory'],
        ['phone-tree', '/alice/tiny-llama/tree/main', 'table.files tr[data-path="model.safetensors"]'],
        ['phone-blob', '/alice/tiny-llama/blob/main/config.json', 'pre.file'],
        ['phone-history', '/alice/tiny-llama/commits/main', '.commits li'],
        ['phone-home', '/', '.repo-card'],
      ] as const) {
        await phone.goto(`${hub.url}${p}`);
        await phone.waitForSelector(ready);
        const overflow = await phone.evaluate(() => {
          const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
          return d.scrollWidth - d.clientWidth;
        });
        assert.ok(overflow <= 0, `${p} fits 390 px (overflows by ${overflow} px)`);
        await shot(name, phone);
      }
      // The menu folds away on a phone and opens with its button.
      assert.equal(await phone.isVisible('nav >> text=Sign in'), false);
      await phone.click('button.menu');
      assert.equal(await phone.isVisible('nav >> text=Sign in'), true);
      await shot('phone-menu', phone);
    } finally {
      await phone.close();
    }
    const dark = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme: 'dark' });
    try {
      await dark.goto(`${hub.url}/alice/tiny-llama`);
      await dark.waitForSelector('table.memory');
      const bg = await dark.evaluate(() => {
        const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
        return g.getComputedStyle(g.document.body).backgroundColor;
      });
      assert.equal(bg, 'rgb(15, 17, 21)', 'a dark page');
      await shot('dark-model', dark);
      await dark.goto(`${hub.url}/alice/tiny-llama/blob/main/src/utils/helpers.py`);
      await dark.waitForSelector('pre.file .hljs-keyword');
      await shot('dark-blob', dark);
    } finally {
      await dark.close();
    }
  });
});
