import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Router } from 'express';
import { notFound } from '../../core/errors.js';
import { parseRange, serveObject } from '../../lfs/http.js';
import { MAX_POINTER_SIZE, parsePointer, type LfsPointer } from '../../lfs/pointer.js';
import type { RepoRecord } from '../../db/db.js';
import { UNGATED_FILES } from '../../community/gated.js';
import { blobFacts } from '../blob-facts.js';
import { entryAt } from '../tree.js';
import { clientIp, type PlainRequest, type PlainResponse } from '../../http/plain.js';
import type { LaneHandler } from '../../http/lane.js';
import { rawSegments, splitRevPath, type HfContext } from './context.js';
import { REPO_PREFIXES, repoFileRoutes, type RepoId } from './repo-routes.js';

const OPS = ['resolve', 'raw'] as const;

/**
 * `GET|HEAD /{prefix}{R}/resolve/{rev}/{path}` (LFS content behind pointers) and `/raw/` (the stored
 * file as is), as Express routes: for the requests the download lane leaves to the application
 * (see resolveLane).
 */
export function resolveRoutes(ctx: HfContext, router: Router): void {
  repoFileRoutes(router, OPS, ['get', 'head'], (req, res, id, kind, rest) => download(ctx, req, res, id, kind, rest));
}

/**
 * The same downloads in the download lane (src/http/lane.ts): the handler for a URL the Express
 * routes above would take with a repository (models first, then datasets and spaces, the operation
 * and the type prefix matched case-insensitively as Express matches them), else null. A URL that
 * names no repository (`/gpt2/resolve/...`) and `/api/` paths are left to the application.
 */
export function resolveLane(ctx: HfContext): (url: string) => LaneHandler | null {
  const opOf = (seg: string | undefined) => OPS.find((op) => op === seg?.toLowerCase()) ?? null;
  const prefixed = REPO_PREFIXES.filter((p) => p.prefix);
  return (url) => {
    if (url.startsWith('/api/') || url.startsWith('/ui-api/')) return null;
    const q = url.indexOf('?');
    const segs = (q < 0 ? url : url.slice(0, q)).split('/');
    /** `{ns}/{name}/{op}/{rest}` after `skip - 2` segments. */
    const at = (skip: number, type: RepoId['type']): LaneHandler | null => {
      const [ns, name, opSeg] = segs.slice(skip - 2, skip + 1);
      const op = opOf(opSeg);
      const rest = rawSegments(url, skip);
      // `*rest` needs at least one character after `<op>/`.
      if (!ns || !name || !op || rest.length === 0) return null;
      return (req, res) => download(ctx, req, res, { type, ns: decodeURIComponent(ns), name: decodeURIComponent(name) }, op, rest);
    };
    const model = opOf(segs[3]) ? at(3, 'model') : null;
    if (model) return model;
    const typed = prefixed.find((p) => p.prefix.slice(1) === segs[1]!.toLowerCase());
    return typed ? at(4, typed.type) : null;
  };
}

/**
 * One file of a repository at a revision: `rest` is the raw `{rev}/{path}`. Range requests, ETag and
 * X-Repo-Commit; for `resolve`, an LFS pointer is answered with its object (X-Linked-Etag/-Size),
 * redirected to storage where it can presign.
 */
