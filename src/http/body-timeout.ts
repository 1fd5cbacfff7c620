import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.js';
import { renderError, type Surface } from './error-handler.js';

/**
 * Request bodies that stall: when packhub waits for body bytes and none arrive for `idleMs`, the
 * request gets a 408 (if nothing was answered yet) and its connection is closed. Only silence
 * counts: a body of any size or speed that keeps arriving is never cut, and time spent while
 * packhub itself is not reading (backpressure: a slow disk or object store, a handler not yet
 * reading) is not the client's.
 */
export function bodyIdleTimeout(idleMs: number): RequestHandler {
  return (req, res, next) => {
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (idleMs <= 0 || req.complete || (te === undefined && (cl === undefined || cl === '0'))) return next();
    const socket = req.socket;
    let lastRead = socket.bytesRead;
    let activeAt = Date.now();
    const stop = () => {
      clearInterval(timer);
      socket.off('close', stop); // keep-alive sockets carry many requests: no listener left behind
    };
    const check = () => {
      if (req.complete || socket.destroyed) return stop();
      const read = socket.bytesRead;
      const waitingOnUs = socket.isPaused() || req.readableLength >= req.readableHighWaterMark;
      if (read !== lastRead || waitingOnUs) {
        lastRead = read;
        activeAt = Date.now();
        return;
      }
      if (Date.now() - activeAt < idleMs) return;
      stop();
      if (res.headersSent) {
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
    const timer = setInterval(check, Math.min(1000, Math.max(25, Math.floor(idleMs / 4))));
    timer.unref();
    socket.once('close', stop);
    next();
  };
}
