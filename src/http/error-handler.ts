import type { ErrorRequestHandler, Response } from 'express';
import { AppError, isAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export type Surface = 'git' | 'lfs' | 'hf' | 'ui';

export const REALM = 'packhub';

function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large') return new AppError('too_large', 'PayloadTooLarge', 'request body too large');
  if (e?.type === 'entity.parse.failed') return new AppError('invalid', 'BadRequest', 'malformed request body');
  return new AppError('internal', 'InternalError', 'internal server error', { cause: err });
}

/** Render an error the way the surface's clients understand it. */
export function renderError(res: Response, err: AppError, surface: Surface): void {
  const status = err.status;
  res.status(status);
  // git and git-lfs need the challenge to offer credentials; a browser would pop up a login dialog.
  if (status === 401 && (surface === 'git' || surface === 'lfs')) {
    if (surface === 'lfs') res.setHeader('LFS-Authenticate', `Basic realm="${REALM}"`);
    res.setHeader('WWW-Authenticate', `Basic realm="${REALM}"`);
  }
  const requestId = res.getHeader('X-Request-Id');
  switch (surface) {
    case 'lfs':
      res.type('application/vnd.git-lfs+json').send(JSON.stringify({ message: err.message, request_id: requestId }));
      return;
    case 'hf':
      res.setHeader('X-Error-Code', err.code);
      res.setHeader('X-Error-Message', err.message.replace(/[\r\n]+/g, ' ').slice(0, 1000));
      res.json({ error: err.message });
      return;
    case 'ui':
      res.json({ error: { code: err.code, message: err.message } });
      return;
    default:
      res.type('text/plain').send(`${err.message}\n`);
  }
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    const surface = (res.locals.surface as Surface | undefined) ?? 'ui';
    if (appErr.kind === 'internal') log.error({ err, url: req.originalUrl }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    renderError(res, appErr, surface);
  };
}
