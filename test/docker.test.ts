import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from './helpers/run.js';
import { ROOT } from './helpers/server.js';

describe('docker deployment files', () => {
  it('docker-compose.yml validates (packhub, postgres, minio with its bucket, nginx)', async () => {
    const file = path.join(ROOT, 'docker/docker-compose.yml');
    const r = await run('docker-compose', ['-f', file, 'config', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const services = await run('docker-compose', ['-f', file, 'config', '--services']);
    assert.deepEqual(services.stdout.trim().split('\n').sort(), ['minio', 'minio-init', 'nginx', 'packhub', 'postgres']);
  });

  it('the Dockerfile is multi-stage and runs as a non-root user', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docker/Dockerfile'), 'utf8');
    assert.equal((text.match(/^FROM /gm) ?? []).length, 2);
    assert.match(text, /^USER node$/m);
    assert.match(text, /^CMD \["node", "dist\/cli.js", "serve"\]$/m);
  });
});
