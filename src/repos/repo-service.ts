import type { Db, RepoRecord, RepoType } from '../db/db.js';
import { invalid } from '../core/errors.js';
import { validateNamespace, validateRepoName } from '../core/names.js';

/** Path prefixes of the repo types, as the Hub spells them (models have none). */
export const TYPE_PREFIX: Record<RepoType, string> = { model: '', dataset: 'datasets', space: 'spaces' };
export const RESERVED_NAMESPACES = new Set(['api', 'datasets', 'spaces', 'models', 'healthz', 'readyz', 'metrics', 'settings', 'login', 'logout', 'join', 'new', 'assets', 'static']);

export interface RepoRef {
  type: RepoType;
  namespace: string;
  name: string;
}

/** `name.git` and `name` address the same repository, as git allows. */
export function repoRefFrom(type: RepoType, namespace: string, rawName: string): RepoRef {
  const name = rawName.endsWith('.git') ? rawName.slice(0, -4) : rawName;
  if (!namespace || !name) throw invalid('InvalidRepoName', 'repository path must be <namespace>/<name>');
  return { type, namespace, name };
}

/** The rules every new repository name follows (creating or moving): names.ts, and no reserved namespace. */
export function validateNewName(ref: RepoRef): void {
  validateNamespace(ref.namespace);
  validateRepoName(ref.name);
  if (RESERVED_NAMESPACES.has(ref.namespace.toLowerCase())) throw invalid('ReservedName', `'${ref.namespace}' is reserved and cannot be a namespace`);
}

export function createRepoService(db: Db) {
  return {
    find(ref: RepoRef): Promise<RepoRecord | null> {
      return db.repos.find(ref.type, ref.namespace, ref.name);
    },
    /** A new, empty repository (no refs): the first push or API commit gives it history. */
    create(input: RepoRef & { private?: boolean; defaultBranch?: string }): Promise<RepoRecord> {
      validateNewName(input);
      return db.repos.create(input);
    },
    /** Give a repository a new namespace and name, checked as a new repository's are. */
    move(repo: RepoRecord, to: { namespace: string; name: string }): Promise<RepoRecord> {
      validateNewName({ type: repo.type, ...to });
      return db.repos.update(repo.id, { namespace: to.namespace, name: to.name });
    },
  };
}

export type RepoService = ReturnType<typeof createRepoService>;
