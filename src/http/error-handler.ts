import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { AppError, RedirectTo, isAppError, type ErrorKind } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sendBody, sendJson, type PlainRequest, type PlainResponse } from './plain.js';

export type Surface = 'git' | 'lfs' | 'hf' | 'ui';

export const REALM = 'packhub';

/** Statuses of errors raised by Express, body-parser and the router (http-errors), as packhub kinds. */
const KIND_OF_STATUS: Record<number, [ErrorKind, string]> = {
  400: ['invalid', 'BadRequest'],
  401: ['unauthenticated', 'Unauthenticated'],
  403: ['forbidden', 'Forbidden'],
  404: ['not_found', 'NotFound'],
  413: ['too_large', 'PayloadTooLarge'],
  415: ['unsupported_media', 'UnsupportedMediaType'],
};

function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean; message?: string } | null;
  if (e?.type === 'entity.too.large') return new AppError('too_large', 'PayloadTooLarge', 'request body too large');
  if (e?.type === 'entity.parse.failed') return new AppError('invalid', 'BadRequest', 'malformed request body');
  if (e?.type === 'encoding.unsupported') return new AppError('unsupported_media', 'UnsupportedMediaType', 'unsupported Content-Encoding of the request body');
  if (e?.type === 'charset.unsupported') return new AppError('unsupported_media', 'UnsupportedMediaType', 'unsupported charset of the request body');
  if (e?.type === 'request.aborted') return new AppError('invalid', 'BadRequest', 'the request body was aborted');
  if (e?.type === 'request.size.invalid') return new AppError('invalid', 'BadRequest', 'the request body does not match its Content-Length');
  // The client went away mid-request (a download it stopped, a body it cut): nothing to answer, nothing to log as ours.
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE') return new AppError('invalid', 'ClientClosedRequest', 'the client closed the connection');
  // decodeURIComponent on a malformed escape (%E0%A4%A), in the router or in a handler.
  if (err instanceof URIError) return new AppError('invalid', 'BadRequest', 'malformed percent-encoding in the URL');
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const [kind, code] = KIND_OF_STATUS[status] ?? ['invalid', 'BadRequest'];
    return new AppError(kind, code, e?.expose && e.message ? e.message : 'bad request', { cause: err });
  }
  return new AppError('internal', 'InternalError', 'internal server error', { cause: err });
}

/**
 * A header value from any text: HTTP header values hold Latin-1 without control characters, so
 * everything else is percent-encoded (UTF-8), as is '%' itself. The JSON body keeps the full text.
 */
export function headerSafe(text: string, max = 1000): string {
  const flat = text.replace(/[\r\n]+/g, ' ').slice(0, max);
  return flat.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '?'; // a lone surrogate
    }
  });
}

/** Render an error the way the surface's clients understand it. */
export function renderError(res: ServerResponse, err: AppError, surface: Surface): void {
  const status = err.status;
  res.statusCode = status;
  // git and git-lfs need the challenge to offer credentials; a browser would pop up a login dialog.
  if (status === 401 && (surface === 'git' || surface === 'lfs')) {
    if (surface === 'lfs') res.setHeader('LFS-Authenticate', `Basic realm="${REALM}"`);
    res.setHeader('WWW-Authenticate', `Basic realm="${REALM}"`);
  }
  res.setHeader('X-Error-Code', headerSafe(err.code, 100));
  const requestId = res.getHeader('X-Request-Id');
  switch (surface) {
    case 'lfs':
      sendBody(res, 'application/vnd.git-lfs+json; charset=utf-8', JSON.stringify({ message: err.message, request_id: requestId }));
      return;
    case 'hf':
      res.setHeader('X-Error-Message', headerSafe(err.message));
      sendJson(res, { error: err.message });
      return;
    case 'ui':
      sendJson(res, { error: { code: err.code, message: err.message } });
      return;
    default:
      sendBody(res, 'text/plain; charset=utf-8', `${err.message}\n`);
  }
}

/**
 * The answer to a request that failed (any thrown value): a redirect, the error in the surface's
 * style, or, once headers are out, a cut connection (all a client can be told then).
 */
export function answerError(log: Logger, req: PlainRequest, res: PlainResponse, err: unknown): void {
  if (err instanceof RedirectTo && !res.headersSent) {
    res.statusCode = 307;
    res.setHeader('Location', err.location);
    res.end();
    return;
  }
  const appErr = toAppError(err);
  const surface = (res.locals.surface as Surface | undefined) ?? 'ui';
  if (appErr.kind === 'internal') log.error({ err, url: req.originalUrl }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  try {
    renderError(res, appErr, surface);
  } catch (renderErr) {
    // Never Express's HTML page: a bare JSON 500 without the headers that failed.
    log.error({ err: renderErr, url: req.originalUrl }, 'could not render an error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
    res.statusCode = 500;
    res.setHeader('X-Error-Code', 'InternalError');
    sendJson(res, { error: 'internal server error' });
  }
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => answerError(log, req, res, err);
}
