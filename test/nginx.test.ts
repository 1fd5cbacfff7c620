import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as hfhub from '@huggingface/hub';
import { git, tmpDir } from './helpers/git.js';
import { run } from './helpers/run.js';
import { ROOT, startHub, type Hub } from './helpers/server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The deployment's own docker/nginx.conf, with its upstream pointed at the test server. */
function nginxConf(dir: string, listen: number, upstream: number, dataDir: string): string {
  let conf = fs.readFileSync(path.join(ROOT, 'docker/nginx.conf'), 'utf8');
  conf = conf.replace('server packhub:8080;', `server 127.0.0.1:${upstream};`).replace('listen 80;', `listen 127.0.0.1:${listen};`);
  conf = conf.replace(/\/tmp\/nginx([-\w.]*)/g, (_m, rest: string) => path.join(dir, `nginx${rest}`));
  conf = conf.replace('access_log /dev/stdout;', `access_log ${path.join(dir, 'access.log')};`);
  // The objects directory of the test's data dir, read by workers that may run as another user.
  conf = conf.replace('alias /data/objects/;', `alias ${path.join(dataDir, 'objects')}/;`);
  if (process.getuid?.() === 0) conf = `user root;\n${conf}`;
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return file;
}

describe('behind nginx with docker/nginx.conf (streaming, no buffering)', () => {
  let hub: Hub;
  let nginx: ChildProcess;
  let url: string;
  let alice: { name: string; token: string };
  let dir: string;

  before(async () => {
    hub = await startHub({ backend: 'fs', env: { PACKHUB_ACCEL_REDIRECT_PREFIX: '/_packhub_objects/' } });
    alice = await hub.user('alice');
    await hub.repo('alice/proxied');
    dir = tmpDir('nginx');
    const port = await freePort();
    const conf = nginxConf(dir, port, hub.port, hub.dataDir);
    const check = await run('nginx', ['-t', '-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')]);
    assert.equal(check.code, 0, check.stderr);
    nginx = spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    nginx?.kill('SIGQUIT');
    await hub?.stop();
  });

  it('git push and clone with LFS through nginx', async () => {
    const work = path.join(tmpDir('nginx-work'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    await git(['lfs', 'track', '*.bin'], { cwd: work });
    const data = crypto.randomBytes(30 << 20);
    fs.writeFileSync(path.join(work, 'weights.bin'), data);
    fs.writeFileSync(path.join(work, 'README.md'), '# behind nginx\n');
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'through nginx'], { cwd: work });
    const remote = `http://alice:${alice.token}@127.0.0.1:${new URL(url).port}/alice/proxied.git`;
    await git(['push', '--quiet', remote, 'main'], { cwd: work });
    const clone = path.join(tmpDir('nginx-clone'), 'c');
    await git(['clone', '--quiet', remote, clone]);
    await git(['fsck', '--full', '--strict'], { cwd: clone });
    assert.ok(fs.readFileSync(path.join(clone, 'weights.bin')).equals(data));
    assert.ok(!fs.existsSync(path.join(dir, 'nginx-client-body')) || fs.readdirSync(path.join(dir, 'nginx-client-body')).length === 0, 'nginx buffered no body to disk');
  });

  it('@huggingface/hub uploads and downloads a 200 MB file through nginx', async () => {
    const creds = { hubUrl: url, accessToken: alice.token as `hf_${string}` };
    await hfhub.createRepo({ ...creds, repo: { type: 'model', name: 'alice/big' } });
    const data = crypto.randomBytes(200 * 1000 * 1000);
    await hfhub.uploadFile({ ...creds, repo: 'alice/big', file: { path: 'model.safetensors', content: new Blob([data]) } });
    const blob = await hfhub.downloadFile({ ...creds, repo: 'alice/big', path: 'model.safetensors' });
    const got = Buffer.from(await blob!.arrayBuffer());
    assert.equal(got.length, data.length);
    assert.ok(got.equals(data), 'byte-identical after the round trip');
    const errors = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    assert.doesNotMatch(errors, /buffered to a temporary file/, 'nginx streamed the body');
    // The download was handed to nginx (X-Accel-Redirect): a static file's Last-Modified, with
    // packhub's headers carried over, and ranges answered by nginx.
    const auth = { Authorization: `Bearer ${alice.token}` };
    const head = await fetch(`${url}/alice/big/resolve/main/model.safetensors`, { method: 'HEAD', headers: auth });
    assert.equal(head.status, 200);
    assert.ok(head.headers.get('last-modified'), 'sent by nginx from the file');
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal(head.headers.get('x-linked-size'), String(data.length));
    assert.match(head.headers.get('x-repo-commit') ?? '', /^[0-9a-f]{40}$/);
    assert.equal(head.headers.get('etag'), head.headers.get('x-linked-etag'));
    const part = await fetch(`${url}/alice/big/resolve/main/model.safetensors`, { headers: { ...auth, Range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200)));
    const denied = await fetch(`${url}/_packhub_objects/lfs/`);
    assert.equal(denied.status, 404, 'the internal location is not reachable from outside');
  });
});
