import express, { type Request, type Response } from 'express';
import { AppError, RedirectTo, invalid } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Db, RepoRecord, RepoType } from '../../db/db.js';
import { can, type RepoAction } from '../../auth/permissions.js';
import type { Principal } from '../../auth/principal.js';
import type { GitStore } from '../../git/store/git-store.js';
import { baseUrl, principalOf } from '../../http/repo-route.js';
import type { PlainRequest, PlainResponse } from '../../http/plain.js';
import { CommunityService } from '../../community/service.js';
import type { EventBus } from '../../community/events.js';
import type { WebhookService } from '../../community/webhooks.js';
import { GatedService } from '../../community/gated.js';
import type { ContentStore } from '../../lfs/content-store.js';
import type { LfsRecords } from '../../lfs/records.js';
import type { CommitService } from '../../repos/commit-service.js';
import type { QuotaService } from '../../repos/quota-service.js';
import { resolveRevision, shownCommit, type CommitIdMap } from '../../repos/revisions.js';
import { movedLocation, type RepoService } from '../../repos/repo-service.js';
import type { DownloadCounter } from '../../repos/downloads.js';
import type { LfsPointer } from '../../lfs/pointer.js';
import type { Fill } from '../../mirror/lfs-fill.js';
import { hfRepoId, typePrefix } from '../repo-json.js';

export interface HfDeps {
  db: Db;
  repos: RepoService;
  store: GitStore;
  commits: CommitService;
  content: ContentStore;
  lfs: LfsRecords;
  publicUrl?: string;
  /** Files of this size and more that arrive inline are stored in LFS (default 1 MiB). */
  lfsThreshold: number;
  /** Bounds of one NDJSON commit: decompressed bytes, bytes per line, operations. */
  commitLimits: { maxBytes: number; maxLineBytes: number; maxOperations: number };
  quotas: QuotaService;
  /** Link an `lfsFile` line's object if the committer possesses it (src/lfs/possession.ts); its size. */
  verifyUploaded(repo: RepoRecord, principal: Principal, oid: string, size: number | null): Promise<number>;
  /** The mirror of an upstream hub (src/mirror), when mirroring is on. */
  mirror?: MirrorHooks | null;
  /** Events of writes (webhooks listen), and the webhooks' management. */
  events?: EventBus | null;
  webhooks?: WebhookService | null;
  /** Download counts (src/repos/downloads.ts). */
  downloads?: DownloadCounter | null;
  log: Logger;
}

/** What the HF routes ask of the mirror (src/mirror/service.ts). */
export interface MirrorHooks {
  /** A repository not held here, registered from the upstream now when the pull-through cache allows it; else null. */
  pullThrough(type: RepoType, ns: string, name: string): Promise<RepoRecord | null>;
  /** Before resolving a revision of a mirror: branch names past their TTL are asked of the upstream (never fails). */
  refreshIfStale(repo: RepoRecord, rev: string): Promise<void>;
  /** Why the repository refuses writes (it is a mirror), or null. */
  readOnlyReason(repo: RepoRecord): Promise<string | null>;
  /** An LFS object of a mirror not stored yet: its download, started or joined; null when the repository is no mirror. */
  remoteObject(repo: RepoRecord, commit: string, path: string, pointer: LfsPointer): Promise<Fill | null>;
  /** A mirror with synthetic commits (REST-synced): upstream ids <-> local commits; else null. */
  commitIds?(repo: RepoRecord): Promise<CommitIdMap | null>;
  /** How a mirror's history came (git: the upstream's commits; rest: synthetic ones); null: not a mirror. */
  historyMethod?(repo: RepoRecord): Promise<'git' | 'rest' | null>;
}

/** Bodies of repo create/delete/move and the like; of per-repo JSON and form requests (paths-info, preupload). */
export const SMALL_BODY_BYTES = 1 << 20;
export const REPO_BODY_BYTES = 8 << 20;
/** Paths one paths-info request may name; files one preupload request may name. */
export const MAX_PATHS = 10_000;

// ---- one error style for every HF route: AppErrors, rendered by src/http/error-handler.ts (surface 'hf') ----

/** A repository the caller may not read answers as a missing one: 401 for strangers (clients offer credentials), else 404. */
export const repoNotFound = (principal: Principal | null) =>
  new AppError(principal ? 'not_found' : 'unauthenticated', 'RepoNotFound', 'Repository Not Found');
export const authRequired = (message = 'Authentication required') => new AppError('unauthenticated', 'Unauthenticated', message);
export const forbiddenHf = (message: string) => new AppError('forbidden', 'Forbidden', message);

// ---- request helpers ------------------------------------------------------------------------

export const truthy = (v: unknown) => v === 'true' || v === 'True' || v === '1' || v === true;

/** A query parameter given once, repeated, or as `name[]`. */
export function listParam(req: Request, name: string): string[] {
  const q = req.query as Record<string, unknown>;
  const vals = [q[name], q[`${name}[]`]].flat().filter((v): v is string => typeof v === 'string');
  return vals;
}

/** Split a raw (still percent-encoded) path tail into a revision and a file path. */
export function splitRevPath(segments: string[]): { rev: string; path: string } {
  if (segments.length === 0) throw invalid('BadRequest', 'revision missing');
  const dec = segments.map((s) => decodeURIComponent(s));
  let n = 1;
  if (dec[0] === 'refs' && (dec[1] === 'pr' || dec[1] === 'convert') && dec.length >= 3) n = 3;
  return { rev: dec.slice(0, n).join('/'), path: dec.slice(n).join('/') };
}

