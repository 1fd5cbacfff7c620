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
    /** The repository with this id, in any letter case (the stored case is in the record). */
    find(ref: RepoRef): Promise<RepoRecord | null> {
      return db.repos.find(ref.type, ref.namespace, ref.name);
    },
    /**
     * The one lookup rule of every route: the repository named by `ref` in any letter case, or the
     * one that was moved away from that name (`moved`: answer with a redirect to its current name).
     */
    async locate(ref: RepoRef): Promise<{ repo: RepoRecord; moved: boolean } | null> {
      const repo = await db.repos.find(ref.type, ref.namespace, ref.name);
      if (repo) return { repo, moved: false };
      const moved = await db.repos.findMoved(ref.type, ref.namespace, ref.name);
      return moved ? { repo: moved, moved: true } : null;
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

/**
 * Where a request that named a moved repository goes: the same URL (path and query) with the
 * `ns/name` segments (`name.git` for git and LFS URLs) replaced by the repository's current id;
 * relative, as the clients follow it. Null when the URL does not name the repository in its path
 * (a body names it: create, delete, move).
 */
export function movedLocation(originalUrl: string, from: { namespace: string; name: string }, to: RepoRecord): string | null {
  const q = originalUrl.indexOf('?');
  const path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  const query = q < 0 ? '' : originalUrl.slice(q);
  const segs = path.split('/');
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const decode = (x: string) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  for (let i = 1; i + 1 < segs.length; i++) {
    const ns = decode(segs[i]!);
    const raw = decode(segs[i + 1]!);
    const git = raw.toLowerCase().endsWith('.git') && !same(raw, from.name);
    const name = git ? raw.slice(0, -4) : raw;
    if (same(ns, from.namespace) && same(name, from.name)) {
      segs.splice(i, 2, encodeURIComponent(to.namespace), encodeURIComponent(to.name) + (git ? '.git' : ''));
      return segs.join('/') + query;
    }
  }
  return null;
}
