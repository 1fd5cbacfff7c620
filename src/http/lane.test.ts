import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { AppError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import { createLane, type LaneHandler } from './lane.js';
import { createMetrics } from './metrics.js';

/** A server whose requests go to the lane, else to `fallback` (the application's place). */
async function withLane(route: (url: string) => LaneHandler | null, fn: (url: string, logged: () => string, fallbacks: () => number) => Promise<void>) {
  const out = new PassThrough();
  let logged = '';
  out.on('data', (d: Buffer) => (logged += d.toString()));
  let fallbacks = 0;
  const lane = createLane({ db: null as unknown as Db, log: createLogger('warn', out), metrics: createMetrics(), idleMs: 10_000, anonymousRead: true, surface: 'hf', route });
  const server = http.createServer((req, res) => {
    if (lane(req, res)) return;
    fallbacks++;
    res.end('application');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => rejections.push(err);
  process.on('unhandledRejection', onRejection);
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => logged, () => fallbacks);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onRejection);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('download lane', () => {
  it('answers a handler that fails with the error in the surface style, with a request id', async () => {
    await withLane(
      () => async () => {
        throw new AppError('not_found', 'EntryNotFound', 'no such file');
      },
      async (url) => {
        const r = await fetch(`${url}/a/b/resolve/main/x`);
        assert.equal(r.status, 404);
        assert.equal(r.headers.get('x-error-code'), 'EntryNotFound');
        assert.match(r.headers.get('x-request-id') ?? '', /^[\w-]{36}$/);
        assert.deepEqual(await r.json(), { error: 'no such file' });
      },
    );
  });

  it('cuts the connection, logs, and never leaves an unhandled rejection when even the error cannot be answered', async () => {
    // A thrown value that throws on every look at it: the error handler itself fails.
    const poison = new Proxy(
      {},
      {
        get() {
          throw new Error('poisoned');
        },
        getPrototypeOf() {
          throw new Error('poisoned');
        },
      },
    );
    await withLane(
      () => async () => {
        throw poison;
      },
      async (url, logged) => {
        await assert.rejects(fetch(`${url}/a/b/resolve/main/x`));
        assert.match(logged(), /could not answer a failed request/);
      },
    );
  });

  it('leaves to the application what it does not take, before reading or writing anything', async () => {
    let routed = 0;
    await withLane(
      () => {
        routed++;
        return async (_req, res) => {
          res.end('lane');
        };
      },
      async (url, _logged, fallbacks) => {
        const ask = async (init: RequestInit & { headers?: Record<string, string> }) => (await fetch(`${url}/a/b/resolve/main/x`, init)).text();
        assert.equal(await ask({}), 'lane');
        assert.equal(await ask({ method: 'HEAD' }), '');
        assert.equal(await ask({ headers: { authorization: 'Bearer' } }), 'application', 'a Bearer header without a token');
        assert.equal(await ask({ headers: { authorization: 'Basic YTpi' } }), 'application');
        assert.equal(await ask({ headers: { 'x-packhub-ui': '1' } }), 'application');
        assert.equal(await ask({ method: 'POST', body: 'x' }), 'application');
        // A GET with a body (fetch sends none): node's own client.
        const withBody = await new Promise<string>((resolve, reject) => {
          const r = http.request(`${url}/a/b/resolve/main/x`, { method: 'GET', headers: { 'content-length': '1' } }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          });
          r.on('error', reject);
          r.end('x');
        });
        assert.equal(withBody, 'application');
        assert.equal(fallbacks(), 5);
        assert.equal(routed, 2, 'only the requests the lane takes are routed');
      },
    );
  });
});
