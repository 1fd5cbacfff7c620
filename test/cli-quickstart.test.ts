import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { killOnExit } from './helpers/cleanup.js';
import { git, tmpDir } from './helpers/git.js';
import { run } from './helpers/run.js';
import { backendServices, backends, listeningPort, ROOT } from './helpers/server.js';

// The README's quick start, followed literally: `npm start` (= `bash scripts/start.sh`) on a fresh data
// dir installs if needed, builds, and serves; then the README's own code blocks run as written (they
// are read from README.md, so this test breaks when the README drifts), on a fresh HOME like a new
// machine's, with only the address changed to the test server's: the admin CLI creates a user with a
// password, a token and a repository; git with git-lfs and a credential helper pushes a large file
// into LFS; the JavaScript snippet runs as pasted into a .mjs file. The user signs in to the web UI.

/** The code blocks of README.md marked `<!-- quickstart:NAME -->`. */
function readmeBlocks(): Map<string, string> {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/<!-- quickstart:(\w+) -->\n```\w+\n([\s\S]*?)```/g)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

for (const backend of backends()) {
  describe(`README quick start (${backend})`, () => {
    let child: ChildProcess | null = null;
    let log = '';
    let release: (() => Promise<void>) | null = null;

    afterEach((t) => {
      const c = t as unknown as { passed?: boolean; diagnostic?: (m: string) => void };
      if (c.passed === false && c.diagnostic) c.diagnostic(`scripts/start.sh output, last lines:\n${log.trimEnd().split('\n').slice(-60).join('\n')}`);
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        process.kill(-child.pid!, 'SIGTERM'); // the whole group: bash, npm, the build, the server
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      }
      await release?.();
    });

    it('npm start on a fresh data dir serves the hub; the README\'s own blocks create a user, token and repo, push a large file into LFS through a credential helper, and run the JS snippet; the user signs in', { timeout: 600_000 }, async () => {
      const dataDir = path.join(tmpDir('quickstart'), 'data'); // does not exist yet
      const services = await backendServices(backend);
      release = services.release;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PACKHUB_PORT: '0',
        PACKHUB_HOST: '127.0.0.1',
        PACKHUB_DATA_DIR: dataDir,
        ...services.env,
      };
      const t0 = Date.now();
      child = spawn('bash', ['scripts/start.sh'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      killOnExit(child);
      const port = await new Promise<number>((resolve, reject) => {
        let pending = '';
        const timer = setTimeout(() => reject(new Error('the hub did not start within 9 minutes')), 540_000);
        const onData = (d: Buffer) => {
          log += d.toString();
          pending += d.toString();
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const p = listeningPort(pending.slice(0, nl));
            pending = pending.slice(nl + 1);
            if (p) {
              clearTimeout(timer);
              resolve(p);
            }
          }
        };
        child!.stdout!.on('data', onData);
        child!.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        child!.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`scripts/start.sh exited with ${code} before the hub listened`));
        });
      });
      const base = `http://127.0.0.1:${port}`;
      assert.ok(Date.now() - t0 < 540_000);

      const home = await fetch(`${base}/`);
      assert.equal(home.status, 200, 'GET / answers');
      assert.match(home.headers.get('content-type') ?? '', /text\/html/);
      if (backend === 'fs') assert.ok(fs.readdirSync(dataDir).length > 0, 'the embedded hub keeps its data in PACKHUB_DATA_DIR');

      // The README's blocks, with its address replaced by the test server's.
      const blocks = readmeBlocks();
      for (const name of ['admin', 'git', 'js']) assert.ok(blocks.has(name), `README.md has no quickstart:${name} block`);
      const here = (text: string) => text.replaceAll('localhost:8080', `127.0.0.1:${port}`);
      const work = tmpDir('quickstart-work');
      const freshHome = tmpDir('quickstart-home'); // a new machine's: no git-lfs filters, no credentials
      fs.writeFileSync(path.join(freshHome, '.gitconfig'), '[user]\n\tname = Quick Start\n\temail = quick@start.invalid\n');
      fs.writeFileSync(path.join(work, 'quickstart.mjs'), here(blocks.get('js')!));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules')); // what `npm i @huggingface/hub` gives
      const script = [
        'set -euo pipefail',
        `cd ${JSON.stringify(ROOT)}`,
        here(blocks.get('admin')!),
        `cd ${JSON.stringify(work)}`,
        here(blocks.get('git')!),
        `cd ${JSON.stringify(work)}`,
        'node quickstart.mjs',
        'echo "token=$HF_TOKEN"',
      ].join('\n');
      const shellEnv: NodeJS.ProcessEnv = { ...env, HOME: freshHome, XDG_CONFIG_HOME: path.join(freshHome, '.config'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
      delete shellEnv.HF_TOKEN;
      const r = await run('bash', ['-c', script], { cwd: work, env: shellEnv, timeoutMs: 300_000 });
      assert.equal(r.code, 0, `the README's commands failed:\n${r.stdout}\n${r.stderr}`);
      const token = /^token=(\S+)$/m.exec(r.stdout)?.[1];
      assert.ok(token && token.length >= 16, 'token create printed the token on its last line');
      assert.match(r.stdout, /^[0-9a-f]{10} [*-] weights\.bin$/m, 'git lfs ls-files lists the large file');
      assert.match(r.stdout, /downloaded 2000000 bytes of alice\/tiny\/model\.bin/);
      assert.ok(!`${r.stdout}${r.stderr}`.replace(/^token=.*$/m, '').includes(token!), 'no command printed the token');

      // The large file is in LFS on the server: a clone without smudging sees a pointer.
      const raw = path.join(tmpDir('quickstart-raw'), 'c');
      await git(['clone', '--quiet', `${base}/alice/my-model`, raw], { env: { GIT_LFS_SKIP_SMUDGE: '1' } });
      assert.match(fs.readFileSync(path.join(raw, 'weights.bin'), 'utf8'), /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:[0-9a-f]{64}\nsize 3000000\n$/);
      await git(['fsck', '--full', '--strict'], { cwd: raw });

      // The password of the README signs in to the web UI.
      const password = /user create alice --password '([^']+)'/.exec(blocks.get('admin')!)?.[1];
      assert.ok(password, 'the README creates alice with a password');
      const login = await fetch(`${base}/ui-api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alice', password }) });
      assert.equal(login.status, 200, await login.text());
      const cookie = login.headers.get('set-cookie')?.split(';')[0];
      assert.ok(cookie);
      const me = await fetch(`${base}/ui-api/me`, { headers: { cookie } });
      assert.equal(((await me.json()) as { name?: string }).name, 'alice');
    });
  });
}
