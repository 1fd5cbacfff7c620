import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db, MirrorHistory, MirrorSource, RepoRecord, RepoType } from '../db/db.js';
import type { GitStore } from '../git/store/git-store.js';
import type { LfsRecords } from '../lfs/records.js';
import type { LfsFills } from './lfs-fill.js';
import type { RestSyncResult } from './rest-sync.js';
import { repoPath, type Upstream } from './upstream.js';

// What the parts of the mirror (src/mirror/service.ts and the modules it is made of) share: the
// ports it is given, the types it answers with, and two helpers.

/** The part of a git sync the mirror reads (src/mirror/git-sync.ts). */
export interface GitSyncSummary {
  headTarget: string | null;
  refs: { name: string; oid: string }[];
  updated: { name: string; from: string | null; to: string | null; forced: boolean }[];
  objects: number;
  packBytes: number;
  /** How the history came: git (the upstream's commits) or rest (synthetic commits, src/mirror/rest-sync.ts). */
  method?: 'git' | 'rest';
}

/** A sync of a mirror's history by the upstream's REST API (src/mirror/rest-sync.ts). */
export type RestSync = (opts: { repo: RepoRecord; upstreamId: string; includePrs: boolean; signal?: AbortSignal; log: Logger; onProgress?: (p: { bytes: number; phase: string }) => void }) => Promise<RestSyncResult>;

export type GitSync = (opts: {
  repoId: string;
  url: string;
  token: string | null;
  includePrs: boolean;
  signal?: AbortSignal;
  log: Logger;
  onProgress?: (p: { bytes: number; objects?: number; phase: string }) => void;
}) => Promise<GitSyncSummary>;

/** What the mirror needs of the job engine (src/jobs). */
export interface JobsPort {
  register(kind: string, handler: (ctx: JobContextPort) => Promise<void>): void;
  enqueue(input: { kind: string; repoId?: string | null; repoLabel?: string | null; revision?: string | null; paths?: string[]; params?: Record<string, unknown> }): Promise<{ id: string }>;
}

export interface JobContextPort {
  job: { id: string; repoId: string | null; revision: string | null; paths: string[]; params: Record<string, unknown> };
  signal: AbortSignal;
  log(line: string): void;
  progress(p: { bytesDone?: number; bytesTotal?: number | null; filesDone?: number; filesTotal?: number | null }): void;
}

export type FileState = 'local' | 'remote' | 'downloading' | 'failed';

export interface MirrorFile {
  path: string;
  size: number;
  lfs: { oid: string; size: number } | null;
  state: FileState;
  error?: string;
}

export interface RegisterInput {
  type: RepoType;
  id: string;
  revision?: string | null;
  include?: string[];
  exclude?: string[];
  includePrs?: boolean;
  /** How its history is fetched (default auto); fixed at registration. */
  history?: MirrorHistory;
  download?: boolean;
  source?: MirrorSource;
}

/** What the mirror is made with (src/mirror/index.ts assembles it). */
export interface MirrorServiceDeps {
  db: Db;
  store: GitStore;
  records: LfsRecords;
  upstream: Upstream | null;
  config: NonNullable<Config['upstream']> | null;
  fills: LfsFills | null;
  gitSync: GitSync;
  /** History without git, when the upstream has no git endpoint (or PACKHUB_UPSTREAM_GIT=off). */
  restSync?: RestSync | null;
  jobs: JobsPort;
  log: Logger;
}

/** Repo label as the job lists show it: `datasets/ns/name` or `ns/name`. */
export const repoLabel = (r: Pick<RepoRecord, 'type' | 'namespace' | 'name'>) => repoPath(r.type, `${r.namespace}/${r.name}`);

export function upstreamOrFail(upstream: Upstream | null): Upstream {
  if (!upstream) throw new AppError('unavailable', 'MirroringOff', 'mirroring is off on this hub (PACKHUB_UPSTREAM_URL=none)');
  return upstream;
}
