import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PktReader } from '../git/protocol/pkt-line.js';
import {
  checkObjectFormat,
  fetchRequestV0,
  fetchRequestV2,
  lsRefsRequest,
  readAckV0,
  readAdvertisement,
  readLsRefs,
  readUntilPackfileV2,
  v0Sideband,
  type Advertisement,
  type RefListing,
} from './git-wire.js';

export interface GitUpstreamOptions {
  /** The repository's smart HTTP URL, e.g. http://host/datasets/ns/name.git (no trailing slash, no credentials). */
  url: string;
  /** Sent as HTTP Basic password (huggingface.co takes any user name; a packhub upstream wants the token's owner). */
  token?: string | null;
  username?: string | null;
  signal?: AbortSignal;
  log: Logger;
  maxRefs: number;
  /** Largest pack accepted (bytes of band 1). */
  maxPackBytes: number;
  /** Give up when the upstream sends nothing for this long (default 5 minutes). */
  idleTimeoutMs?: number;
}

/** Bytes of an advertisement or ls-refs answer (a ref line is at most a pkt-line, usually ~60 bytes). */
const MAX_LISTING_BYTES = 256 << 20;
/** Bytes that are neither pack nor framing (progress, acknowledgments) accepted in one fetch answer. */
const MAX_CHATTER_BYTES = 16 << 20;
/** Progress text kept for the log. */
const MAX_PROGRESS_LOG = 64 << 10;
const MAX_REDIRECTS = 5;
const USER_AGENT = 'git/2.0 (packhub/0.1)';

/** The error of an upstream that answered with an HTTP error status. */
export class UpstreamHttpError extends AppError {
  constructor(
    readonly url: string,
    readonly httpStatus: number,
    message: string,
  ) {
    const kind = httpStatus === 404 ? 'not_found' : 'unavailable';
    const code = httpStatus === 401 ? 'UpstreamUnauthorized' : httpStatus === 403 ? 'UpstreamForbidden' : httpStatus === 404 ? 'UpstreamNotFound' : 'UpstreamError';
    super(kind, code, message, { details: { upstream: url, status: httpStatus } });
    this.name = 'UpstreamHttpError';
  }
}

