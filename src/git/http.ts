import { once } from 'node:events';
import zlib from 'node:zlib';
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RepoRecord, RepoType } from '../db/types.js';
import type { RepoService } from '../repos/repo-service.js';
import { REPO_TYPES, principalOf, repoBase, resolveRepo } from '../http/repo-route.js';
import { pktLine } from './protocol/pkt-line.js';
import { advertiseRefsV0, advertiseV2, resolveHead } from './protocol/refs-advertisement.js';
import { RECEIVE_PACK_LIMITS, receivePack, type PushCheck } from './receive-pack.js';
import { ReportedError, uploadPackV0, uploadPackV2, type UploadPackRepo } from './upload-pack.js';
import type { GitStore } from './store/git-store.js';
import type { Metrics } from '../http/metrics.js';
import type { QuotaService } from '../repos/quota-service.js';

export interface GitHttpDeps {
  repos: RepoService;
  store: GitStore;
  tmpDir: string;
  maxPushBytes: number;
  /** PACKHUB_MAX_OBJECT_BYTES (unlimited when not given). */
  maxObjectBytes?: number;
  pushChecks: PushCheck[];
  quotas: QuotaService;
  metrics: Metrics;
  /** Throws unless the caller may fetch the repository's content (gated repositories, src/community/gated.ts). */
  contentGate?: (req: Request, res: Response, repo: RepoRecord) => Promise<void>;
  log: Logger;
}

const NO_CACHE = {
  'Cache-Control': 'no-cache, max-age=0, must-revalidate',
  Pragma: 'no-cache',
  Expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
};

function wantsV2(req: Request): boolean {
  const h = req.headers['git-protocol'];
  return typeof h === 'string' && h.split(':').includes('version=2');
}

/** Largest upload-pack request body, counted after decompression (a negotiation of a huge repository is a few MB). */
export const MAX_UPLOAD_PACK_REQUEST_BYTES = 32 << 20;

/**
 * Counts the bytes of a (decompressed) body and stops with a 413 past `limit`: a gzip body is
 * bounded by what it inflates to, not by what arrives.
 */
export async function* boundedBody(source: AsyncIterable<Buffer>, limit: number, what: string): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > limit) throw new AppError('too_large', 'RequestTooLarge', `${what} request body exceeds ${limit} bytes (after decompression)`);
      yield chunk;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new AppError('invalid', 'CorruptBody', `${what} request body: corrupt compressed data`, { cause: err });
    throw err;
  }
}

/** The request body, decompressed when the client gzipped it, and bounded (after decompression) by `limit`. */
function requestBody(req: Request, limit: number, what: string): AsyncIterable<Buffer> {
  const enc = (req.headers['content-encoding'] ?? '').toLowerCase();
  let source: AsyncIterable<Buffer>;
  if (enc === 'gzip' || enc === 'x-gzip') source = req.pipe(zlib.createGunzip());
  else if (enc === 'deflate') source = req.pipe(zlib.createInflate());
  else if (enc && enc !== 'identity') throw new AppError('unsupported_media', 'UnsupportedEncoding', `unsupported Content-Encoding ${enc}`);
  // Stopping early must not destroy the request: the socket still has to carry the answer.
  else source = req.iterator({ destroyOnReturn: false });
  return boundedBody(source, limit, what);
}

/**
 * A sink that respects backpressure and stops when the client went away. Each wait removes the
 * listeners it added (a response gets thousands of writes: one left-over 'close' listener per
 * wait is a leak).
 */
