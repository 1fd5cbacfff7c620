import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { killOnExit } from './helpers/cleanup.js';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { run } from './helpers/run.js';
import { backendServices, backends, listeningPort, ROOT } from './helpers/server.js';

// Acceptance 10: the README's quick start. `npm start` (= `bash scripts/start.sh`) on a fresh data
// dir installs if needed, builds, and serves; the admin CLI commands of the README create a user, a
// token and a repository; git clones the empty repository, pushes to it, and clones it back.

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

    it('bash scripts/start.sh on a fresh data dir serves the hub; README commands create a user, token and repo; git clones and pushes', { timeout: 600_000 }, async () => {
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

      // The admin CLI exactly as the README writes it: `npm run packhub -- ...`, same configuration.
      const packhub = async (...args: string[]) => {
        const r = await run('npm', ['run', 'packhub', '--', ...args], { cwd: ROOT, env, timeoutMs: 120_000 });
        assert.equal(r.code, 0, `npm run packhub -- ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      await packhub('user', 'create', 'alice');
      const token = (await packhub('token', 'create', 'alice', '--scope', 'write')).trim().split('\n').pop()!.trim();
      assert.match(token, /^\S{16,}$/, 'the token is alone on the last line');
      await packhub('repo', 'create', 'alice/my-model');

      const clone = path.join(tmpDir('quickstart-clone'), 'my-model');
      const empty = await gitResult(['clone', `${base}/alice/my-model.git`, clone]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stderr, /cloned an empty repository/);
      fs.writeFileSync(path.join(clone, 'README.md'), '# my model\n');
      await git(['add', '.'], { cwd: clone });
      await git(['commit', '--quiet', '-m', 'first'], { cwd: clone });
      await git(['push', '--quiet', `http://alice:${token}@127.0.0.1:${port}/alice/my-model.git`, 'main'], { cwd: clone });
      const again = path.join(tmpDir('quickstart-again'), 'c');
      await git(['clone', '--quiet', `${base}/alice/my-model`, again]);
      assert.equal(fs.readFileSync(path.join(again, 'README.md'), 'utf8'), '# my model\n');
      await git(['fsck', '--full', '--strict'], { cwd: again });
    });
  });
}