/** A short, printable excerpt of an error body (the upstream's own words), or ''. */
function excerpt(text: string): string {
  const line = text.replace(/[^\x20-\x7e\n]/g, '').split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

async function readSmall(res: Response, max = 4096): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(c));
      n += c.length;
      if (n >= max) break;
    }
  } catch {
    // the excerpt is a courtesy
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/**
 * packhub as a git client of one upstream repository over smart HTTP. The credential goes only to
 * the upstream's origin: redirects are followed on that origin alone (at most 5), never elsewhere;
 * it is never logged and never part of a URL. Every answer is bounded (listing bytes, ref count,
 * pack size, chatter) and read with an idle timeout.
 */
export class GitUpstream {
  private base: URL;
  private readonly origin: string;
  /** The Authorization header value; an ECMAScript private field, so no serializer (a logger) ever sees it. */
  readonly #auth: string | null;
  private readonly idleMs: number;
  private ad: Advertisement | null = null;
  /** Aborts the request in flight (a fetch whose pack failed to index is cut short). */
  private current: AbortController | null = null;

  /** The options, the token left out (it lives in #auth only). */
  private readonly opts: Omit<GitUpstreamOptions, 'token'>;

  constructor(options: GitUpstreamOptions) {
    const { token, ...opts } = options;
    this.opts = opts;
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new AppError('invalid', 'BadUpstreamUrl', `not a URL: ${JSON.stringify(opts.url.slice(0, 200))}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AppError('invalid', 'BadUpstreamUrl', `upstream URL must be http or https: ${u.protocol}`);
    if (u.username || u.password) throw new AppError('invalid', 'BadUpstreamUrl', 'the upstream URL must not carry credentials; pass the token separately');
    if (u.search || u.hash) throw new AppError('invalid', 'BadUpstreamUrl', 'the upstream URL must not have a query or fragment');
    u.pathname = u.pathname.replace(/\/+$/, '');
    this.base = u;
    this.origin = u.origin;
    this.#auth = token ? `Basic ${Buffer.from(`${opts.username || 'packhub'}:${token}`).toString('base64')}` : null;
    this.idleMs = opts.idleTimeoutMs ?? 5 * 60_000;
  }

  /** The URL as given (for messages: it never holds a credential). */
  get url(): string {
    return this.opts.url;
  }

  get protocol(): 2 | 0 | null {
    return this.ad?.protocol ?? null;
  }

  /** Stop the request in flight. */
  abort(reason: Error): void {
    this.current?.abort(reason);
  }

  private fail(message: string, cause?: unknown, code = 'UpstreamUnavailable'): AppError {
    return new AppError('unavailable', code, `upstream ${this.url}: ${message}`, { cause, details: { upstream: this.url } });
  }

  /**
   * One HTTP exchange, following same-origin redirects. Returns the response (2xx) with a body
   * reader that enforces the idle timeout; errors name the upstream.
   */
  private async request(
    method: 'GET' | 'POST',
    url: URL,
    init: { headers: Record<string, string>; body?: Buffer },
  ): Promise<{ res: Response; finalUrl: URL; chunks: (limit: number, what: string) => AsyncGenerator<Buffer>; close: () => void }> {
    const ac = new AbortController();
    this.current = ac;
    const signals = [ac.signal, ...(this.opts.signal ? [this.opts.signal] : [])];
    const signal = AbortSignal.any(signals);
    let timer: NodeJS.Timeout | null = null;
    const idle = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => ac.abort(this.fail(`sent nothing for ${this.idleMs >= 1000 ? `${Math.round(this.idleMs / 1000)} s` : `${this.idleMs} ms`}`, undefined, 'UpstreamTimeout')), this.idleMs);
      timer.unref?.();
    };
    const done = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    /** What an exception during this exchange means. */
    const explain = (err: unknown): unknown => {
      if (this.opts.signal?.aborted) {
        const r: unknown = this.opts.signal.reason;
        return r instanceof Error ? r : new AppError('unavailable', 'Cancelled', `sync from upstream ${this.url} cancelled`);
      }
      if (ac.signal.aborted && ac.signal.reason instanceof Error) return ac.signal.reason;
      if (err instanceof AppError) return err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
      return this.fail(`network error: ${why}`, err);
    };

    let current = url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, 'Accept-Encoding': 'identity', ...init.headers };
      // The credential goes to the upstream's origin only (redirects elsewhere are refused below).
      if (this.#auth && current.origin === this.origin) headers.Authorization = this.#auth;
      let res: Response;
      idle();
      try {
        res = await fetch(current, { method, headers, body: init.body, redirect: 'manual', signal });
      } catch (err) {
        done();
        throw explain(err);
      }
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        await res.body?.cancel().catch(() => undefined);
        done();
        const location = res.headers.get('location');
        if (!location) throw this.fail(`answered ${res.status} without a Location`);
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw this.fail(`answered ${res.status} with a bad Location`);
        }
        if (next.origin !== this.origin) {
          throw this.fail(`redirected to another origin (${next.origin}); not followed, so the credential stays with the upstream`, undefined, 'UpstreamRedirect');
        }
        if (method === 'POST' && res.status !== 307 && res.status !== 308) throw this.fail(`answered a POST with ${res.status}`, undefined, 'UpstreamRedirect');
        if (hop + 1 > MAX_REDIRECTS) throw this.fail(`more than ${MAX_REDIRECTS} redirects`, undefined, 'UpstreamRedirect');
        current = next;
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        const body = excerpt(await readSmall(res));
        done();
        const errorMessage = excerpt(res.headers.get('x-error-message') ?? '');
        const said = errorMessage || body;
        const reason =
          res.status === 404
            ? 'repository not found'
            : res.status === 401
              ? this.#auth
                ? 'the credential was refused'
                : 'authentication required (no upstream token is configured)'
              : res.status === 403
                ? 'access denied'
                : res.statusText || 'error';
        throw new UpstreamHttpError(this.url, res.status, `upstream ${this.url} answered ${res.status}: ${reason}${said && said !== reason ? ` (${said})` : ''}`);
      }
      const body = res.body as unknown as AsyncIterable<Uint8Array> | null;
      const self = this;
      const chunks = async function* (limit: number, what: string): AsyncGenerator<Buffer> {
        let total = 0;
        try {
          if (!body) return;
          idle();
          for await (const c of body) {
            idle();
            total += c.length;
            if (total > limit) throw self.fail(`${what} exceeds ${limit} bytes`, undefined, 'UpstreamTooLarge');
            yield Buffer.from(c.buffer, c.byteOffset, c.length);
          }
        } catch (err) {
          throw explain(err);
        } finally {
          // Stopped early (an error or a limit): drop the connection rather than read the rest.
          close();
        }
      };
      /** Done with this exchange (read to its end, or given up): no timer, no connection left behind. */
      const close = () => {
        done();
        if (self.current === ac) self.current = null;
        if (!ac.signal.aborted) ac.abort(new Error('closed'));
      };
      return { res, finalUrl: current, chunks, close };
    }
  }

  private checkType(res: Response, expected: string, close: () => void): void {
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (type !== expected) {
      close();
      throw this.fail(`does not speak git's smart HTTP protocol (answered ${type || 'no Content-Type'}, expected ${expected})`, undefined, 'UpstreamNotGit');
    }
  }

  /** Wraps protocol errors so they name the upstream. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GitFormatError) throw new GitFormatError(`upstream ${this.url}: ${err.message}`, err);
      throw err;
    }
  }

  /** `GET info/refs?service=git-upload-pack` asking for v2; remembers what the upstream speaks. */
  async discover(): Promise<Advertisement> {
    const url = new URL(`${this.base.href}/info/refs?service=git-upload-pack`);
    const { res, finalUrl, chunks, close } = await this.request('GET', url, { headers: { 'Git-Protocol': 'version=2', Pragma: 'no-cache' } });
    this.checkType(res, 'application/x-git-upload-pack-advertisement', close);
    // As git does: a redirect of the first request moves the repository's base for the rest.
    if (finalUrl.pathname.endsWith('/info/refs')) {
      const moved = new URL(finalUrl.href);
      moved.pathname = finalUrl.pathname.slice(0, -'/info/refs'.length);
      moved.search = '';
      if (moved.href !== this.base.href) this.opts.log.info({ upstream: this.url, to: moved.pathname }, 'upstream repository moved');
      this.base = moved;
    }
    const ad = await this.guard(async () => {
      const reader = new PktReader(chunks(MAX_LISTING_BYTES, 'the ref advertisement'), { maxPackets: this.opts.maxRefs * 2 + 2000 });
      const a = await readAdvertisement(reader, this.opts.maxRefs);
      checkObjectFormat(a);
      if (a.protocol === 2 && (!a.caps.has('ls-refs') || !a.caps.has('fetch'))) throw new GitFormatError('protocol v2 without ls-refs and fetch');
      // Drain what is left (nothing, normally), so the connection ends cleanly.
      for await (const _ of reader.rest());
      return a;
    }).finally(close);
    this.ad = ad;
    return ad;
  }

  private async post(body: Buffer, v2: boolean) {
    const url = new URL(`${this.base.href}/git-upload-pack`);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-git-upload-pack-request',
      Accept: 'application/x-git-upload-pack-result',
    };
    if (v2) headers['Git-Protocol'] = 'version=2';
    const r = await this.request('POST', url, { headers, body });
    this.checkType(r.res, 'application/x-git-upload-pack-result', r.close);
    return r;
  }

  /** The upstream's refs under these prefixes (v2 ls-refs; v0: from the advertisement). */
  async listRefs(prefixes: string[]): Promise<RefListing> {
    const ad = this.ad ?? (await this.discover());
    if (ad.protocol === 0) {
      const keep = (n: string) => prefixes.some((p) => n.startsWith(p));
      return { ...ad.listing, refs: ad.listing.refs.filter((r) => keep(r.name)) };
    }
    const { chunks, close } = await this.post(lsRefsRequest(ad.caps, prefixes), true);
    return this.guard(async () => {
      const reader = new PktReader(chunks(MAX_LISTING_BYTES, 'the ls-refs answer'), { maxPackets: this.opts.maxRefs + 2000 });
      const listing = await readLsRefs(reader, this.opts.maxRefs);
      for await (const _ of reader.rest());
      const keep = (n: string) => prefixes.some((p) => n.startsWith(p));
      return { ...listing, refs: listing.refs.filter((r) => keep(r.name)) };
    }).finally(close);
  }

  /**
   * The pack for these wants (haves: what we already have), as the bytes of band 1: one request,
   * `done` included, so the answer is the pack. Progress (band 2) goes to the log; band 3 is an
   * error naming the upstream's message. The pack is bounded by maxPackBytes, everything else by
   * MAX_CHATTER_BYTES.
   */
  async *fetchPack(wants: string[], haves: string[], onBytes?: (bytes: number) => void): AsyncGenerator<Buffer> {
    const ad = this.ad ?? (await this.discover());
    const request = ad.protocol === 2 ? fetchRequestV2(ad.caps, wants, haves) : fetchRequestV0(ad.caps, wants, haves);
    const { chunks, close } = await this.post(request, ad.protocol === 2);
    const maxPack = this.opts.maxPackBytes;
    // The whole answer is bounded too: pack, framing (5 bytes a packet) and chatter.
    const reader = new PktReader(chunks(maxPack + Math.ceil(maxPack / 1000) * 5 + MAX_CHATTER_BYTES + 65536, 'the fetch answer'));
    let pack = 0;
    const countPack = (n: number) => {
      pack += n;
      if (pack > maxPack) throw new AppError('too_large', 'UpstreamPackTooLarge', `upstream ${this.url}: the pack exceeds ${maxPack} bytes (PACKHUB_MIRROR_MAX_PACK_BYTES)`);
      onBytes?.(pack);
    };
    try {
      if (ad.protocol === 2) await readUntilPackfileV2(reader);
      else await readAckV0(reader);
      const sideband = ad.protocol === 2 ? '64k' : v0Sideband(ad.caps);
      if (sideband === 'none') {
        for await (const c of reader.rest()) {
          countPack(c.length);
          yield c;
        }
        return;
      }
      let chatter = 0;
      let progress = '';
      let logged = 0;
      const logProgress = (text: string) => {
        progress += text;
        // git redraws progress with \r: only finished lines are logged.
        for (let nl = progress.search(/[\r\n]/); nl >= 0; nl = progress.search(/[\r\n]/)) {
          const line = progress.slice(0, nl).trim();
          const isFinal = progress[nl] === '\n';
          progress = progress.slice(nl + 1);
          if (line && isFinal && logged < MAX_PROGRESS_LOG) {
            logged += line.length;
            this.opts.log.info({ upstream: this.url, progress: line.slice(0, 500) }, 'upstream progress');
          }
        }
        if (progress.length > 4096) progress = '';
      };
      for (;;) {
        const p = await reader.read();
        if (p === null) throw new GitFormatError('the fetch answer ended before the pack was complete (no flush)');
        if (p.kind === 'flush') {
          for await (const _ of reader.rest()); // the end of the answer (nothing, normally)
          break;
        }
        if (p.kind !== 'data' || p.data.length === 0) continue;
        const band = p.data[0];
        if (band === 1) {
          const data = p.data.subarray(1);
          countPack(data.length);
          yield data;
          continue;
        }
        chatter += p.data.length;
        if (chatter > MAX_CHATTER_BYTES) throw new GitFormatError(`more than ${MAX_CHATTER_BYTES} bytes of progress`);
        if (band === 2) logProgress(p.data.toString('utf8', 1));
        else if (band === 3) {
          throw new AppError('unavailable', 'UpstreamFailed', `upstream ${this.url} failed: ${excerpt(p.data.toString('utf8', 1)) || 'fatal error (no message)'}`, { details: { upstream: this.url } });
        } else if (p.data.toString('latin1', 0, 4) === 'ERR ') {
          throw new AppError('unavailable', 'UpstreamFailed', `upstream ${this.url} failed: ${excerpt(p.data.toString('utf8', 4))}`, { details: { upstream: this.url } });
        } else throw new GitFormatError(`bad side-band number ${band}`);
      }
    } catch (err) {
      if (err instanceof GitFormatError) throw new GitFormatError(`upstream ${this.url}: ${err.message}`, err);
      throw err;
    } finally {
      close();
    }
  }
}
