import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * What handlers shared by Express routes and the download lane (src/http/lane.ts) use of a request
 * and a response: node's own objects plus the two properties both paths give them (Express's
 * Request and Response have them already). Code written against these types runs without Express's
 * request and response prototypes, whose per-request swap makes every property access on them slow.
 */
export interface PlainRequest extends IncomingMessage {
  /** The request's URL as received (Express rewrites `url` inside mounted routers, never this). */
  originalUrl: string;
}

export interface PlainResponse extends ServerResponse {
  /** Per-request values: `principal`, `surface` (as Express's `res.locals`). */
  locals: Record<string, any>;
}

/** The client's address (packhub trusts no proxy header for it, as Express's default `req.ip`). */
export const clientIp = (req: IncomingMessage): string => req.socket.remoteAddress ?? '';

/** `http` or `https`, by the connection (no proxy header is trusted, as Express's default `req.protocol`). */
export const protocolOf = (req: IncomingMessage): string => ((req.socket as TLSSocket).encrypted ? 'https' : 'http');

/** A whole body with its type and length (nothing written for HEAD: node drops the body itself). */
export function sendBody(res: ServerResponse, contentType: string, body: string | Buffer): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  res.end(body);
}

export const sendJson = (res: ServerResponse, value: unknown): void => sendBody(res, 'application/json; charset=utf-8', JSON.stringify(value));
