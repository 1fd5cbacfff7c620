import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from './helpers/run.js';
import { ROOT } from './helpers/server.js';
import { tmpDir } from './helpers/git.js';

// No Docker engine runs on the test machines: the compose file is validated by docker-compose
// itself (with the documented .env.example), and what the deployment promises is checked in the files.

const compose = path.join(ROOT, 'docker/docker-compose.yml');
const envExample = path.join(ROOT, 'docker/.env.example');

describe('docker deployment files', () => {
  it('docker-compose.yml validates with docker/.env.example (packhub, postgres, minio with its bucket, nginx)', async () => {
    const r = await run('docker-compose', ['--env-file', envExample, '-f', compose, 'config', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const services = await run('docker-compose', ['--env-file', envExample, '-f', compose, 'config', '--services']);
    assert.deepEqual(services.stdout.trim().split('\n').sort(), ['minio', 'minio-init', 'nginx', 'packhub', 'postgres']);
  });

  it('settings come from the .env file: public addresses and passwords are not written in, and missing ones are named', async () => {
    const resolved = await run('docker-compose', ['--env-file', envExample, '-f', compose, 'config']);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, /PACKHUB_PUBLIC_URL: http:\/\/packhub\.example\.internal:8080/);
    assert.match(resolved.stdout, /PACKHUB_S3_PUBLIC_ENDPOINT: http:\/\/packhub\.example\.internal:9000/);
    const text = fs.readFileSync(compose, 'utf8');
    assert.doesNotMatch(text, /localhost/, 'no address may be fixed to localhost: LFS links would break for other machines');
    assert.doesNotMatch(text, /PASSWORD: [^$\s]/, 'passwords come from the .env file');
    // Without the file, docker-compose says what is missing and where to set it.
    const empty = path.join(tmpDir('env'), 'empty.env');
    fs.writeFileSync(empty, '');
    try {
      const bare = await run('docker-compose', ['--env-file', empty, '-f', compose, 'config', '-q']);
      assert.notEqual(bare.code, 0);
      assert.match(bare.stderr, /set \w+ in docker\/\.env/);
    } finally {
      fs.rmSync(path.dirname(empty), { recursive: true, force: true });
    }
  });

  it('images are pinned, the obsolete version key is gone, and nginx waits for a healthy packhub', () => {
    const text = fs.readFileSync(compose, 'utf8');
    assert.doesNotMatch(text, /^version:/m);
    const images = [...text.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!);
    assert.equal(images.length, 4);
    for (const image of images) assert.match(image, /:(?!latest$)[\w.-]+$/, `${image} must name a version`);
    const nginx = text.slice(text.indexOf('\n  nginx:'));
    assert.match(nginx, /packhub:\s+condition: service_healthy/);
    assert.match(text.slice(text.indexOf('\n  packhub:'), text.indexOf('\n  nginx:')), /healthcheck:[\s\S]*\/readyz/);
  });

  it('the image build context leaves out node_modules, data and secrets', () => {
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'data', '.git', 'docker/.env']) assert.ok(ignored.includes(p), `.dockerignore lacks ${p}`);
  });

  it('the Dockerfile is multi-stage and runs as a non-root user', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docker/Dockerfile'), 'utf8');
    assert.equal((text.match(/^FROM /gm) ?? []).length, 2);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^CMD \["node", "dist\/cli.js", "serve"\]$/m);
  });
});
