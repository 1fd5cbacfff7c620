import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { bodyIdleTimeout } from './body-timeout.js';

describe('bodyIdleTimeout', () => {
  it('leaves no close listener behind on a keep-alive socket that carries many quick requests', async () => {
    const app = express();
    app.use(bodyIdleTimeout(60_000));
    const seen: number[] = [];
    app.get('/x', (req, res) => {
      seen.push(req.socket.listenerCount('close'));
      res.end('ok');
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const port = (server.address() as AddressInfo).port;
      const get = () =>
        new Promise<void>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/x', agent }, (res) => res.resume().on('end', resolve).on('error', reject)).on('error', reject);
        });
      for (let i = 0; i < 40; i++) await get();
      assert.equal(seen.length, 40);
      // One socket for all 40 requests; each request's listener is gone when its response is.
      assert.ok(Math.max(...seen) <= seen[0]! + 1, `close listeners on the socket grew: ${seen.join(',')}`);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
