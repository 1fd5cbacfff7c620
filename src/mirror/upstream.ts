import type { Logger } from '../core/logger.js';
import type { RepoType } from '../db/db.js';
import { httpExchange, TimeoutError, type HttpAnswer } from './transport.js';

/** Why an upstream request did not give an answer to use; `status` is the upstream's, if it answered. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'UpstreamError';
  }
}

export interface UpstreamOptions {
  /** Attempts of one request on 408/429/5xx and network errors before giving up. */
  maxAttempts?: number;
  /** Exponential backoff between attempts (full jitter), unless the upstream says how long to wait. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long the upstream may take to send the headers of an answer. */
  headersTimeoutMs?: number;
  /** Told of every exchange: the status, or 'network' when none came (metrics). */
  observe?: (outcome: string) => void;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;
/** The longest wait an upstream may ask for before packhub gives up on the request instead. */
const MAX_WAIT_MS = 10 * 60_000;

export const TYPE_PLURAL: Record<RepoType, string> = { model: 'models', dataset: 'datasets', space: 'spaces' };
const TYPE_PATH: Record<RepoType, string> = { model: '', dataset: 'datasets/', space: 'spaces/' };

/** `datasets/ns/name`, `ns/name`: where a repository lives on a hub, without a leading slash. */
export const repoPath = (type: RepoType, id: string) => `${TYPE_PATH[type]}${id}`;

/** A path in a URL: every segment percent-encoded, the slashes kept. */
export const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/**
 * How long an answer asks to wait before the next request: `Retry-After` (seconds or an HTTP date),
 * or the `RateLimit` header's `t` when nothing remains (`"api";r=0;t=30`). null: it does not say.
 */
export function waitAskedMs(headers: Headers, now = Date.now()): number | null {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter.trim())) return Number(retryAfter.trim()) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const rateLimit = headers.get('ratelimit');
  if (rateLimit) {
    const r = /(?:^|;)\s*r=(\d+)/.exec(rateLimit);
    const t = /(?:^|;)\s*t=(\d+)/.exec(rateLimit);
    if (r && t && Number(r[1]) === 0) return Number(t[1]) * 1000;
  }
  return null;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The upstream hub as packhub reads it: plain HTTP with the hub's own credential sent to the
 * upstream's origin only (never to a CDN it redirects to, never a user's token), identity encoding
 * (so stored bytes are the file's bytes), relative redirects followed, and the waits the upstream
 * asks for honoured by every request of this process (one 429 holds back all of them).
 */
export class Upstream {
  readonly origin: string;
  private blockedUntil = 0;
  private readonly opts: Required<UpstreamOptions>;

  constructor(
    readonly baseUrl: string,
    private readonly token: string | null,
    private readonly log: Logger,
    opts: UpstreamOptions = {},
  ) {
    this.origin = new URL(baseUrl).origin;
    this.opts = { maxAttempts: 6, minBackoffMs: 500, maxBackoffMs: 60_000, headersTimeoutMs: 30_000, observe: () => undefined, ...opts };
  }

  url(path: string): string {
    return `${this.baseUrl}/${path.replace(/^\/+/, '')}`;
  }

  /** The upstream's base URL for logs and messages (never with credentials). */
  get label(): string {
    return this.baseUrl;
  }

  /**
   * One request with the retries the upstream's answers call for (408, 429, 5xx and network errors),
   * waiting as told or backing off. Any other answer is returned as it is, for the caller to read.
   * Through `fetch`: for the small JSON answers.
   */
  request(url: string, init: RequestInit = {}): Promise<Response> {
    return this.withRetries(url, init, fetchExchange);
  }

  /**
   * The same for a large body (an LFS object): on a connection of its own, the body read into one
   * buffer and handed to the caller's sink (src/mirror/transport.ts). Same retries, redirects,
   * credentials and headers timeout.
   */
  download(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
    return this.withRetries(url, init, (u, o) => httpExchange(u, o));
  }

  private async withRetries<A extends Answer>(url: string, init: RequestInit, send: Send<A>): Promise<A> {
    let lastError: UpstreamError | null = null;
    const attempts = init.attempts ?? this.opts.maxAttempts;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const blocked = this.blockedUntil - Date.now();
      if (blocked > 0) await sleep(blocked, init.signal);
      let res: A;
      try {
        res = await this.requestOnce(url, init, send);
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        lastError = err instanceof UpstreamError ? err : new UpstreamError(`upstream ${this.label} unreachable: ${(err as Error).message}`, null, true, { cause: err });
        if (!lastError.retryable) throw lastError;
        init.onRetry?.(lastError);
        if (attempt + 1 < attempts) await sleep(this.backoff(attempt), init.signal);
        continue;
      }
      if (!RETRYABLE.has(res.status)) return res;
      const asked = waitAskedMs(res.headers);
      await res.discard();
      lastError = new UpstreamError(`upstream ${this.label} answered ${res.status} ${res.statusText}`.trim(), res.status, true);
      if (asked !== null && asked > MAX_WAIT_MS) throw new UpstreamError(`${lastError.message} and asked to wait ${Math.round(asked / 1000)} s`, res.status, true);
      const wait = asked ?? this.backoff(attempt);
      if (asked !== null) this.blockedUntil = Math.max(this.blockedUntil, Date.now() + asked);
      this.log.info({ url: redact(url), status: res.status, waitMs: wait, attempt: attempt + 1 }, 'upstream asked to wait');
      init.onRetry?.(lastError);
      if (attempt + 1 < attempts) await sleep(wait, init.signal);
    }
    throw lastError ?? new UpstreamError(`upstream ${this.label} did not answer`, null, true);
  }

  /** Exponential backoff with full jitter. */
  backoff(attempt: number): number {
    const cap = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** attempt);
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }

  /** Remembers a wait an answer asked for outside `request` (a body that failed after its headers). */
  holdOff(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + ms);
  }

  /**
   * One exchange, following redirects by hand: relative ones (and any on the upstream's origin) keep
   * the credential, others are followed without it (a CDN's signed URL carries its own grant).
   */
  private async requestOnce<A extends Answer>(url: string, init: RequestInit, send: Send<A>): Promise<A> {
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(current).origin === this.origin;
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'packhub-mirror/0.1', ...init.headers };
      if (sameOrigin && this.token) headers.authorization = `Bearer ${this.token}`;
      let res: A;
      try {
        res = await send(current, { method: init.method ?? 'GET', headers, signal: init.signal, headersTimeoutMs: this.opts.headersTimeoutMs });
      } catch (err) {
        if (init.signal?.aborted) throw err;
        this.opts.observe('network');
        const why = err instanceof TimeoutError ? err.message : describeNetworkError(err);
        throw new UpstreamError(`upstream ${this.label} unreachable: ${why}`, null, true, { cause: err });
      }
      this.opts.observe(String(res.status));
      if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
      const location = res.headers.get('location');
      await res.discard();
      if (!location) throw new UpstreamError(`upstream ${this.label} answered ${res.status} without a Location`, res.status, false);
      current = new URL(location, current).toString();
    }
    throw new UpstreamError(`upstream ${this.label}: more than ${MAX_REDIRECTS} redirects`, null, false);
  }

  private whoamiName: Promise<string | null> | null = null;

  /**
   * The user name of packhub's upstream token (`/api/whoami-v2`), for git's HTTP Basic: huggingface.co
   * takes any name with a token, a packhub upstream wants the token's owner. null without a token.
   */
  whoami(): Promise<string | null> {
    if (!this.token) return Promise.resolve(null);
    this.whoamiName ??= (async () => {
      const res = await this.request(this.url('api/whoami-v2'), { headers: { accept: 'application/json' } });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new UpstreamError(`upstream ${this.label} refused packhub's upstream token (${res.status})`, res.status, false);
      }
      const body = JSON.parse(await readBounded(res, 1 << 20)) as { name?: unknown };
      return typeof body.name === 'string' ? body.name : null;
    })();
    this.whoamiName.catch(() => (this.whoamiName = null));
    return this.whoamiName;
  }

  /**
   * Repository info at a revision (`/api/{models|datasets|spaces}/{id}[/revision/{rev}]`), or null
   * when the upstream says the repository does not exist for packhub's credential.
   */
  async repoInfo(type: RepoType, id: string, opts: { revision?: string; signal?: AbortSignal; attempts?: number } = {}): Promise<UpstreamRepoInfo | null> {
    const rev = opts.revision ? `/revision/${encodeURIComponent(opts.revision)}` : '';
    const res = await this.request(this.url(`api/${TYPE_PLURAL[type]}/${id}${rev}`), { headers: { accept: 'application/json' }, signal: opts.signal, attempts: opts.attempts });
    if (res.status === 401 || res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError(`upstream ${this.label} refused ${id} (403: gated or no access for packhub's upstream token)`, 403, false);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError(`upstream ${this.label} answered ${res.status} for ${id}`, res.status, false);
    }
    const text = await readBounded(res, 16 << 20);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UpstreamError(`upstream ${this.label} sent repository info that is not JSON`, res.status, false);
    }
    return {
      id: typeof body.id === 'string' ? body.id : id,
      sha: typeof body.sha === 'string' && /^[0-9a-f]{40}$/.test(body.sha) ? body.sha : null,
      private: body.private === true,
      gated: body.gated === 'auto' || body.gated === 'manual' ? body.gated : false,
    };
  }
}

interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  onRetry?: (err: UpstreamError) => void;
  attempts?: number;
}

/** What the retry and redirect logic needs of an answer, whichever transport brought it. */
interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  discard(): Promise<void>;
}

type Send<A extends Answer> = (url: string, opts: { method: string; headers: Record<string, string>; signal?: AbortSignal; headersTimeoutMs: number }) => Promise<A>;

/**
 * An exchange through `fetch` (small answers). As before `node:http` carried the large ones: the
 * timeout also bounds the reading of the body.
 */
async function fetchExchange(url: string, opts: { method: string; headers: Record<string, string>; signal?: AbortSignal; headersTimeoutMs: number }): Promise<Response & Answer> {
  const timeout = AbortSignal.timeout(opts.headersTimeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { method: opts.method, headers: opts.headers, redirect: 'manual', signal });
  } catch (err) {
    throw timeout.aborted && !opts.signal?.aborted ? new TimeoutError(opts.headersTimeoutMs) : err;
  }
  return Object.assign(res, { discard: async () => void (await res.body?.cancel().catch(() => undefined)) });
}

export interface UpstreamRepoInfo {
  id: string;
  sha: string | null;
  private: boolean;
  gated: false | 'auto' | 'manual';
}

/** A body read whole as bytes, refused past `max` bytes (`what` names it in the error). */
export async function readBoundedBytes(res: Response, max: number, what = 'an answer'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += (chunk as Uint8Array).length;
    if (total > max) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError(`upstream sent more than ${max} bytes for ${what}`, res.status, false);
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** A body read whole as text, refused past `max` bytes. */
export async function readBounded(res: Response, max: number): Promise<string> {
  return (await readBoundedBytes(res, max)).toString('utf8');
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** A URL for logs: no query (signed URLs carry grants), no credentials. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