export async function download(ctx: HfContext, req: PlainRequest, res: PlainResponse, id: RepoId, kind: 'resolve' | 'raw', rest: string[]): Promise<void> {
  const { deps } = ctx;
  res.locals.surface = 'hf';
  const repo = await ctx.loadRepo(res, id.type, id.ns, id.name, 'read');
  const { rev, path } = splitRevPath(rest);
  // A download counts once its answer went out whole and was no error (src/repos/downloads.ts).
  const counter = kind === 'resolve' && !req.headers['x-packhub-ui'] ? deps.downloads : null;
  if (counter) res.on('finish', () => res.statusCode < 400 && counter.counts(repo, path.replace(/^\/+/, ''), clientIp(req)) && counter.add(repo.id));
  // Gated before the revision and the file are looked at; the model card and licence stay readable through resolve.
  if (!(kind === 'resolve' && UNGATED_FILES.has(path))) await ctx.assertContent(req, res, repo);
  const { oid: commitOid, objects, shown } = await ctx.resolveAt(repo, rev);
  res.setHeader('X-Repo-Commit', shown);
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox").setHeader('X-Content-Type-Options', 'nosniff'); // user content: never run in the hub's origin
  const clean = path.replace(/^\/+/, '');
  const e = clean ? entryAt(objects, commitOid, clean) : null;
  if (!e || e.mode === '40000' || e.mode === '160000') throw notFound('EntryNotFound', 'Entry not found');
  // A HEAD reads no content: the blob's size and the LFS pointer it is, if any, are remembered per
  // blob id (src/hf/blob-facts.ts). The Python client asks HEAD of every file each time it runs.
  const facts = req.method === 'HEAD' ? blobFacts(objects, e.oid) : null;
  // Large files stream from the pack when stored whole (never held in memory); LFS pointers are small.
  const { size, object } = facts ? { size: facts.size, object: null } : objects.readUpTo(e.oid, 1 << 20);
  // A delta is resolved into a cached file and streamed from there (deps.store.streamBlob): never held whole either.
  const streamed = facts || object ? null : await deps.store.streamBlob(objects, e.oid);
  const blob = object?.data ?? null;
  const pointer = kind !== 'resolve' ? null : facts ? facts.pointer : blob && blob.length < MAX_POINTER_SIZE ? parsePointer(blob) : null;
  res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(clean.split('/').pop()!)}`);
  if (pointer) {
    res.setHeader('X-Linked-Etag', `"${pointer.oid}"`);
    res.setHeader('X-Linked-Size', String(pointer.size));
    const linked = await deps.lfs.linked(repo.id, [pointer.oid]);
    if (!linked.has(pointer.oid)) {
      // A mirror fetches it from the upstream while the client receives it (HEAD answers from the pointer).
      if (deps.mirror && (await serveRemote(ctx, req, res, repo, commitOid, clean, pointer))) return;
      throw notFound('EntryNotFound', `the LFS object of ${clean} is not stored on this hub`);
    }
    if (deps.content.blobs.presignGet) {
      res.setHeader('ETag', `"${pointer.oid}"`);
      res.statusCode = 302;
      res.setHeader('Location', await deps.content.blobs.presignGet(`lfs/${pointer.oid.slice(0, 2)}/${pointer.oid.slice(2, 4)}/${pointer.oid}`, 3600));
      res.end();
      return;
    }
    await serveObject(deps.content, req, res, pointer.oid, pointer.size);
    return;
  }
  res.setHeader('ETag', `"${e.oid}"`);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'application/octet-stream');
  const range = size === 0 ? null : parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  }
  res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : size));
  if (req.method === 'HEAD') res.end();
  else if (blob) res.end(range ? blob.subarray(range.start, range.end + 1) : blob);
  else await pipeline(streamed!.stream(), byteRange(range), res);
}

/**
 * An LFS object of a mirror that is not stored yet: the download from the upstream is started (or
 * joined) and the client reads it as it arrives; the object is stored once verified. false: the
 * repository is not a mirror.
 */
async function serveRemote(ctx: HfContext, req: PlainRequest, res: PlainResponse, repo: RepoRecord, commit: string, path: string, pointer: LfsPointer): Promise<boolean> {
  const mirror = ctx.deps.mirror!;
  const range = pointer.size === 0 ? null : parseRange(req.headers.range, pointer.size);
  const head = () => {
    res.setHeader('ETag', `"${pointer.oid}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    if (range === 'unsatisfiable') {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${pointer.size}`);
      return;
    }
    if (range) {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${pointer.size}`);
    }
    res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : pointer.size));
  };
  if (req.method === 'HEAD') {
    if (!(await mirror.readOnlyReason(repo))) return false;
    head();
    res.end();
    return true;
  }
  const fill = await mirror.remoteObject(repo, commit, path, pointer);
  if (!fill) return false;
  head();
  if (range === 'unsatisfiable') {
    res.end();
    return true;
  }
  try {
    await fill.sendTo(res, range);
  } catch (err) {
    // Headers are out: a cut is all the client can be told (it never receives a complete wrong file).
    ctx.deps.log.warn({ err: (err as Error).message, oid: pointer.oid }, 'pull-through download to a client ended early');
    res.destroy();
  }
  return true;
}

/** Passes through bytes [start, end] of a stream (all of them without a range). */
function byteRange(range: { start: number; end: number } | null): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const from = pos;
      pos += chunk.length;
      if (!range) return cb(null, chunk);
      const a = Math.max(range.start - from, 0);
      const b = Math.min(range.end + 1 - from, chunk.length);
      cb(null, a < b ? chunk.subarray(a, b) : undefined);
    },
  });
}
