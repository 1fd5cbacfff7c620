import path from 'node:path';
import express, { type Express, type Response } from 'express';
import type { Config } from './core/config.js';

/**
 * Origins the browser may send LFS uploads to besides the hub itself: on S3 storage, presigned PUT
 * URLs point at the (public) S3 endpoint, or at AWS when no endpoint is configured.
 */
function storageOrigins(config: Readonly<Config>): string[] {
  if (config.storage.kind !== 's3') return [];
  const s3 = config.storage.s3;
  const endpoint = s3.publicEndpoint ?? s3.endpoint;
  if (!endpoint) return ['https://*.amazonaws.com'];
  const u = new URL(endpoint);
  // Virtual-hosted-style URLs put the bucket in the host name.
  return s3.forcePathStyle ? [u.origin] : [u.origin, `${u.protocol}//*.${u.host}`];
}

/**
 * The web UI's Content-Security-Policy: scripts, styles, fonts and fetches from the hub only (no
 * inline script, no eval); images also from http(s) and data: URLs (README pictures; <img> runs no
 * script); no plugins, no <base>, forms post to the hub, and no framing (clickjacking).
 */
export function uiCsp(config: Readonly<Config>): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: http: data:",
    "font-src 'self'",
    `connect-src ${["'self'", ...storageOrigins(config)].join(' ')}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The hashing worker of LFS uploads runs hash-wasm, which compiles WebAssembly: it alone may
 * ('wasm-unsafe-eval' compiles WebAssembly and permits no JavaScript eval). A dedicated worker
 * is governed by the policy of its own script response, so the page keeps script-src 'self'.
 */
const WORKER_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; frame-ancestors 'none'";
const WORKER_RE = /(?:^|\/)hash-worker-[\w-]+\.js$/;

function securityHeaders(res: Response, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

/** Paths that belong to the API, the assets and transfers: never answered with the UI's page. */
const NOT_UI = /^\/(?:api|ui-api|assets|lfs)(?:\/|$)/;

/** A browser navigating: it asks for HTML by name (git, git-lfs and the HF clients never do). */
const wantsHtml = (accept: string | undefined) => !!accept && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);

/**
 * The web UI (built by `npm run build`): index at /, hashed assets under /assets, each with the UI's
 * security headers. Registered after every other route: a GET or HEAD that none of them answered and
 * that asks for HTML (a browser opening /{ns}/{name}, /{ns}/{name}/tree/{rev}/{path}, /settings/tokens,
 * /{ns}/{name}/discussions[/{num}[/files]] and /datasets/ or /spaces/ forms of these, ...) gets index.html too, and the UI's router shows the page. The page is the same for every path
 * (no data in it), so it tells nothing about which repositories exist.
 */
export function serveUi(app: Express, config: Readonly<Config>, uiDir: string): void {
  const csp = uiCsp(config);
  app.use(
    '/assets',
    express.static(path.join(uiDir, 'assets'), {
      immutable: true,
      maxAge: '1y',
      fallthrough: false,
      setHeaders: (res, file) => securityHeaders(res as unknown as Response, WORKER_RE.test(file) ? WORKER_CSP : csp),
    }),
  );
  const sendIndex = (res: Response) => {
    securityHeaders(res, csp);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Vary', 'Accept');
    res.sendFile(path.join(uiDir, 'index.html'), (err) => {
      if (err && !res.headersSent) res.status(503).type('text/plain').send('The web UI is not built: run npm run build.\n');
    });
  };
  app.get('/', (_req, res) => sendIndex(res));
  app.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_UI.test(req.path) || !wantsHtml(req.headers.accept)) return next();
    sendIndex(res);
  });
}
