import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RepoRecord } from '../db/types.js';
import { can } from '../auth/permissions.js';
import { REPO_TYPES, baseUrl, principalOf, repoBase, resolveRepo } from '../http/repo-route.js';
import { fileReader, sendRange } from '../http/send-file.js';
import type { RepoService } from '../repos/repo-service.js';
import { objectError, parseBatchRequest, type Action, type BatchObject } from './batch.js';
import { ContentStore, lfsKey, stagingKey } from './content-store.js';
import type { Possession } from './possession.js';
import type { LfsLock, LfsRecords } from './records.js';
import { signGrant, verifyGrant, type Grant } from './signed-url.js';
import { isValidOid } from './pointer.js';
import type { QuotaService } from '../repos/quota-service.js';

export interface LfsHttpDeps {
  repos: RepoService;
  records: LfsRecords;
  content: ContentStore;
  secret: string;
  publicUrl?: string;
  /** Objects this large are uploaded through the server (S3 multipart); a single presigned PUT stops at 5 GiB. */
  proxyUploadBytes: number;
  quotas: QuotaService;
  /** Who may link which object (src/lfs/possession.ts). */
  possession: Possession;
  /** Throws unless the caller may download the repository's content (gated repositories, src/community/gated.ts). */
  contentGate?: (req: Request, res: Response, repo: RepoRecord) => Promise<void>;
  log: Logger;
}

const LFS_JSON = 'application/vnd.git-lfs+json';
const EXPIRES_IN = 3600;

const lockJson = (l: LfsLock) => ({ id: l.id, path: l.path, locked_at: l.lockedAt.toISOString(), owner: { name: l.ownerName } });

