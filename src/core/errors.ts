/**
 * One error family for every surface. The kind implies the HTTP status; the code is a stable
 * machine-readable name (HF clients map some of them to typed exceptions). Rendering per surface
 * (git text, LFS JSON, HF headers) happens in one place: src/http/error-handler.ts.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition'
  | 'timeout'
  | 'too_large'
  | 'unsupported_media'
  | 'unprocessable'
  | 'unavailable'
  | 'internal';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  timeout: 408,
  too_large: 413,
  unsupported_media: 415,
  unprocessable: 422,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(kind: ErrorKind, code: string, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = opts.details;
  }

  get status(): number {
    return STATUS_OF_KIND[this.kind];
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

export const invalid = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('invalid', code, message, { details });
export const notFound = (code: string, message: string) => new AppError('not_found', code, message);
export const unauthenticated = (message = 'Authentication required') =>
  new AppError('unauthenticated', 'Unauthenticated', message);
export const forbidden = (message = 'Permission denied') => new AppError('forbidden', 'Forbidden', message);
export const conflict = (code: string, message: string) => new AppError('conflict', code, message);
export const tooLarge = (message: string) => new AppError('too_large', 'PayloadTooLarge', message);
export const internal = (message: string, cause?: unknown) => new AppError('internal', 'InternalError', message, { cause });

/**
 * Not a failure: the request named a repository by a name it was moved away from. Rendered as a
 * 307 to `location` (relative), which keeps the method and body (src/http/error-handler.ts).
 */
export class RedirectTo extends Error {
  constructor(readonly location: string) {
    super(`moved to ${location}`);
    this.name = 'RedirectTo';
  }
}

/** Errors raised while parsing or validating git data (packs, objects, pkt-lines). */
export class GitFormatError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('invalid', 'GitFormatError', message, { cause });
    this.name = 'GitFormatError';
  }
}
