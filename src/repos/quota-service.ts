import { AppError } from '../core/errors.js';
import type { Db, RepoRecord } from '../db/db.js';

export interface QuotaDefaults {
  privateBytes: number | null;
  publicBytes: number | null;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Storage quotas per namespace (user or organization), apart for private and public repositories:
 * a limit set for the namespace, else the hub's default, else none. Writes that would go over are
 * refused before anything is stored.
 */
export function createQuotaService(db: Db, defaults: QuotaDefaults) {
  const limits = async (namespace: string) => (await db.quotas.get(namespace)) ?? defaults;

  const service = {
    async report(namespace: string) {
      const [l, used] = await Promise.all([limits(namespace), db.quotas.usage(namespace)]);
      return {
        namespace,
        private: { usedBytes: used.privateBytes, limitBytes: l.privateBytes },
        public: { usedBytes: used.publicBytes, limitBytes: l.publicBytes },
      };
    },
    /** Bytes the repository's namespace may still store in its class (Infinity when unlimited). */
    async remaining(repo: RepoRecord): Promise<number> {
      const l = await limits(repo.namespace);
      const limit = repo.private ? l.privateBytes : l.publicBytes;
      if (limit === null) return Infinity;
      const used = await db.quotas.usage(repo.namespace);
      return Math.max(0, limit - (repo.private ? used.privateBytes : used.publicBytes));
    },
    async assertFits(repo: RepoRecord, bytes: number): Promise<void> {
      const left = await service.remaining(repo);
      if (bytes > left) throw service.exceeded(repo, bytes, left);
    },
    exceeded(repo: RepoRecord, bytes: number, left: number): AppError {
      return new AppError(
        'too_large',
        'QuotaExceeded',
        `storage quota exceeded: ${repo.namespace} may store ${mib(left)} more in ${repo.private ? 'private' : 'public'} repositories, this needs ${mib(bytes)}`,
      );
    },
  };
  return service;
}

export type QuotaService = ReturnType<typeof createQuotaService>;