/** The raw (still percent-encoded) segments of a URL path after the first `skip`, without a trailing empty one. */
export function rawSegments(url: string, skip: number): string[] {
  const raw = url.split('?')[0]!.split('/').slice(1);
  return raw.slice(skip).filter((s, i, all) => s !== '' || i < all.length - 1);
}

export type HfContext = ReturnType<typeof createHfContext>;

/** What every HF route module shares: its dependencies, the repository lookup with its permission check, URLs, body parsing. */
export function createHfContext(deps: HfDeps) {
  // Body limits count decompressed bytes (body-parser inflates before it counts).
  const json = express.json({ limit: SMALL_BODY_BYTES });
  const repoJson = express.json({ limit: REPO_BODY_BYTES });
  const repoForm = express.urlencoded({ extended: false, limit: REPO_BODY_BYTES, parameterLimit: MAX_PATHS + 16 });

  const base = (req: PlainRequest) => baseUrl(req, deps.publicUrl);
  /** Throws for a repository that refuses writes to its git data (a mirror of the upstream hub). */
  const assertNotMirror = async (repo: RepoRecord) => {
    const readOnly = await deps.mirror?.readOnlyReason(repo);
    if (readOnly) throw forbiddenHf(readOnly);
  };
  /** Throws unless the caller (who may read the repository) may do `action` on it. */
  const assertCan = (res: PlainResponse, repo: RepoRecord, action: RepoAction) => {
    const principal = principalOf(res);
    if (action !== 'read' && !can(principal, repo, action)) {
      if (!principal) throw authRequired();
      throw forbiddenHf(principal.scope !== 'write' ? 'this token is read-only' : `You don't have the rights to write to ${hfRepoId(repo)}`);
    }
  };

  const gated = new GatedService(deps.db);
  const repoUrl = (req: PlainRequest, repo: RepoRecord) => `${base(req)}/${typePrefix(repo)}${hfRepoId(repo)}`;

  return {
    deps,
    /** Gated repositories and access requests. */
    gated,
    /** Throws `GatedRepo` unless the caller may read the content (files, diffs) of a repository they may read. */
    assertContent: (req: PlainRequest, res: PlainResponse, repo: RepoRecord) => gated.assertContent(principalOf(res), repo, repoUrl(req, repo)),
    /** May the caller read the content of a repository they may read (not gated for them)? */
    canReadContent: (res: PlainResponse, repo: RepoRecord) => gated.canReadContent(principalOf(res), repo),
    /** Discussions and pull requests. */
    community: new CommunityService(deps.db, deps.store, deps.commits),
    /** JSON body parser for account-level routes (create, delete, move). */
    json,
    /** Parse a JSON or form body, only once the caller may use the route (nothing is parsed for strangers). */
    parseBody: (req: Request, res: Response) =>
      new Promise<void>((resolve, reject) => {
        repoJson(req, res, (err?: unknown) => (err ? reject(err) : repoForm(req, res, (err2?: unknown) => (err2 ? reject(err2) : resolve()))));
      }),
    base,
    repoUrl,
    /** `Link: <…>; rel="next"` with one query parameter of the request's URL replaced. */
    linkNext(req: Request, res: Response, param: string, value: number | string) {
      const next = new URL(`${base(req)}${req.originalUrl}`);
      next.searchParams.set(param, String(value));
      res.setHeader('Link', `<${next.toString()}>; rel="next"`);
    },
    author: (p: Principal) => ({ name: p.user.name, email: p.user.email ?? `${p.user.name}@users.noreply.packhub` }),

    /** The repository, if the caller may do `action` on it; a repository the caller may not read is missing. */
    async loadRepo(res: PlainResponse, type: RepoType, ns: string, name: string, action: RepoAction): Promise<RepoRecord> {
      res.locals.surface = 'hf';
      const principal = principalOf(res);
      const found = await deps.repos.locate({ type, namespace: ns, name });
      if (found?.moved) {
        const location = can(principal, found.repo, 'read') ? movedLocation((res.req as PlainRequest).originalUrl, { namespace: ns, name }, found.repo) : null;
        if (location) throw new RedirectTo(location);
        throw repoNotFound(principal);
      }
      const repo = found?.repo ?? (action === 'read' ? ((await deps.mirror?.pullThrough(type, ns, name)) ?? null) : null);
      if (!repo || !can(principal, repo, 'read')) throw repoNotFound(principal);
      assertCan(res, repo, action);
      if (action === 'write') await assertNotMirror(repo);
      return repo;
    },
    assertCan,
    assertNotMirror,

    /** The commit a revision names; `shown`: its id as the API gives it (the upstream's, for a mirror's synthetic commit). */
    async resolveAt(repo: RepoRecord, rev: string) {
      await deps.mirror?.refreshIfStale(repo, rev);
      // A mirror's refresh may have moved its refs after `repo` was read: a mirror is read through.
      const mirrored = deps.mirror ? (await deps.mirror.readOnlyReason(repo)) !== null : false;
      const current = mirrored ? { ...repo, stateVersion: undefined } : repo;
      const [{ refs, objects }, ids] = await Promise.all([deps.store.snapshot(current), deps.mirror?.commitIds?.(repo) ?? null]);
      const { oid } = resolveRevision(refs, objects, rev, repo.defaultBranch, ids);
      return { oid, refs, objects, shown: shownCommit(ids, oid) };
    },

    /** The repository is gone (its rows deleted): its packs are garbage. A failure here leaves garbage, not a broken repository. */
    async removeStoredData(repoId: string) {
      try {
        await deps.store.deleteRepository(repoId);
      } catch (err) {
        deps.log.warn({ err, repoId }, 'could not remove the packs of a deleted repository');
      }
    },
  };
}
