import type { Request, Response } from 'express';
import type { RepoRecord, RepoType } from '../db/types.js';
import { authorize, type RepoAction } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { repoRefFrom, TYPE_PREFIX, type RepoService } from '../repos/repo-service.js';
import type { Surface } from './error-handler.js';

export const REPO_TYPES: RepoType[] = ['model', 'dataset', 'space'];

/** Route prefix for a repo type's git-side URLs: `/:ns/:repo`, `/datasets/:ns/:repo`, `/spaces/:ns/:repo`. */
export const repoBase = (type: RepoType) => (TYPE_PREFIX[type] ? `/${TYPE_PREFIX[type]}/:ns/:repo` : '/:ns/:repo');

export function principalOf(res: Response): Principal | null {
  return (res.locals.principal as Principal | null | undefined) ?? null;
}

/** Resolve the repository named by the route and check the caller may do `action` on it. */
export async function resolveRepo(repos: RepoService, req: Request, res: Response, surface: Surface, type: RepoType, action: RepoAction): Promise<RepoRecord> {
  res.locals.surface = surface;
  const params = req.params as Record<string, string>;
  const repo = await repos.find(repoRefFrom(type, params.ns!, params.repo!));
  authorize(principalOf(res), repo, action);
  return repo;
}

/** The externally visible base URL: configured, or taken from the request. */
export function baseUrl(req: Request, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  return `${req.protocol}://${req.get('host')}`;
}
