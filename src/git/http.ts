import { once } from 'node:events';
import zlib from 'node:zlib';
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RepoType } from '../db/types.js';
import type { RepoService } from '../repos/repo-service.js';
import { REPO_TYPES, principalOf, repoBase, resolveRepo } from '../http/repo-route.js';
import { pktLine } from './protocol/pkt-line.js';
import { advertiseRefsV0, advertiseV2, resolveHead } from './protocol/refs-advertisement.js';
import { receivePack, type PushCheck } from './receive-pack.js';
import { uploadPackV0, uploadPackV2, type UploadPackRepo } from './upload-pack.js';
import type { GitStore } from './store/git-store.js';
import type { Metrics } from '../http/metrics.js';
import type { QuotaService } from '../repos/quota-service.js';

export interface GitHttpDeps {
  repos: RepoService;
  store: GitStore;
  tmpDir: string;
  maxPushBytes: number;
  pushChecks: PushCheck[];
  quotas: QuotaService;
  metrics: Metrics;
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

/** The request body, decompressed when the client gzipped it. */
function requestBody(req: Request): AsyncIterable<Buffer> {
  const enc = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return req.pipe(zlib.createGunzip());
  if (enc === 'deflate') return req.pipe(zlib.createInflate());
  if (enc && enc !== 'identity') throw new AppError('unsupported_media', 'UnsupportedEncoding', `unsupported Content-Encoding ${enc}`);
  return req;
}

/** A sink that respects backpressure and stops when the client went away. */
function responseSink(res: Response) {
  return async (chunk: Buffer) => {
    if (res.destroyed) throw new AppError('unavailable', 'ClientGone', 'client disconnected');
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  };
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
      if (req.headers['content-type'] !== 'application/x-git-upload-pack-request') {
        throw new AppError('unsupported_media', 'UnsupportedMediaType', 'expected Content-Type application/x-git-upload-pack-request');
      }
      const body = requestBody(req);
      const view = await uploadRepo(repo.id, repo.defaultBranch);
      res.status(200).set(NO_CACHE).type('application/x-git-upload-pack-result');
      const sink = responseSink(res);
      try {
        const sent = await (wantsV2(req) ? uploadPackV2(view, body, sink) : uploadPackV0(view, body, sink));
        if (sent) deps.metrics.fetches.inc({ kind: sent });
      } catch (err) {
        if (!(err instanceof AppError) || err.kind === 'internal') deps.log.error({ err }, 'upload-pack failed');
        // The protocol's own error channel: git prints it as 'remote error: ...'.
        if (!res.destroyed) res.write(pktLine(`ERR ${err instanceof AppError ? err.message : 'internal server error'}\n`));
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
      const body = requestBody(req);
      let started = false;
      const start = () => {
        started = true;
        res.status(200).set(NO_CACHE).type('application/x-git-receive-pack-result');
      };
      try {
        const outcome = await receivePack(
          { store: deps.store, tmpDir: deps.tmpDir, maxPushBytes: deps.maxPushBytes, quotaBytes, checks: deps.pushChecks, log: deps.log },
          repo.id,
          principalOf(res)!.user.id,
          body,
          start,
          responseSink(res),
        );
        if (outcome) deps.metrics.pushes.inc({ result: outcome });
      } catch (err) {
        if (!started) throw err;
        deps.log.error({ err }, 'receive-pack failed');
      }
      res.end();
    });
  }
  return router;
}
