import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/**
 * One HTTP exchange with the upstream through `node:http`/`node:https` and keep-alive agents, for
 * large bodies: the body is the socket's own stream (no web stream in between, no copy per chunk),
 * read at the pace of its consumer. Redirects are not followed here (the caller decides which ones
 * keep the credential); the headers must come within `headersTimeoutMs`, the body has no timeout
 * of its own (the caller watches it for inactivity). `signal` aborts the exchange, body included.
 */
export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  body: Readable;
  /** Drops the body (the socket is closed: a large body is not worth draining). */
  discard(): Promise<void>;
}

/** Sockets kept open to the upstream between requests (a download job fetches one file after another). */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8 }),
};

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export function httpExchange(url: string, opts: { method: string; headers: Record<string, string>; signal?: AbortSignal; headersTimeoutMs: number }): Promise<HttpAnswer> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  if (!secure && u.protocol !== 'http:') return Promise.reject(new Error(`unsupported protocol ${u.protocol}`));
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const req = (secure ? https : http).request(u, { method: opts.method, headers: opts.headers, agent: secure ? agents.https : agents.http });
    let answered = false;
    const onAbort = () => req.destroy(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => req.destroy(new TimeoutError(opts.headersTimeoutMs)), opts.headersTimeoutMs);
    const settle = () => {
      clearTimeout(timer);
    };
    req.once('error', (err) => {
      settle();
      opts.signal?.removeEventListener('abort', onAbort);
      if (!answered) reject(opts.signal?.aborted ? opts.signal.reason : err);
    });
    req.once('response', (res) => {
      answered = true;
      settle();
      // The abort listener stays while the body is read; it goes when the body ends or breaks.
      res.once('close', () => opts.signal?.removeEventListener('abort', onAbort));
      res.once('error', () => undefined);
      const headers = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      resolve({
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? '',
        headers,
        body: res,
        discard: async () => {
          if (!res.complete) res.destroy();
        },
      });
    });
    req.end();
  });
}
