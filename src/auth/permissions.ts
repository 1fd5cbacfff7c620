import { AppError } from '../core/errors.js';
import type { RepoRecord } from '../db/types.js';
import type { Principal } from './principal.js';

export type RepoAction = 'read' | 'write' | 'admin';

/**
 * The one permission policy every surface (git, LFS, HF API, UI) asks. A user owns the repos in
 * their namespace; admins may do anything; write needs a write-scope token.
 */
export function can(principal: Principal | null, repo: RepoRecord, action: RepoAction): boolean {
  const user = principal?.user;
  const owner = !!user && (user.isAdmin || user.name === repo.namespace);
  if (action === 'read') return !repo.private || owner;
  if (!principal || principal.scope !== 'write') return false;
  return owner;
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
