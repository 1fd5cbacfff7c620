import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Db } from '../db/db.js';
import { BEARER, bearerPrincipal } from '../auth/passport.js';
import { watchIdle } from './body-timeout.js';
import { answerError, type Surface } from './error-handler.js';
import type { Metrics } from './metrics.js';
import type { PlainRequest, PlainResponse } from './plain.js';
import { logRequest } from './request-log.js';

/** A request the lane answers: the handler runs once the caller is known (`res.locals.principal`). */
export type LaneHandler = (req: PlainRequest, res: PlainResponse) => Promise<void>;

export interface LaneOptions {
  db: Db;
  log: Logger;
  metrics: Metrics;
  /** The body idle timeout (src/http/body-timeout.ts), which also cuts a download its client stopped reading. */
  idleMs: number;
  /** PACKHUB_ALLOW_ANONYMOUS_READ: when off, requests without credentials are the application's (its challenge). */
  anonymousRead: boolean;
  /** The error style of the lane's routes. */
  surface: Surface;
  /** The handler of a `GET`/`HEAD` URL (`req.url` as received), or null for one the lane does not take. */
  route(url: string): LaneHandler | null;
}

/**
 * The download lane: the requests a hub gets most (a snapshot download asks for every file, `HEAD`
 * then `GET` on `resolve`, one by one) answered on node's own request and response, ahead of the
 * Express application. Express costs several times the work of such a request: its router walks
 * every middleware layer, and the request and response prototypes it swaps in per request make each
 * later property access on them slow, node's own response code included (bench/huge.ts, issue #14).
 *
 * The lane runs the application's steps for these requests, through the same functions: request id
 * and log, idle timeout, metrics, authentication by Bearer token, the handler, errors in the
 * surface's style. What it does not take goes to the application untouched, before anything was
 * read or written: other methods and URLs, other credentials (Basic, the web UI's session), no
 * credentials when anonymous reads are off (the application answers with its challenge), a request
 * with a body.
 *
 * Returns whether the lane took the request.
 */
export function createLane(opts: LaneOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { db, log, metrics, idleMs, anonymousRead, surface, route } = opts;
  const run = async (req: PlainRequest, res: PlainResponse, token: string | null, handler: LaneHandler) => {
    try {
      if (token !== null) res.locals.principal = await bearerPrincipal(db, token);
      await handler(req, res);
    } catch (err) {
      try {
        answerError(log, req, res, err);
      } catch (answerErr) {
        // Never an unhandled rejection (it would end the process): the connection is all that is left.
        log.error({ err: answerErr, url: req.originalUrl }, 'could not answer a failed request');
        res.destroy();
      }
    }
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (!url.startsWith('/')) return false;
    const { authorization, 'content-length': length, 'transfer-encoding': chunked } = req.headers;
    let token: string | null = null;
    if (authorization !== undefined) {
      const bearer = BEARER.exec(authorization);
      if (!bearer) return false;
      token = bearer[1]!;
    } else if (!anonymousRead || req.headers['x-packhub-ui'] !== undefined) {
      return false;
    }
    if (chunked !== undefined || (length !== undefined && length !== '0')) return false;
    const handler = route(url);
    if (!handler) return false;
    const preq = req as PlainRequest;
    const pres = res as PlainResponse;
    preq.originalUrl = url;
    pres.locals = { principal: null, surface };
    logRequest(log, preq, pres);
    watchIdle(preq, pres, idleMs);
    metrics.track(preq, pres);
    metrics.laneRequests.inc();
    void run(preq, pres, token, handler);
    return true;
  };
}
