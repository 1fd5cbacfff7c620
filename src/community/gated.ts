import { AppError } from '../core/errors.js';
import type { AccessRequestListItem, AccessStatus, Db, GateMode, RepoRecord } from '../db/db.js';
import { roleIn } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { RepoStateCache } from '../git/store/repo-state-cache.js';

/**
 * Gated repositories as on the Hub: their metadata stays visible to whoever may read them, their
 * content (files, git fetch, LFS downloads) only to the repository's team (its owner, the members of
 * its organization, hub admins) and to users whose access request was accepted. 'auto' accepts a
 * request at once; 'manual' leaves it pending until an admin of the repository decides.
 */

/** Root files the Hub serves through /resolve/ without approval (the model card and the licence), case-sensitive. */
export const UNGATED_FILES = new Set(['README.md', 'LICENSE', 'LICENSE.md', 'LICENSE.txt']);

const ACCESS_STATUSES: readonly AccessStatus[] = ['pending', 'accepted', 'rejected'];
export const isAccessStatus = (s: unknown): s is AccessStatus => typeof s === 'string' && (ACCESS_STATUSES as readonly string[]).includes(s);
export const isGateMode = (m: unknown): m is GateMode => m === false || m === 'auto' || m === 'manual';

const repoWords = (repo: RepoRecord) => `${repo.type} ${repo.namespace}/${repo.name}`;

/** The Hub's words for a caller kept out (`GatedRepo`: 401 for strangers, so clients offer credentials; 403 for a signed-in user). */
export function gatedError(repo: RepoRecord, principal: Principal | null, status: AccessStatus | null, repoUrl: string): AppError {
  const what = repoWords(repo);
  if (!principal) return new AppError('unauthenticated', 'GatedRepo', `Access to ${what} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
  if (status === 'pending') return new AppError('forbidden', 'GatedRepo', `Your request to access ${what} is awaiting a review from the repo authors.`);
  if (status === 'rejected') return new AppError('forbidden', 'GatedRepo', `Your request to access ${what} has been rejected by the repo's authors.`);
  return new AppError('forbidden', 'GatedRepo', `Access to ${what} is restricted and you are not in the authorized list. Visit ${repoUrl} to ask for access.`);
}

export class GatedService {
  constructor(private readonly db: Db) {}

  /** Gate modes by repository state version (setMode gives the repository a new one): asked once per change, seen at once on every replica. */
  private readonly modes_ = new RepoStateCache<GateMode>((repoId) => this.db.gated.mode(repoId));
  private modeOf(repo: RepoRecord): Promise<GateMode> {
    return repo.stateVersion === undefined ? this.db.gated.mode(repo.id) : this.modes_.get(repo.id, repo.stateVersion);
  }

  mode(repo: RepoRecord): Promise<GateMode> {
    return this.db.gated.mode(repo.id);
  }

  modes(repos: RepoRecord[]): Promise<Map<string, GateMode>> {
    return this.db.gated.modes(repos.map((r) => r.id));
  }

  setMode(repo: RepoRecord, mode: GateMode): Promise<void> {
    return this.db.gated.setMode(repo.id, mode);
  }

  /**
   * Throws `GatedRepo` unless the caller (who may read the repository) may read its content: the
   * repository is not gated, the caller is of its team, or their request was accepted.
   */
  async assertContent(principal: Principal | null, repo: RepoRecord, repoUrl: string): Promise<void> {
    const denied = await this.denial(principal, repo);
    if (denied) throw gatedError(repo, principal, denied.status, repoUrl);
  }

  async canReadContent(principal: Principal | null, repo: RepoRecord): Promise<boolean> {
    return !(await this.denial(principal, repo));
  }

  /** null when the caller may read the content; else the state of their request (null status: none). */
  private async denial(principal: Principal | null, repo: RepoRecord): Promise<{ status: AccessStatus | null } | null> {
    const mode = await this.modeOf(repo);
    if (mode === false || roleIn(principal, repo.namespace) !== null) return null;
    const request = principal ? await this.db.gated.request(repo.id, principal.user.id) : null;
    if (request?.status === 'accepted') return null;
    return { status: request?.status ?? null };
  }

  /** The caller asks for access (again): accepted at once on 'auto', pending on 'manual'. A rejected user cannot ask again. */
  async request(principal: Principal, repo: RepoRecord): Promise<AccessStatus> {
    const mode = await this.assertGated(repo);
    const existing = await this.db.gated.request(repo.id, principal.user.id);
    if (existing?.status === 'accepted' || existing?.status === 'rejected') return existing.status;
    if (existing?.status === 'pending' && mode === 'manual') return 'pending';
    const status: AccessStatus = mode === 'auto' ? 'accepted' : 'pending';
    await this.db.gated.put({ repoId: repo.id, userId: principal.user.id, status });
    return status;
  }

  /** A repository admin moves a user's request to accepted, rejected or back to pending (the Hub's state machine). */
  async handle(repo: RepoRecord, userName: string, status: AccessStatus, rejectionReason: string | null): Promise<void> {
    await this.assertGated(repo);
    const user = await this.userNamed(userName);
    const existing = await this.db.gated.request(repo.id, user.id);
    if (!existing) throw new AppError('not_found', 'AccessRequestNotFound', 'No access request found matching your criteria');
    if (existing.status === status) {
      if (status === 'pending') throw new AppError('not_found', 'AccessRequestNotFound', `the request of ${user.name} is already in the pending list`);
      throw new AppError('not_found', 'AccessRequestNotFound', 'No access request found matching your criteria');
    }
    await this.db.gated.put({
      repoId: repo.id,
      userId: user.id,
      status,
      granted: existing.granted,
      createdAt: existing.createdAt,
      rejectionReason: status === 'rejected' ? rejectionReason : null,
    });
  }

  /** A repository admin gives a user access directly (their email is then not shared with the repository's admins). */
  async grant(repo: RepoRecord, userName: string): Promise<void> {
    await this.assertGated(repo);
    const user = await this.userNamed(userName);
    const existing = await this.db.gated.request(repo.id, user.id);
    if (existing?.status === 'accepted') throw new AppError('invalid', 'AlreadyHasAccess', `${user.name} already has access to ${repo.namespace}/${repo.name}`);
    await this.db.gated.put({ repoId: repo.id, userId: user.id, status: 'accepted', granted: true });
  }

  async list(repo: RepoRecord, status: AccessStatus, offset: number, limit: number): Promise<AccessRequestListItem[]> {
    await this.assertGated(repo);
    return this.db.gated.list(repo.id, status, offset, limit);
  }

  private async assertGated(repo: RepoRecord): Promise<Exclude<GateMode, false>> {
    const mode = await this.db.gated.mode(repo.id);
    if (mode === false) throw new AppError('invalid', 'RepoNotGated', `${repoWords(repo)} is not gated`);
    return mode;
  }

  private async userNamed(name: string) {
    const user = name ? await this.db.users.findByName(name) : null;
    if (!user) throw new AppError('not_found', 'UserNotFound', `user ${name} not found`);
    return user;
  }
}