export function createLfsRouter(deps: LfsHttpDeps): Router {
  const router = express.Router();
  const json = express.json({ type: [LFS_JSON, 'application/json'], limit: '16mb' });
  const grantUrl = (req: Request, g: Omit<Grant, 'exp'>) =>
    `${baseUrl(req, deps.publicUrl)}/lfs/objects/${g.oid}?t=${signGrant(deps.secret, { ...g, exp: Math.floor(Date.now() / 1000) + EXPIRES_IN })}`;
  const send = (res: Response, status: number, body: unknown) => res.status(status).type(LFS_JSON).send(JSON.stringify(body));

  for (const type of REPO_TYPES) {
    const base = `${repoBase(type)}/info/lfs`;

    router.post(`${base}/objects/batch`, json, async (req, res) => {
      res.locals.surface = 'lfs';
      const parsed = parseBatchRequest(req.body);
      if (typeof parsed === 'string') throw new AppError('unprocessable', 'InvalidBatch', parsed);
      // An upload names the branch it is for. The Hub's clients (the ones that offer the 'multipart'
      // transfer) leave the ref out for a pull request's files, and anyone who may read the
      // repository may open a pull request; git-lfs always names the ref, so it needs write access.
      const forPullRequest = parsed.operation === 'upload' && !parsed.ref && !!parsed.transfers?.includes('multipart');
      const repo = await resolveRepo(deps.repos, req, res, 'lfs', type, parsed.operation === 'upload' && !forPullRequest ? 'write' : 'read');
      if (parsed.operation === 'download') await deps.contentGate?.(req, res, repo);
      const principal = principalOf(res)!;
      if (forPullRequest) {
        if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required to upload');
        if (principal.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this token is read-only: a write-scope token is needed');
      }
      const valid = parsed.objects.filter((o) => !objectError(o.oid, o.size));
      const linked = await deps.records.linked(repo.id, [...new Set(valid.map((o) => o.oid))]);
      if (parsed.operation === 'upload') {
        // Refused before any byte is stored: what this batch would add to the namespace.
        const adding = valid.filter((o) => !linked.has(o.oid)).reduce((n, o) => n + o.size, 0);
        if (adding > 0) await deps.quotas.assertFits(repo, adding);
      }
      const objects: BatchObject[] = [];
      for (const { oid, size } of parsed.objects) {
        const bad = objectError(oid, size);
        if (bad) {
          objects.push(bad);
          continue;
        }
        if (parsed.operation === 'upload') {
          // Objects linked to this repo are done, and so are objects linked to a repo the caller can
          // read (linked here now). Anything else must be uploaded (and proven) even when the hub
          // holds the bytes for another repo: knowing an oid grants nothing.
          if (linked.has(oid) && (await deps.records.objectSize(oid)) === size) {
            objects.push({ oid, size });
            continue;
          }
          if (await deps.possession.adopt(repo, principal, oid, size)) {
            objects.push({ oid, size });
            continue;
          }
          const grant = { op: 'upload' as const, repoId: repo.id, oid, size, userId: principal.user.id };
          let upload: Action;
          if (deps.content.blobs.presignPut && size < deps.proxyUploadBytes) {
            // Straight to the bucket, but to this upload's staging key: verify promotes it. Clients
            // that offer the 'multipart' transfer (the Hub's Python and JS clients) send no action
            // headers on a basic PUT, so their URL cannot require the checksum header; their
            // uploads are verified by reading them back.
            const signed = await deps.content.blobs.presignPut(stagingKey(repo.id, principal.user.id, oid), EXPIRES_IN, {
              size,
              ...(parsed.transfers?.includes('multipart') ? {} : { sha256: oid }),
            });
            upload = { href: signed.url, ...(Object.keys(signed.headers).length ? { header: signed.headers } : {}), expires_in: EXPIRES_IN };
          } else upload = { href: grantUrl(req, grant), expires_in: EXPIRES_IN };
          const verify = { href: `${grantUrl(req, grant).replace('/lfs/objects/', '/lfs/verify/')}`, expires_in: EXPIRES_IN };
          objects.push({ oid, size, authenticated: true, actions: { upload, verify } });
        } else {
          const stored = linked.has(oid) ? await deps.records.objectSize(oid) : null;
          if (stored === null) {
            objects.push({ oid, size, error: { code: 404, message: 'Object does not exist' } });
            continue;
          }
          const href = deps.content.blobs.presignGet
            ? await deps.content.blobs.presignGet(lfsKey(oid), EXPIRES_IN)
            : grantUrl(req, { op: 'download', repoId: repo.id, oid, size: stored });
          objects.push({ oid, size: stored, authenticated: true, actions: { download: { href, expires_in: EXPIRES_IN } } });
        }
      }
      send(res, 200, { transfer: 'basic', objects, hash_algo: 'sha256' });
    });

    router.post(`${base}/locks`, json, async (req, res) => {
      const repo = await resolveRepo(deps.repos, req, res, 'lfs', type, 'write');
      const path = typeof req.body?.path === 'string' ? req.body.path : '';
      if (!path || path.includes('\0')) throw new AppError('unprocessable', 'InvalidPath', 'path is required');
      try {
        const lock = await deps.records.locks.create({ repoId: repo.id, path, ownerId: principalOf(res)!.user.id, ref: req.body?.ref?.name ?? null });
        send(res, 201, { lock: lockJson(lock) });
      } catch (err) {
        if (err instanceof AppError && err.code === 'LockExists') {
          send(res, 409, { lock: lockJson(err.details!.lock as LfsLock), message: 'already created lock' });
          return;
        }
        throw err;
      }
    });

    router.get(`${base}/locks`, async (req, res) => {
      const repo = await resolveRepo(deps.repos, req, res, 'lfs', type, 'read');
      const q = req.query as Record<string, string | undefined>;
      const limit = Math.min(Math.max(Number(q.limit) || 100, 1), 1000);
      const page = await deps.records.locks.list(repo.id, { path: q.path, id: q.id, cursor: q.cursor, limit });
      send(res, 200, { locks: page.locks.map(lockJson), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) });
    });

    router.post(`${base}/locks/verify`, json, async (req, res) => {
      const repo = await resolveRepo(deps.repos, req, res, 'lfs', type, 'write');
      const me = principalOf(res)!.user.id;
      const limit = Math.min(Math.max(Number(req.body?.limit) || 100, 1), 1000);
      const page = await deps.records.locks.list(repo.id, { cursor: req.body?.cursor, limit });
      send(res, 200, {
        ours: page.locks.filter((l) => l.ownerId === me).map(lockJson),
        theirs: page.locks.filter((l) => l.ownerId !== me).map(lockJson),
        ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
      });
    });

    router.post(`${base}/locks/:id/unlock`, json, async (req, res) => {
      const repo = await resolveRepo(deps.repos, req, res, 'lfs', type, 'write');
      const principal = principalOf(res)!;
      const lock = await deps.records.locks.get(repo.id, String(req.params.id));
      if (!lock) throw new AppError('not_found', 'LockNotFound', 'unable to find lock');
      if (lock.ownerId !== principal.user.id) {
        if (!req.body?.force) throw new AppError('forbidden', 'LockOwnedByOther', `lock is owned by ${lock.ownerName}; use --force to remove it`);
        if (!can(principal, repo, 'admin')) throw new AppError('forbidden', 'Forbidden', 'only repository admins may force-unlock');
      }
      await deps.records.locks.delete(repo.id, lock.id);
      send(res, 200, { lock: lockJson(lock) });
    });
  }

  // Transfers addressed by a signed grant in the URL: no hub token needed (HF clients send none).
  const grantFrom = (req: Request, res: Response, op: Grant['op']): Grant => {
    res.locals.surface = 'lfs';
    const g = verifyGrant(deps.secret, String(req.query.t ?? ''));
    if (!g || g.op !== op || g.oid !== req.params.oid) throw new AppError('forbidden', 'InvalidGrant', 'this transfer URL is invalid or expired; request a new batch');
    return g;
  };

  router.put('/lfs/objects/:oid', async (req, res) => {
    const g = grantFrom(req, res, 'upload');
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) !== g.size) {
      throw new AppError('invalid', 'SizeMismatch', `Content-Length ${declared} does not match the object size ${g.size}`);
    }
    // Verified while streaming; stored only if the hub does not hold the object yet (else the
    // bytes just prove possession): an upload never replaces stored content with other bytes.
    await deps.possession.receive(g.repoId, g.oid, g.size, req);
    res.status(200).end();
  });

  router.post('/lfs/verify/:oid', json, async (req, res) => {
    const g = grantFrom(req, res, 'upload');
    const size = Number(req.body?.size ?? g.size);
    if (req.body?.oid && req.body.oid !== g.oid) throw new AppError('unprocessable', 'OidMismatch', 'oid does not match the verify URL');
    if (size !== g.size) throw new AppError('unprocessable', 'SizeMismatch', 'size does not match the uploaded object');
    // Linked already (uploaded through packhub), or staged by this grant's user for this repo and
    // verified now; only that staging copy is ever deleted.
    await deps.possession.claim(g.repoId, { userId: g.userId ?? 0, principal: null }, g.oid, g.size);
    send(res, 200, { message: 'verified' });
  });

  router.get('/lfs/objects/:oid', async (req, res) => {
    const g = grantFrom(req, res, 'download');
    await serveObject(deps.content, req, res, g.oid, g.size);
  });

  return router;
}

/** Stream a stored LFS object, honouring a single `Range: bytes=a-b` (206). */
export async function serveObject(content: ContentStore, req: IncomingMessage, res: ServerResponse, oid: string, size: number): Promise<void> {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', `"${oid}"`);
  res.setHeader('Content-Type', 'application/octet-stream');
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.statusCode = 200;
    res.setHeader('Content-Length', String(size));
  }
  const accel = content.accelPath(oid);
  if (accel) {
    // nginx sends the file, ranges included; packhub's headers above go along (see docker/nginx.conf).
    res.removeHeader('Content-Length');
    res.removeHeader('Content-Range');
    res.statusCode = 200;
    res.setHeader('X-Accel-Redirect', accel);
    res.end();
    return;
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const fh = await content.openFile(oid);
  if (!fh) {
    await pipeline(await content.open(oid, range ?? undefined), res);
    return;
  }
  try {
    await sendRange(res, fileReader(fh), range?.start ?? 0, range ? range.end : size - 1);
  } finally {
    await fh.close();
  }
  res.end();
}

export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or malformed: serve the whole body
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export const newLockId = () => crypto.randomUUID();
export { isValidOid };
