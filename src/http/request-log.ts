import crypto from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { PlainRequest, PlainResponse } from './plain.js';

/**
 * Gives the request its id (the client's `X-Request-Id` when well-formed, else a new one), sent back
 * in the same header, and logs the request once its response is finished (at level info).
 */
export function logRequest(log: Logger, req: PlainRequest, res: PlainResponse): void {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
  res.setHeader('X-Request-Id', id);
  if (!log.isLevelEnabled('info')) return;
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log.info({ requestId: id, method: req.method, url: req.originalUrl.split('?')[0], status: res.statusCode, ms: Math.round(ms) }, 'request');
  });
}
