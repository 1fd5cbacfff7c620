import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import type { RepoRecord, RepoType } from '../db/types.js';
import { authorize, can, type RepoAction } from '../auth/permissions.js';
import { RedirectTo } from '../core/errors.js';
import type { Principal } from '../auth/principal.js';
import { movedLocation, repoRefFrom, TYPE_PREFIX, type RepoService } from '../repos/repo-service.js';
import type { Surface } from './error-handler.js';
import { protocolOf } from './plain.js';

export const REPO_TYPES: RepoType[] = ['model', 'dataset', 'space'];

/** Route prefix for a repo type's git-side URLs: `/:ns/:repo`, `/datasets/:ns/:repo`, `/spaces/:ns/:repo`. */
export const repoBase = (type: RepoType) => (TYPE_PREFIX[type] ? `/${TYPE_PREFIX[type]}/:ns/:repo` : '/:ns/:repo');

export function principalOf(res: { locals: Record<string, any> }): Principal | null {
  return (res.locals.principal as Principal | null | undefined) ?? null;
}

/** Resolve the repository named by the route and check the caller may do `action` on it. */
export async function resolveRepo(repos: RepoService, req: Request, res: Response, surface: Surface, type: RepoType, action: RepoAction): Promise<RepoRecord> {
  res.locals.surface = surface;
  const params = req.params as Record<string, string>;
  const ref = repoRefFrom(type, params.ns!, params.repo!);
  const found = await repos.locate(ref);
  if (found?.moved) redirectMoved(req, principalOf(res), ref, found.repo);
  const repo = found?.repo ?? null;
  authorize(principalOf(res), repo, action);
  return repo;
}

/**
 * A request named a repository by a name it was moved away from: a 307 to the same URL under the
 * current name, for a caller who may read it (git follows it on info/refs, the HF clients on every
 * call). Anyone else learns nothing: the old name is missing for them. Always throws.
 */
export function redirectMoved(req: Request, principal: Principal | null, from: { namespace: string; name: string }, repo: RepoRecord): never {
  const location = can(principal, repo, 'read') ? movedLocation(req.originalUrl, from, repo) : null;
  if (location) throw new RedirectTo(location);
  authorize(principal, null, 'read');
  throw new Error('unreachable');
}

/** The externally visible base URL: configured, or taken from the request. */
export function baseUrl(req: IncomingMessage, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  return `${protocolOf(req)}://${req.headers.host}`;
}