export function responseSink(res: Response) {
  return async (chunk: Buffer) => {
    if (res.destroyed) throw new AppError('unavailable', 'ClientGone', 'client disconnected');
    if (!res.write(chunk)) await drainOrClose(res);
  };
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
export async function drainOrClose(stream: NodeJS.EventEmitter): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([once(stream, 'drain', { signal: ac.signal }), once(stream, 'close', { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}

export function createGitRouter(deps: GitHttpDeps): Router {
  const router = express.Router();

  const repoFor = (req: Request, res: Response, type: RepoType, action: 'read' | 'write') =>
    resolveRepo(deps.repos, req, res, 'git', type, action);

  const uploadRepo = async (repoId: string, defaultBranch: string): Promise<UploadPackRepo> => {
    const refs = await deps.store.refs(repoId);
    return { refs, head: resolveHead(refs, defaultBranch), objects: () => deps.store.objects(repoId), responses: deps.store.responses };
  };

  for (const type of REPO_TYPES) {
    const base = repoBase(type);

    router.get(`${base}/info/refs`, async (req, res) => {
      res.locals.surface = 'git';
      const service = req.query.service;
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
        throw new AppError('forbidden', 'DumbProtocol', 'packhub speaks the smart HTTP protocol only; use git 1.6.6 or newer');
      }
      const repo = await repoFor(req, res, type, service === 'git-receive-pack' ? 'write' : 'read');
      if (service === 'git-upload-pack') await deps.contentGate?.(req, res, repo);
      res.set(NO_CACHE).type(`application/x-${service}-advertisement`);
      if (service === 'git-upload-pack' && wantsV2(req)) {
        res.send(advertiseV2());
        return;
      }
      const refs = await deps.store.refs(repo.id);
      res.send(advertiseRefsV0(service, refs, resolveHead(refs, repo.defaultBranch), true));
    });

    router.post(`${base}/git-upload-pack`, async (req, res) => {
      const repo = await repoFor(req, res, type, 'read');
      await deps.contentGate?.(req, res, repo);
      if (req.headers['content-type'] !== 'application/x-git-upload-pack-request') {
        throw new AppError('unsupported_media', 'UnsupportedMediaType', 'expected Content-Type application/x-git-upload-pack-request');
      }
      const body = requestBody(req, MAX_UPLOAD_PACK_REQUEST_BYTES, 'upload-pack');
      const view = await uploadRepo(repo.id, repo.defaultBranch);
      res.status(200).set(NO_CACHE).type('application/x-git-upload-pack-result');
      const sink = responseSink(res);
      try {
        const sent = await (wantsV2(req) ? uploadPackV2(view, body, sink) : uploadPackV0(view, body, sink));
        if (sent) deps.metrics.fetches.inc({ kind: sent });
      } catch (err) {
        // What the client still sends is read and dropped (not inflated), so the answer reaches it.
        if (!req.readableEnded) {
          req.unpipe();
          req.resume();
        }
        const cause = err instanceof ReportedError ? err.cause : err;
        if (!(cause instanceof AppError) || cause.kind === 'internal') deps.log.error({ err: cause }, 'upload-pack failed');
        else deps.log.info({ err: cause.message }, 'upload-pack refused');
        // Nothing sent yet and the request was too large: a plain 413 (git prints the message).
        if (!res.headersSent && cause instanceof AppError && cause.kind === 'too_large') {
          throw cause;
        }
        // The protocol's own error channel: git prints it as 'remote error: ...'. Once the side-band
        // has started, the error went out on band 3 already (see ReportedError).
        if (!(err instanceof ReportedError) && !res.destroyed) res.write(pktLine(`ERR ${cause instanceof AppError ? cause.message.slice(0, 1000) : 'internal server error'}\n`));
      }
      res.end();
    });

    router.post(`${base}/git-receive-pack`, async (req, res) => {
      const repo = await repoFor(req, res, type, 'write');
      if (req.headers['content-type'] !== 'application/x-git-receive-pack-request') {
        throw new AppError('unsupported_media', 'UnsupportedMediaType', 'expected Content-Type application/x-git-receive-pack-request');
      }
      const quotaBytes = await deps.quotas.remaining(repo);
      const declared = Number(req.headers['content-length'] ?? NaN);
      // A body known to be over the quota is refused before it is read.
      if (Number.isFinite(declared) && declared > quotaBytes + 65536) throw deps.quotas.exceeded(repo, declared, quotaBytes);
      // Bounded after decompression too: a gzip body cannot inflate far past the push limit (the pack
      // itself is held to maxPushBytes as it arrives, the commands by RECEIVE_PACK_LIMITS).
      const body = requestBody(req, deps.maxPushBytes + 2 * RECEIVE_PACK_LIMITS.bytes, 'receive-pack');
      let started = false;
      const start = () => {
        started = true;
        res.status(200).set(NO_CACHE).type('application/x-git-receive-pack-result');
      };
      try {
        const outcome = await receivePack(
          {
            store: deps.store,
            tmpDir: deps.tmpDir,
            maxPushBytes: deps.maxPushBytes,
            maxObjectBytes: deps.maxObjectBytes,
            quotaBytes,
            checks: deps.pushChecks,
            log: deps.log,
            defaultBranch: repo.defaultBranch,
          },
          repo.id,
          principalOf(res)!.user.id,
          body,
          start,
          responseSink(res),
        );
        if (outcome) deps.metrics.pushes.inc({ result: outcome });
      } catch (err) {
        if (!req.readableEnded) {
          req.unpipe();
          req.resume();
        }
        if (!started) throw err;
        deps.log.error({ err }, 'receive-pack failed');
      }
      res.end();
    });
  }
  return router;
}
