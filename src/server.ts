import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import 'reflect-metadata';
import type { Config } from './core/config.js';
import type { Logger } from './core/logger.js';
import { openDb } from './db/typeorm-db.js';
import { createBlobStore } from './storage/index.js';
import { createApp } from './app.js';
import { GC_JOB, gcJobKind, gcMetrics, scheduleStorageSweeps } from './repos/storage-sweep.js';
import { ensureFirstAdmin } from './auth/first-admin.js';
import { writeDeployment } from './core/deployment.js';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** A malformed request (bad request line or headers, headers too large or too slow): a JSON error, then close. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const sent = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || sent) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HeadersTooLarge', 'request headers too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'RequestTimeout', 'the request headers did not arrive in time']
        : [400, 'BadRequest', 'malformed HTTP request'];
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `X-Error-Code: ${code}\r\nX-Error-Message: ${message}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Opens the database (running migrations) and storage, then serves HTTP until closed. */
export async function startServer(config: Readonly<Config>, log: Logger): Promise<RunningServer> {
  await fs.mkdir(config.dataDir, { recursive: true });
  await fs.mkdir(config.cacheDir, { recursive: true });
  // Temp files of interrupted pushes are garbage: nothing refers to them.
  await fs.rm(`${config.cacheDir}/tmp`, { recursive: true, force: true });
  const db = await openDb(config.database, log.child({ module: 'db' }));
  const blobs = await createBlobStore(config.storage);
  await ensureFirstAdmin(db, config.firstAdmin, log);
  writeDeployment(config);
  const secret = await db.settings.getOrCreate('transfer_signing_secret', () => crypto.randomBytes(32).toString('base64url'));
  const { handle, store, compactor, metrics, jobs, mirrors, downloads, setListeningOrigin } = createApp({ config, db, blobs, lfs: db.lfs, secret, log });
  // Garbage collection is a job (the dashboard's button, `packhub jobs`, the schedule), run by one replica at a time.
  const gc = gcJobKind({ db, lfs: db.lfs, blobs, store, compactor, log: log.child({ module: 'gc' }), report: gcMetrics(metrics) }, config.gc);
  jobs.register(GC_JOB, gc.handler, gc.options);
  const sweeps = scheduleStorageSweeps(jobs, config.gc, log.child({ module: 'gc' }));

  const server = http.createServer(handle);
  // Large pushes and downloads take as long as they take; idle sockets still time out.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Request bodies that stall are cut by the body idle timeout (src/http/body-timeout.ts).
  // Requests node cannot parse never reach the app: answer them in JSON too.
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  setListeningOrigin(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`);
  jobs.start();
  // Registered mirrors sync on their own every PACKHUB_MIRROR_RESYNC_MS (0: only when asked).
  const resyncMs = config.upstream?.resyncMs ?? 0;
  const resync = setInterval(() => {
    mirrors
      .resyncDue(resyncMs, async (repoId) => (await jobs.list({ kind: 'mirror.sync', repoId, state: 'queued', limit: 1 })).length > 0)
      .catch((err: Error) => log.warn({ err: err.message }, 'scheduling mirror syncs failed'));
  }, Math.max(resyncMs, 1000) / 4);
  if (!resyncMs) clearInterval(resync);
  resync.unref();
  log.info({ port, host: config.host, database: config.database.kind, storage: config.storage.kind }, 'packhub listening');

  return {
    port,
    async close() {
      // Stop accepting; in-flight transfers finish; idle keep-alive sockets go now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Live job streams end, running jobs go back to the queue for another replica (or the next start).
      await jobs.close();
      await mirrors.close();
      clearInterval(resync);
      server.closeIdleConnections();
      await closed;
      await compactor.close();
      await sweeps.close();
      await downloads.close();
      store.packs.closeAll();
      await db.close();
    },
  };
}
