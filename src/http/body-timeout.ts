import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.js';
import { renderError, type Surface } from './error-handler.js';
import type { PlainRequest, PlainResponse } from './plain.js';

/**
 * Connections that stall: when packhub waits for request body bytes, or for the client to read a
 * response it is sending, and nothing moves for `idleMs`, the connection is closed (with a 408 when
 * a body stalled and nothing was answered yet). Only silence counts: a body or a download of any size
 * or speed that keeps moving is never cut, and time during which packhub itself is not reading or
 * writing (backpressure from a disk or an object store, a handler not yet reading, a response still
 * being computed) is not the client's.
 */
export function bodyIdleTimeout(idleMs: number): RequestHandler {
  return (req, res, next) => {
    watchIdle(req, res, idleMs);
    next();
  };
}

/**
 * The checks of every watched request, one timer per period (a timer of its own per request cost
 * more than its checks do); a timer stops at a tick with nothing to check. Returns the check's removal.
 */
const tickers = new Map<number, Set<() => void>>();
function every(period: number, check: () => void): () => void {
  let checks = tickers.get(period);
  if (!checks) {
    const mine = (checks = new Set());
    tickers.set(period, mine);
    const timer = setInterval(() => {
      if (mine.size === 0) {
        clearInterval(timer);
        tickers.delete(period);
      }
      for (const c of mine) c();
    }, period);
    timer.unref();
  }
  checks.add(check);
  return () => checks.delete(check);
}

/** The idle timeout of bodyIdleTimeout for one request (nothing when `idleMs` <= 0). */
export function watchIdle(req: PlainRequest, res: PlainResponse, idleMs: number): void {
  if (idleMs <= 0) return;
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  const hasBody = !req.complete && !(te === undefined && (cl === undefined || cl === '0'));
  const socket = req.socket;
  let lastRead = socket.bytesRead;
  let lastWritten = socket.bytesWritten;
  let activeAt = Date.now();
  const stop = () => {
    unwatch();
    socket.off('close', stop); // keep-alive sockets carry many requests: no listener left behind
    res.off('close', done);
  };
  const check = () => {
    const readingBody = hasBody && !req.complete;
    if (socket.destroyed || (!readingBody && res.writableFinished)) return stop();
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    // Waiting on the client: for body bytes while nothing holds them back on our side, or for it to
    // read what we sent (the socket's buffer is full).
    const waitingOnClient = readingBody ? !(socket.isPaused() || req.readableLength >= req.readableHighWaterMark) : socket.writableNeedDrain;
    if (read !== lastRead || written !== lastWritten || !waitingOnClient) {
      lastRead = read;
      lastWritten = written;
      activeAt = Date.now();
      return;
    }
    if (Date.now() - activeAt < idleMs) return;
    stop();
    if (!readingBody || res.headersSent) {
      socket.destroy();
      return;
    }
    res.setHeader('Connection', 'close');
    res.once('finish', () => socket.destroy());
    try {
      renderError(res, new AppError('timeout', 'RequestTimeout', `no bytes of the request body arrived for ${Math.round(idleMs / 1000)} s`), (res.locals.surface as Surface | undefined) ?? 'ui');
    } catch {
      socket.destroy();
    }
  };
  const unwatch = every(Math.min(1000, Math.max(25, Math.floor(idleMs / 4))), check);
  socket.once('close', stop);
  // The response is over (sent, or its connection lost) and no body is still coming: nothing is waited
  // for any more. Stopping here, not at the next tick, keeps a keep-alive socket that
  // carries many quick requests from collecting one close listener per request. (An answer sent
  // before its body arrived keeps the timer: a stalled body still gets its connection cut.)
  const done = () => {
    if (!(hasBody && !req.complete)) stop();
  };
  res.once('close', done);
}
