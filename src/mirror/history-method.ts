import type { MirrorHistory } from '../db/db.js';
import { UpstreamHttpError } from './git-client.js';

/** What a sync needs to choose how a mirror's history comes. */
export interface HistoryChoice<T> {
  /** The mirror's setting: git only, rest only, or auto. */
  history: MirrorHistory;
  /** PACKHUB_UPSTREAM_GIT=off: `auto` mirrors sync by REST. */
  gitOff: boolean;
  /** The mirror's history is synthetic already (it has a commit map). */
  synthetic: boolean;
  /** For messages: the upstream's label and the repository's id there. */
  upstreamLabel: string;
  upstreamId: string;
  byGit(): Promise<T>;
  /** null: no REST sync is configured. */
  byRest: ((why: string) => Promise<T>) | null;
}

/** The upstream has no git endpoint for the repository: it answers 401, 403 or 404 there. */
const noGitEndpoint = (err: unknown): err is UpstreamHttpError => err instanceof UpstreamHttpError && [401, 403, 404].includes(err.httpStatus);

/**
 * Syncs a mirror's history the way its `history` setting says: `rest` by the REST API (synthetic
 * commits); `git` by git only, so that its commits are the upstream's own (an upstream without a git
 * endpoint fails the sync with a message saying so and what to do); `auto` by git, unless git is off
 * for the upstream, the history is synthetic already, or the upstream has no git endpoint: then by REST.
 * Git and synthetic histories never mix in one repository.
 */
export async function syncByHistoryMethod<T>(c: HistoryChoice<T>): Promise<T> {
  const byRest = (why: string) => {
    if (!c.byRest) throw new Error(`${why}, and no REST sync is configured`);
    return c.byRest(why);
  };
  if (c.history === 'rest') return byRest('the history method of this mirror is rest');
  if (c.history === 'git') {
    if (c.synthetic) throw new Error('the history method of this mirror is git, but its history is synthetic (built from the REST API)');
    try {
      return await c.byGit();
    } catch (err) {
      if (noGitEndpoint(err))
        throw new Error(
          `the upstream ${c.upstreamLabel} has no git endpoint for ${c.upstreamId} (${err.httpStatus}), and the history method of this mirror is git (the upstream's own commits only); a mirror registered with history rest or auto builds synthetic commits from the REST API instead`,
        );
      throw err;
    }
  }
  if (c.gitOff) return byRest('git is off for the upstream (PACKHUB_UPSTREAM_GIT=off)');
  if (c.synthetic) return byRest('the history of this mirror is synthetic');
  try {
    return await c.byGit();
  } catch (err) {
    if (noGitEndpoint(err) && c.byRest) return byRest(`the upstream has no git endpoint for ${c.upstreamId} (${err.httpStatus})`);
    throw err;
  }
}
