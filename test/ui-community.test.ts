import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as hf from '@huggingface/hub';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { backends, startHub, type Hub } from './helpers/server.js';

/** Screenshots of every page this suite opens, to look at. */
const SHOTS = process.env.PACKHUB_UI_SHOTS ?? '/tmp/ui-shots';

type User = { name: string; token: string; readToken: string };
type Details = { num: number; title: string; status: string; isPullRequest: boolean; events: { type: string; author?: { name: string }; data: { latest?: { raw: string } } }[]; changes?: { base: string; mergeCommitId?: string } };

const PASSWORD = 'a passphrase for the test';
const blobOf = (s: string) => new Blob([Buffer.from(s)]);
/** The document's horizontal overflow in px (0: the page fits its viewport). */
const overflowOf = (p: Page) =>
  p.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return d.scrollWidth - d.clientWidth;
  });

for (const backend of backends()) {
  describe(`web UI community pages in headless Chromium: discussions, pull requests, diff and merge (${backend})`, () => {
    let hub: Hub;
    let alice: User; // owns alice/demo: a writer
    let bob: User; // reads alice/demo only
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    let prNum = 0;
    let discNum = 0;
    let conflictNum = 0;
    const shot = (name: string, p: Page) => p.screenshot({ path: path.join(SHOTS, `community-${backend}-${name}.png`), fullPage: true });

    const call = async <T>(who: User, method: string, p: string, body?: unknown): Promise<T> => {
      const r = await fetch(`${hub.url}${p}`, {
        method,
        headers: { Authorization: `Bearer ${who.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      assert.equal(r.status, 200, `${method} ${p}: ${r.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const commit = (who: User, files: Record<string, string>, title: string, isPullRequest = false) =>
      hf.commit({
        hubUrl: hub.url,
        accessToken: who.token as `hf_${string}`,
        repo: 'alice/demo',
        title,
        description: isPullRequest ? `Please merge **${title}**.` : undefined,
        operations: Object.entries(files).map(([p, c]) => ({ operation: 'addOrUpdate' as const, path: p, content: blobOf(c) })),
        isPullRequest,
      });
    const fileAt = async (rev: string, p: string) => {
      const r = await fetch(`${hub.url}/alice/demo/resolve/${encodeURIComponent(rev)}/${p}`, { headers: { Authorization: `Bearer ${alice.token}` } });
      return r.status === 200 ? r.text() : null;
    };

    /** A browser context signed in as the user (or anonymous), at the viewport and colour scheme given. */
    async function as(who: User | null, opts: { width?: number; dark?: boolean } = {}): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, colorScheme: opts.dark ? 'dark' : 'light' });
      contexts.push(context);
      await context.addInitScript(() => {
        const w = globalThis as unknown as { __violations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void };
        w.__violations = [];
        w.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      const p = await context.newPage();
      if (who) {
        await p.goto(`${hub.url}/login`);
        await p.fill('input[name=name]', who.name);
        await p.fill('input[name=password]', PASSWORD);
        await p.click('button[type=submit]');
        await p.waitForSelector('nav >> text=Sign out', { state: 'attached' }); // folded away in the phone's menu
      }
      return p;
    }

    before(async () => {
      fs.mkdirSync(SHOTS, { recursive: true });
      hub = await startHub({ backend });
      alice = await hub.user('alice');
      bob = await hub.user('bob');
      for (const u of ['alice', 'bob']) await hub.cli(['user', 'passwd', u, '--password', PASSWORD]);
      await hub.repo('alice/demo');
      await commit(alice, { 'README.md': '# Demo\n', 'shared.txt': 'one\ntwo\nthree\n' }, 'Start');
      // bob, who may not write, opens a discussion (Markdown, and a script that must stay text) and a pull request.
      const disc = await call<{ num: number }>(bob, 'POST', '/api/models/alice/demo/discussions', {
        title: 'Which tokenizer?',
        description: 'Is this **the fast one**? <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">',
      });
      discNum = disc.num;
      const pr = await commit(bob, { 'notes.md': '# Notes\nfirst line\n', 'shared.txt': 'one\ntwo\nthree\nfour\n' }, 'Add notes', true);
      assert.ok(pr?.pullRequestUrl);
      prNum = Number(pr.pullRequestUrl.split('/').pop());
      browser = await chromium.launch({
        executablePath: process.env.PACKHUB_CHROMIUM ?? '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    });
    afterEach(async () => {
      for (const c of contexts.splice(0)) {
        for (const p of c.pages()) {
          assert.deepEqual(await p.evaluate(() => (globalThis as unknown as { __violations?: string[] }).__violations ?? []), [], 'no Content-Security-Policy violations');
          assert.equal(await p.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, 'no script of a comment ran');
        }
        await c.close();
      }
    });
    after(async () => {
      await browser?.close();
      await hub?.stop();
    });

    it('a browser gets the UI on the Community URLs of every repository kind', async () => {
      const html = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
      const index = await (await fetch(`${hub.url}/`, { headers: html })).text();
      for (const p of ['/alice/demo/discussions', `/alice/demo/discussions/${prNum}`, `/alice/demo/discussions/${prNum}/files`, '/datasets/alice/corpus/discussions', '/spaces/alice/app/discussions/3', '/models/alice/demo/discussions']) {
        const r = await fetch(`${hub.url}${p}`, { headers: html });
        assert.equal(r.status, 200, p);
        assert.equal(await r.text(), index, p);
      }
    });

    it('the Community tab lists discussions and pull requests with filters and counts; a reader comments and opens a discussion', async () => {
      const page = await as(bob);
      await page.goto(`${hub.url}/alice/demo`);
      await page.click('nav.tabs a:has-text("Community")');
      await page.waitForURL(/\/alice\/demo\/discussions$/);
      await page.waitForSelector('ul.threads li');
      const rows = await page.$$eval('ul.threads li', (ls) => ls.map((l) => (l.textContent ?? '').replace(/\s+/g, ' ').trim()));
      assert.equal(rows.length, 2, rows.join(' | '));
      assert.ok(rows.some((r) => r.startsWith('PR Add notes') && r.includes(`#${prNum}`) && r.includes('by bob')), rows.join(' | '));
      assert.ok(rows.some((r) => r.startsWith('Discussion Which tokenizer?') && r.includes(`#${discNum}`)), rows.join(' | '));
      assert.equal((await page.textContent('nav[aria-label=status] a.active'))?.replace(/\s+/g, ' ').trim(), 'Open 2');
      await shot('list', page);

      // Only pull requests; then closed ones (none yet).
      await page.click('nav[aria-label=type] a:has-text("Pull requests")');
      await page.waitForURL(/type=pull_request/);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('ul.threads li').length === 1);
      assert.match((await page.textContent('ul.threads'))!, /Add notes/);
      await page.click('nav[aria-label=status] a:has-text("Closed")');
      await page.waitForSelector('p.empty');
      assert.match((await page.textContent('p.empty'))!, /No closed pull requests yet/);

      // The discussion: Markdown rendered, the script and the handler left out; bob comments.
      await page.goto(`${hub.url}/alice/demo/discussions/${discNum}`);
      await page.waitForSelector('li.comment .markdown strong');
      assert.equal(await page.textContent('li.comment .markdown strong'), 'the fast one');
      assert.equal(await page.$$eval('li.comment .markdown script, li.comment .markdown [onerror]', (x) => x.length), 0);
      await page.fill('textarea[name=comment]', 'I think so: see `tokenizer.json`.');
      await page.click('form.reply button:has-text("Comment")');
      await page.waitForSelector('li.comment:nth-child(2) .markdown code');
      assert.equal(await page.textContent('li.comment:nth-child(2) .markdown code'), 'tokenizer.json');
      const thread = await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${discNum}`);
      assert.equal(thread.events.at(-1)?.data.latest?.raw, 'I think so: see `tokenizer.json`.');
      assert.equal(thread.events.at(-1)?.author?.name, 'bob');
      // bob edits his comment.
      await page.click('li.comment:nth-child(2) button:has-text("Edit")');
      await page.fill('li.comment:nth-child(2) textarea[name=edit]', 'Yes: see *tokenizer.json*.');
      await page.click('li.comment:nth-child(2) form.edit button[type=submit]');
      await page.waitForSelector('li.comment:nth-child(2) .markdown em');
      assert.match((await page.textContent('li.comment:nth-child(2) header'))!, /edited/);
      const edited = await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${discNum}`);
      assert.equal(edited.events.at(-1)?.data.latest?.raw, 'Yes: see *tokenizer.json*.');
      // Its author closes it, and reopens it.
      await page.click('button:has-text("Close discussion")');
      await page.waitForSelector('.meta .state.closed');
      await page.click('button:has-text("Reopen discussion")');
      await page.waitForSelector('.meta .state.open');
      assert.equal((await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${discNum}`)).status, 'open');
      await shot('discussion', page);

      // A new discussion through the form.
      await page.goto(`${hub.url}/alice/demo/discussions`);
      await page.click('button.new');
      await page.fill('form.compose input[name=title]', 'Add a license');
      await page.fill('form.compose textarea[name=description]', 'The card has none.');
      await page.click('form.compose button[type=submit]');
      await page.waitForURL(/\/alice\/demo\/discussions\/\d+$/);
      const num = Number(page.url().split('/').pop());
      await page.waitForSelector('h2 .title');
      assert.equal(await page.textContent('h2 .title'), 'Add a license');
      const created = await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${num}`);
      assert.equal(created.title, 'Add a license');
      assert.equal(created.isPullRequest, false);
      assert.equal(created.events[0]?.data.latest?.raw, 'The card has none.');
    });

    it('a reader sees the pull request and its diff, without a merge button', async () => {
      const page = await as(bob);
      await page.goto(`${hub.url}/alice/demo/discussions/${prNum}`);
      await page.waitForSelector('.meta');
      assert.match((await page.textContent('.meta'))!.replace(/\s+/g, ' '), new RegExp(`wants to merge refs/pr/${prNum} into main`));
      await page.waitForSelector('li.comment .markdown strong');
      assert.equal(await page.isVisible('button:has-text("Merge pull request")'), false, 'no merge button for a reader');
      await page.click('nav[aria-label="pull request"] a:has-text("Files changed")');
      await page.waitForURL(new RegExp(`/discussions/${prNum}/files$`));
      await page.waitForSelector('.diff-file');
      const paths = await page.$$eval('.diff-file h4 .path', (x) => x.map((e) => e.textContent));
      assert.deepEqual(paths.sort(), ['notes.md', 'shared.txt']);
      assert.deepEqual(await page.$$eval('.diff-file:has(.path:text-is("shared.txt")) tr.add td.text', (x) => x.map((e) => e.textContent)), ['+four']);
      assert.equal(await page.isVisible('button:has-text("Merge pull request")'), false, 'no merge button for a reader');
      await shot('pr-files-reader', page);
      // Anonymous readers see the thread, with neither a comment box nor a merge button.
      const anon = await as(null);
      await anon.goto(`${hub.url}/alice/demo/discussions/${prNum}`);
      await anon.waitForSelector('li.comment .markdown strong');
      assert.match((await anon.textContent('section.discussion'))!, /Sign in to comment/);
      assert.equal(await anon.$$eval('form.reply, button:has-text("Merge pull request"), button.new', (x) => x.length), 0);
      await anon.goto(`${hub.url}/alice/demo/discussions`);
      await anon.waitForSelector('ul.threads li');
      assert.equal(await anon.isVisible('button.new'), false, 'no New discussion for anonymous readers');
    });

    it('a writer merges through the button: the pull request shows merged and main has the change', async () => {
      const page = await as(alice);
      await page.goto(`${hub.url}/alice/demo/discussions/${prNum}/files`);
      await page.waitForSelector('.diff-file tr.add');
      assert.deepEqual(await page.$$eval('.diff-file:has(.path:text-is("notes.md")) tr.add td.text', (x) => x.map((e) => e.textContent)), ['+# Notes', '+first line']);
      assert.equal(await page.textContent('.diff-file:has(.path:text-is("notes.md")) .badge.status'), 'added');
      await shot('pr-files-writer', page);
      assert.equal(await fileAt('main', 'notes.md'), null, 'not on main yet');
      await page.click('nav[aria-label="pull request"] a:has-text("Conversation")');
      await page.waitForSelector('button:has-text("Merge pull request")');
      await shot('pr-before-merge', page);
      await page.click('button:has-text("Merge pull request")');
      await page.waitForSelector('.meta .state.merged');
      await page.waitForSelector('li.note:has-text("merged")');
      assert.equal(await page.isVisible('button:has-text("Merge pull request")'), false);
      await shot('pr-merged', page);
      const pr = await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${prNum}`);
      assert.equal(pr.status, 'merged');
      assert.equal(await fileAt('main', 'notes.md'), '# Notes\nfirst line\n');
      assert.equal(await fileAt('main', 'shared.txt'), 'one\ntwo\nthree\nfour\n');
      const head = await call<{ sha: string }>(alice, 'GET', '/api/models/alice/demo/revision/main');
      assert.equal(head.sha, pr.changes?.mergeCommitId);
    });

    it('a conflicting pull request lists its files, and the refused merge says which', async () => {
      const pr = await commit(bob, { 'shared.txt': 'one\nTWO\nthree\nfour\n' }, 'Shout two', true);
      conflictNum = Number(pr!.pullRequestUrl!.split('/').pop());
      await commit(alice, { 'shared.txt': 'one\n2\nthree\nfour\n' }, 'Digits');
      const page = await as(alice);
      await page.goto(`${hub.url}/alice/demo/discussions/${conflictNum}`);
      await page.waitForSelector('.merge .conflict');
      assert.match((await page.textContent('.merge .conflict'))!, /conflicts with main in this file: shared\.txt/);
      await page.click('button:has-text("Merge pull request")');
      await page.waitForSelector('[role=alert]');
      assert.match((await page.textContent('[role=alert]'))!, /conflicts.*shared\.txt/);
      assert.equal((await call<Details>(alice, 'GET', `/api/models/alice/demo/discussions/${conflictNum}`)).status, 'open');
      assert.equal(await fileAt('main', 'shared.txt'), 'one\n2\nthree\nfour\n', 'main unchanged');
      await shot('pr-conflict', page);
    });

    it('fits 390 px and reads in dark mode', async () => {
      for (const [name, who, opts] of [
        ['phone', bob, { width: 390 }],
        ['dark', alice, { width: 1280, dark: true }],
        ['phone-dark', alice, { width: 390, dark: true }],
      ] as const) {
        const page = await as(who, opts);
        for (const [view, p, ready] of [
          ['list', '/alice/demo/discussions?status=all', 'ul.threads li'],
          ['thread', `/alice/demo/discussions/${conflictNum}`, 'li.comment'],
          ['files', `/alice/demo/discussions/${prNum}/files`, '.diff-file tr.add'],
        ] as const) {
          await page.goto(`${hub.url}${p}`);
          await page.waitForSelector(ready);
          assert.ok((await overflowOf(page)) <= 0, `${p} fits ${opts.width} px`);
          await shot(`${name}-${view}`, page);
        }
        if (opts.dark) {
          const bg = await page.evaluate(() => {
            const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
            return g.getComputedStyle(g.document.body).backgroundColor;
          });
          assert.equal(bg, 'rgb(15, 17, 21)', 'a dark page');
        }
      }
    });
  });
}
