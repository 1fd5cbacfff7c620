import type { Db, RepoRecord, RepoType } from '../db/db.js';
import { invalid } from '../core/errors.js';

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

export function createRepoService(db: Db) {
  return {
    find(ref: RepoRef): Promise<RepoRecord | null> {
      return db.repos.find(ref.type, ref.namespace, ref.name);
    },
  };
}

export type RepoService = ReturnType<typeof createRepoService>;
