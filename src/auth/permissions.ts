import { AppError } from '../core/errors.js';
import type { RepoRecord } from '../db/types.js';
import type { Principal } from './principal.js';

export type RepoAction = 'read' | 'write' | 'admin';

const RANK: Record<RepoAction, number> = { read: 1, write: 2, admin: 3 };

/** The role a caller has on a namespace: its user (admin), an organization role, or none. */
export function roleIn(principal: Principal | null, namespace: string): RepoAction | null {
  if (!principal) return null;
  if (principal.user.isAdmin || principal.user.name === namespace) return 'admin';
  return principal.orgs.get(namespace) ?? null;
}

/**
 * The one permission policy every surface (git, LFS, HF API, UI) asks. A user owns the repos in
 * their namespace; organization members act by role (read, write, admin); site admins may do
 * anything; writing needs a write-scope token.
 */
export function can(principal: Principal | null, repo: RepoRecord, action: RepoAction): boolean {
  const role = roleIn(principal, repo.namespace);
  if (action === 'read') return !repo.private || role !== null;
  if (!principal || principal.scope !== 'write' || role === null) return false;
  return RANK[role] >= RANK[action];
}

/** May the caller create repositories under this namespace? */
export function canCreateIn(principal: Principal | null, namespace: string): boolean {
  const role = roleIn(principal, namespace);
  return !!principal && principal.scope === 'write' && role !== null && RANK[role] >= RANK.write;
}

export const repoNotFound = () => new AppError('not_found', 'RepoNotFound', 'Repository not found');

/**
 * Throws the error the caller should see. A repo the caller may not read answers exactly as a
 * missing one: 404 for an authenticated caller, 401 (so clients offer credentials) for anonymous.
 */
export function authorize(principal: Principal | null, repo: RepoRecord | null, action: RepoAction): asserts repo is RepoRecord {
  if (!repo || !can(principal, repo, 'read')) {
    if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    throw repoNotFound();
  }
  if (action === 'read') return;
  if (!can(principal, repo, action)) {
    if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required to push');
    if (principal.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this token is read-only: a write-scope token is needed');
    throw new AppError('forbidden', 'Forbidden', `${principal.user.name} may not write to ${repo.namespace}/${repo.name}`);
  }
}
