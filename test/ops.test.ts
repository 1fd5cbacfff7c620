import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { startHub, type Hub } from './helpers/server.js';

describe('operations: health, readiness, metrics, graceful shutdown', () => {
  let hub: Hub;
  let alice: { name: string; token: string };

  before(async () => {
    hub = await startHub({ backend: 'fs' });
    alice = await hub.user('alice');
    await hub.repo('alice/ops');
  });
  after(async () => {
    await hub?.stop();
  });

  it('/healthz and /readyz answer', async () => {
    assert.deepEqual(await (await fetch(`${hub.url}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${hub.url}/readyz`);
    assert.equal(ready.status, 200);
  });

  it('/metrics counts requests, bytes, pushes and clones', async () => {
    const work = path.join(tmpDir('ops'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    fs.writeFileSync(path.join(work, 'big.bin'), crypto.randomBytes(2 << 20));
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'data'], { cwd: work });
    await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/ops.git`, 'main'], { cwd: work });
    await git(['clone', '--quiet', `${hub.url}/alice/ops.git`, path.join(tmpDir('ops-clone'), 'c')]);
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    assert.match(text, /packhub_git_pushes_total\{result="ok"\} 1/);
    assert.match(text, /packhub_git_fetches_total\{kind="clone"\} 1/);
    const sent = Number(/packhub_http_sent_bytes_total\{surface="git"\} (\d+)/.exec(text)?.[1]);
    const received = Number(/packhub_http_received_bytes_total\{surface="git"\} (\d+)/.exec(text)?.[1]);
    assert.ok(sent > 1.9 * 2 ** 20 && received > 1.9 * 2 ** 20, `bytes counted both ways (sent ${sent}, received ${received})`);
    assert.match(text, /packhub_http_request_duration_seconds_bucket/);
  });

  it('a pack missing from storage fails that clone with an error, and the server stays up', async () => {
    await hub.repo('alice/lost');
    const repos = path.join(hub.dataDir, 'objects', 'repos');
    const before = new Set(fs.readdirSync(repos));
    const work = path.join(tmpDir('ops-lost'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    fs.writeFileSync(path.join(work, 'a.txt'), 'soon lost\n');
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'a'], { cwd: work });
    await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/lost.git`, 'main'], { cwd: work });
    const lost = fs.readdirSync(repos).filter((d) => !before.has(d));
    assert.equal(lost.length, 1, 'the push stored its pack under a new repository folder');
    // Storage loses the files (an operator's mistake); the server learns it when it opens them.
    await hub.restart();
    fs.rmSync(path.join(repos, lost[0]!), { recursive: true });
    const r = await gitResult(['clone', '--quiet', `${hub.url}/alice/lost.git`, path.join(tmpDir('ops-lost-clone'), 'c')]);
    assert.notEqual(r.code, 0);
    assert.deepEqual(await (await fetch(`${hub.url}/healthz`)).json(), { status: 'ok' }, 'the server is still up');
    await git(['clone', '--quiet', `${hub.url}/alice/ops.git`, path.join(tmpDir('ops-lost-clone'), 'other')]);
  });

  it('SIGTERM lets an in-flight clone finish, then the server exits', async () => {
    const work = path.join(tmpDir('ops2'), 'w');
    await git(['init', '--quiet', '-b', 'main', work]);
    const big = fs.openSync(path.join(work, 'big.bin'), 'w');
    for (let i = 0; i < 64; i++) fs.writeSync(big, crypto.randomBytes(1 << 20));
    fs.closeSync(big);
    await git(['add', '.'], { cwd: work });
    await git(['commit', '--quiet', '-m', 'big'], { cwd: work });
    await git(['push', '--quiet', `${hub.authUrl(alice)}/alice/ops.git`, 'HEAD:refs/heads/big'], { cwd: work });
    const dest = path.join(tmpDir('ops3'), 'c');
    // A slow reader: the pack is still streaming when the signal arrives.
    const clone = gitResult(['-c', 'http.lowSpeedLimit=0', 'clone', '--quiet', '--branch', 'big', `${hub.url}/alice/ops.git`, dest], { env: { GIT_TRACE_PACKET: '0' } });
    await new Promise((r) => setTimeout(r, 150));
    await hub.kill('SIGTERM');
    const r = await clone;
    assert.equal(r.code, 0, r.stderr);
    await git(['fsck', '--full'], { cwd: dest });
    await hub.restart(); // for after()
  });
});
