import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createTwoFilesPatch } from 'diff';
import { AppError, invalid } from '../core/errors.js';
import type { Db, DiscussionEventRecord, DiscussionRecord, DiscussionStatus, NewDiscussionEvent, RefRecord, RepoRecord } from '../db/db.js';
import { can } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { GitStore } from '../git/store/git-store.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import type { CommitChange, CommitService } from '../repos/commit-service.js';
import { commitsBetween, fileDeltas, mergeBase, type FileDelta } from './graph.js';
import { commentHtml, newComment, type CommentData } from './json.js';

/** Discussions one list page holds. */
export const PAGE_SIZE = 50;
/** Title length, as the Hub's clients document it. */
const TITLE_MIN = 3;
const TITLE_MAX = 200;
/** Characters one comment may hold. */
export const COMMENT_MAX = 65_536;
/** Commits a pull request's thread shows; files a diff, a merge or a conflict check looks at. */
const MAX_PR_COMMITS = 250;
const MAX_FILES = 10_000;
/** The diff text: files it shows, bytes per file side, time per file and in all. */
const DIFF_MAX_FILES = 300;
const DIFF_MAX_BYTES = 256 << 10;
const DIFF_FILE_MS = 250;
const DIFF_TOTAL_MS = 2000;

const discussionNotFound = () => new AppError('not_found', 'DiscussionNotFound', 'Discussion not found');
const prRef = (num: number) => `refs/pr/${num}`;

export interface PullRequestState {
  base: string;
  head: string | null;
  mergeCommitId: string | null;
  /** Files changed on both sides since the merge base (empty for a merged or closed pull request). */
  filesWithConflicts: string[];
}

/** An event of the thread; commit events are derived from refs/pr/N's history, the others stored. */
export type ThreadEvent = Pick<DiscussionEventRecord, 'id' | 'type' | 'createdAt' | 'authorName' | 'data'>;

/**
 * Discussions and pull requests: one number sequence per repository, shared with refs/pr/N. A
 * pull request is refs/pr/N plus a discussion row; its commits are refs/pr/N's history since the
 * commit it started from (so a git push to refs/pr/N shows in it); merging goes through the commit
 * service. Permissions: anyone who may read the repository (with a write-scope token) opens and
 * comments; authors and writers rename, edit, hide and change status; writers merge.
 */
export class CommunityService {
  constructor(
    private readonly db: Db,
    private readonly store: GitStore,
    private readonly commits: CommitService,
  ) {}

  // ---- permissions --------------------------------------------------------------------------

  /** A caller who may take part: signed in with a write-scope token (reading the repository is checked before). */
  participant(principal: Principal | null): Principal {
    if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    if (principal.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this token is read-only');
    return principal;
  }

  private authorOrWriter(principal: Principal | null, repo: RepoRecord, authorId: number | null, what: string): Principal {
    const p = this.participant(principal);
    if (authorId !== p.user.id && !can(p, repo, 'write')) throw new AppError('forbidden', 'Forbidden', `Only its author or a writer of ${repo.namespace}/${repo.name} may ${what}`);
    return p;
  }

  /** May this caller commit to refs/pr/N? Its author and the repository's writers. */
  async assertMayCommitToPr(principal: Principal | null, repo: RepoRecord, num: number): Promise<void> {
    const d = await this.db.community.get(repo.id, num);
    if (!d) {
      // A refs/pr/N without a pull request (pushed by git): writers only, as any ref.
      const p = this.participant(principal);
      if (!can(p, repo, 'write')) throw new AppError('forbidden', 'Forbidden', `You don't have the rights to write to ${repo.namespace}/${repo.name}`);
      return;
    }
    this.authorOrWriter(principal, repo, d.authorId, 'add commits to this pull request');
    if (d.status === 'merged' || d.status === 'closed') throw invalid('BadRequest', `Pull request #${num} is ${d.status}: reopen it to add commits`);
  }

  // ---- reading ------------------------------------------------------------------------------

  async get(repo: RepoRecord, num: number): Promise<DiscussionRecord> {
    if (!Number.isSafeInteger(num) || num < 1) throw discussionNotFound();
    const d = await this.db.community.get(repo.id, num);
    if (!d) throw discussionNotFound();
    return d;
  }

  async list(repo: RepoRecord, filter: { type: 'all' | 'discussion' | 'pull_request'; status: 'all' | 'open' | 'closed'; author?: string; page: number }) {
    const statuses: DiscussionStatus[] | undefined = filter.status === 'open' ? ['open', 'draft'] : filter.status === 'closed' ? ['closed', 'merged'] : undefined;
    const offset = filter.page * PAGE_SIZE;
    const { items, count } = await this.db.community.list(repo.id, {
      ...(filter.type === 'all' ? {} : { isPullRequest: filter.type === 'pull_request' }),
      ...(statuses ? { statuses } : {}),
      ...(filter.author !== undefined ? { authorName: filter.author } : {}),
      offset,
      limit: PAGE_SIZE,
    });
    return { items, count, start: offset };
  }

  /** The thread: stored events, and for a pull request one `commit` event per commit of refs/pr/N since it started. */
  async thread(repo: RepoRecord, d: DiscussionRecord): Promise<ThreadEvent[]> {
    const stored: ThreadEvent[] = await this.db.community.events(repo.id, d.num);
    if (!d.isPullRequest) return stored;
    const refs = await this.store.refs(repo.id);
    const head = refs.find((r) => r.name === prRef(d.num))?.oid;
    if (!head) return stored;
    const objects = await this.store.objects(repo.id);
    const commits: ThreadEvent[] = commitsBetween(objects, d.startOid, head, MAX_PR_COMMITS)
      .reverse()
      .map((oid) => {
        const c = objects.commit(oid);
        return { id: oid.slice(0, 24), type: 'commit', createdAt: new Date(c.committer.timestamp * 1000), authorName: c.author.name, data: { subject: c.message.split('\n')[0] ?? '', oid } };
      });
    // The opening comment stays first; the rest in time order (stored events keep their order).
    const [first, ...rest] = stored;
    const merged: ThreadEvent[] = [];
    let i = 0;
    for (const e of rest) {
      while (i < commits.length && commits[i]!.createdAt.getTime() <= e.createdAt.getTime()) merged.push(commits[i++]!);
      merged.push(e);
    }
    return [...(first ? [first] : []), ...merged, ...commits.slice(i)];
  }

  /** Where a pull request stands: its base, head, merge commit and conflicting files. */
  async pullRequestState(repo: RepoRecord, d: DiscussionRecord): Promise<PullRequestState> {
    const base = d.baseRef ?? `refs/heads/${repo.defaultBranch}`;
    const refs = await this.store.refs(repo.id);
    const head = refs.find((r) => r.name === prRef(d.num))?.oid ?? null;
    const baseHead = refs.find((r) => r.name === base)?.oid ?? null;
    let filesWithConflicts: string[] = [];
    if (head && baseHead && (d.status === 'open' || d.status === 'draft')) {
      const objects = await this.store.objects(repo.id);
      filesWithConflicts = this.plan(objects, baseHead, head).conflicts;
    }
    return { base, head, mergeCommitId: d.mergeCommitId, filesWithConflicts };
  }

  /**
   * The pull request's changes as `git diff` text (merge base .. refs/pr/N): text files with
   * their hunks, binary ones as "Binary files ... differ". Bounded in files, bytes and time.
   */
  async diff(repo: RepoRecord, d: DiscussionRecord): Promise<string> {
    const state = await this.pullRequestState(repo, d);
    if (!state.head) return '';
    const objects = await this.store.objects(repo.id);
    const refs = await this.store.refs(repo.id);
    const baseHead = refs.find((r) => r.name === state.base)?.oid ?? null;
    // A merged pull request keeps the diff it had: from where it started.
    const from = d.status === 'merged' || !baseHead ? d.startOid : (mergeBase(objects, baseHead, state.head) ?? null);
    const fromTree = from && objects.has(from) ? objects.commit(from).tree : null;
    const deltas = fileDeltas(objects, fromTree, objects.commit(state.head).tree, DIFF_MAX_FILES);
    const deadline = Date.now() + DIFF_TOTAL_MS;
    let out = '';
    for (const f of deltas) {
      await yieldToEventLoop();
      out += fileDiff(objects, f, Math.min(DIFF_FILE_MS, deadline - Date.now()));
    }
    return out;
  }

  // ---- writing ------------------------------------------------------------------------------

  private static title(raw: unknown): string {
    const title = typeof raw === 'string' ? raw.trim() : '';
    if (title.length < TITLE_MIN || title.length > TITLE_MAX) throw invalid('BadRequest', `The title must be between ${TITLE_MIN} and ${TITLE_MAX} characters long`);
    return title;
  }

  private static text(raw: unknown, what: string): string {
    if (typeof raw !== 'string' || !raw.trim()) throw invalid('BadRequest', `${what} must be a non-empty string`);
    if (raw.length > COMMENT_MAX) throw invalid('BadRequest', `${what} holds at most ${COMMENT_MAX} characters`);
    return raw;
  }

  private static commentEvent(p: Principal, raw: string): NewDiscussionEvent {
    return { type: 'comment', authorId: p.user.id, authorName: p.user.name, data: newComment(raw, p.user.name, new Date()) };
  }

  /** The highest N of the repository's refs/pr/N: new numbers come after it. */
  private static highestPr(refs: RefRecord[]): number {
    let max = 0;
    for (const r of refs) {
      const m = /^refs\/pr\/([1-9]\d{0,9})$/.exec(r.name);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max;
  }

  /**
   * A discussion, or a pull request (`refs/pr/N` at the head of the default branch, a draft) opened
   * through the API. The description is its first comment.
   */
  async create(repo: RepoRecord, principal: Principal | null, input: { title: unknown; description: unknown; pullRequest: boolean }): Promise<DiscussionRecord> {
    const p = this.participant(principal);
    const title = CommunityService.title(input.title);
    const description = CommunityService.text(input.description ?? '', 'description');
    const refs = await this.store.refs(repo.id);
    let head: string | null = null;
    const baseRef = `refs/heads/${repo.defaultBranch}`;
    if (input.pullRequest) {
      head = refs.find((r) => r.name === baseRef)?.oid ?? null;
      if (!head) throw invalid('BadRequest', `${repo.namespace}/${repo.name} has no ${repo.defaultBranch} branch to open a pull request against`);
    }
    const { discussion } = await this.db.community.create(
      {
        repoId: repo.id,
        isPullRequest: input.pullRequest,
        title,
        status: input.pullRequest ? 'draft' : 'open',
        authorId: p.user.id,
        authorName: p.user.name,
        baseRef: input.pullRequest ? baseRef : null,
        startOid: head,
      },
      CommunityService.highestPr(refs),
      [CommunityService.commentEvent(p, description)],
    );
    if (head) {
      const [r] = await this.store.commit(repo.id, null, [{ name: prRef(discussion.num), oldOid: null, newOid: head }], true);
      if (!r!.ok) {
        await this.db.community.delete(repo.id, discussion.num);
        throw new AppError('conflict', 'ConcurrentUpdate', `${prRef(discussion.num)} could not be created (${r!.reason}); try again`);
      }
    }
    return discussion;
  }

  /**
   * A pull request for `create_commit(create_pr=True)`: the row (status open, title the commit's
   * summary, first comment its description) is made first, so its number is taken; the caller then
   * commits to refs/pr/N starting at `startOid`, and calls `abandon` if that fails.
   */
  async openForCommit(repo: RepoRecord, principal: Principal | null, input: { title: string; description?: string; baseRef: string; startOid: string }): Promise<DiscussionRecord> {
    const p = this.participant(principal);
    const refs = await this.store.refs(repo.id);
    const title = input.title.trim().slice(0, TITLE_MAX) || 'Pull request';
    const description = input.description?.trim() ? input.description.slice(0, COMMENT_MAX) : title;
    const { discussion } = await this.db.community.create(
      { repoId: repo.id, isPullRequest: true, title, status: 'open', authorId: p.user.id, authorName: p.user.name, baseRef: input.baseRef, startOid: input.startOid },
      CommunityService.highestPr(refs),
      [CommunityService.commentEvent(p, description)],
    );
    return discussion;
  }

  /** Removes a pull request whose first commit did not land (nothing else refers to it yet). */
  async abandon(repo: RepoRecord, num: number): Promise<void> {
    await this.db.community.delete(repo.id, num);
  }

  async comment(repo: RepoRecord, principal: Principal | null, num: number, raw: unknown): Promise<ThreadEvent> {
    const p = this.participant(principal);
    const text = CommunityService.text(raw, 'comment');
    const d = await this.get(repo, num);
    const r = await this.db.community.update(repo.id, d.num, {}, [CommunityService.commentEvent(p, text)]);
    if (!r) throw discussionNotFound();
    return r.events[0]!;
  }

  async rename(repo: RepoRecord, principal: Principal | null, num: number, raw: unknown): Promise<ThreadEvent> {
    const d = await this.get(repo, num);
    const p = this.authorOrWriter(principal, repo, d.authorId, 'rename it');
    const title = CommunityService.title(raw);
    const r = await this.db.community.update(repo.id, d.num, { title }, [{ type: 'title-change', authorId: p.user.id, authorName: p.user.name, data: { from: d.title, to: title } }]);
    if (!r) throw discussionNotFound();
    return r.events[0]!;
  }

  /** open <-> closed; a draft pull request is published by opening it; a merged one stays merged. */
  async setStatus(repo: RepoRecord, principal: Principal | null, num: number, status: unknown, comment: unknown): Promise<ThreadEvent> {
    const d = await this.get(repo, num);
    const p = this.authorOrWriter(principal, repo, d.authorId, 'change its status');
    if (status !== 'open' && status !== 'closed') throw invalid('BadRequest', 'status must be "open" or "closed"');
    const from: DiscussionStatus[] = status === 'open' ? ['closed', 'draft'] : ['open', 'draft'];
    if (!from.includes(d.status)) throw invalid('BadRequest', `Discussion #${d.num} is ${d.status}: it cannot become ${status}`);
    const events: NewDiscussionEvent[] = [{ type: 'status-change', authorId: p.user.id, authorName: p.user.name, data: { status } }];
    if (typeof comment === 'string' && comment.trim()) events.push(CommunityService.commentEvent(p, CommunityService.text(comment, 'comment')));
    const r = await this.db.community.update(repo.id, d.num, { status }, events, from);
    if (!r) throw new AppError('conflict', 'ConcurrentUpdate', `Discussion #${d.num} changed meanwhile; reload it`);
    return r.events[0]!;
  }

  private async commentOf(repo: RepoRecord, d: DiscussionRecord, id: string): Promise<DiscussionEventRecord> {
    const e = /^[0-9a-f]{24}$/.test(id) ? await this.db.community.getEvent(repo.id, d.num, id) : null;
    if (!e || e.type !== 'comment') throw new AppError('not_found', 'CommentNotFound', 'Comment not found');
    return e;
  }

  async editComment(repo: RepoRecord, principal: Principal | null, num: number, id: string, raw: unknown): Promise<ThreadEvent> {
    const d = await this.get(repo, num);
    const e = await this.commentOf(repo, d, id);
    const p = this.authorOrWriter(principal, repo, e.authorId, 'edit this comment');
    const text = CommunityService.text(raw, 'content');
    const data = e.data as CommentData;
    if (data.hidden) throw invalid('BadRequest', 'A hidden comment cannot be edited');
    const now = new Date().toISOString();
    const next: CommentData = {
      ...data,
      edited: true,
      latest: { raw: text, html: commentHtml(text), updatedAt: now, author: { name: p.user.name } },
      numEdits: data.numEdits + 1,
      editors: data.editors.includes(p.user.name) ? data.editors : [...data.editors, p.user.name],
      history: [data.latest, ...data.history],
    };
    const updated = await this.db.community.setEventData(repo.id, d.num, e.id, next);
    if (!updated) throw new AppError('not_found', 'CommentNotFound', 'Comment not found');
    return updated;
  }

  /** Irreversible: the content and its history are dropped. */
  async hideComment(repo: RepoRecord, principal: Principal | null, num: number, id: string): Promise<ThreadEvent> {
    const d = await this.get(repo, num);
    const e = await this.commentOf(repo, d, id);
    const p = this.authorOrWriter(principal, repo, e.authorId, 'hide this comment');
    const data = e.data as CommentData;
    const next: CommentData = { ...data, hidden: true, hiddenBy: p.user.name, latest: { raw: '', html: '', updatedAt: new Date().toISOString(), author: { name: p.user.name } }, history: [] };
    const updated = await this.db.community.setEventData(repo.id, d.num, e.id, next);
    if (!updated) throw new AppError('not_found', 'CommentNotFound', 'Comment not found');
    return updated;
  }

  /**
   * What merging head into baseHead takes: the files the pull request changed since the merge
   * base, as commit changes, and the files both sides changed differently (conflicts).
   */
  private plan(objects: RepoObjects, baseHead: string, head: string): { base: string | null; changes: CommitChange[]; conflicts: string[] } {
    const base = mergeBase(objects, baseHead, head);
    const tree = (oid: string | null) => (oid ? objects.commit(oid).tree : null);
    const theirs = fileDeltas(objects, tree(base), tree(head), MAX_FILES);
    const ours = new Map<string, FileDelta>(fileDeltas(objects, tree(base), tree(baseHead), MAX_FILES).map((f) => [f.path, f]));
    const same = (a: FileDelta['new'], b: FileDelta['new']) => (a === null ? b === null : b !== null && a.oid === b.oid && a.mode === b.mode);
    const changes: CommitChange[] = [];
    const conflicts: string[] = [];
    // A path the other side turned into a directory (or a file under a path that became a file) conflicts too.
    const oursDirs = new Set([...ours.keys()].flatMap((p) => p.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
    for (const f of theirs) {
      const o = ours.get(f.path);
      if (o) {
        if (!same(o.new, f.new)) conflicts.push(f.path);
        continue;
      }
      if (f.new && oursDirs.has(f.path)) {
        conflicts.push(f.path);
        continue;
      }
      if (f.new) changes.push({ kind: 'blob', path: f.path, oid: f.new.oid, mode: f.new.mode });
      else changes.push({ kind: 'delete', path: f.path });
    }
    return { base, changes, conflicts };
  }

  /**
   * Merge an open pull request into its base branch (writers only): a fast-forward when the base
   * has not moved since the pull request's merge base, else a merge commit built by the commit
   * service (base head and refs/pr/N as parents). Files both sides changed are refused, listed.
   */
  async merge(repo: RepoRecord, principal: Principal | null, num: number, comment: unknown): Promise<DiscussionRecord> {
    const p = this.participant(principal);
    if (!can(p, repo, 'write')) throw new AppError('forbidden', 'Forbidden', `You don't have the rights to merge into ${repo.namespace}/${repo.name}`);
    const d = await this.get(repo, num);
    if (!d.isPullRequest) throw invalid('BadRequest', `#${d.num} is a discussion, not a pull request`);
    if (d.status === 'draft') throw invalid('BadRequest', 'A draft pull request cannot be merged: publish it first (status open)');
    if (d.status !== 'open') throw invalid('BadRequest', `Pull request #${d.num} is ${d.status}`);
    const base = d.baseRef ?? `refs/heads/${repo.defaultBranch}`;
    const refs = await this.store.refs(repo.id);
    const head = refs.find((r) => r.name === prRef(d.num))?.oid;
    const baseHead = refs.find((r) => r.name === base)?.oid;
    if (!head) throw invalid('BadRequest', `${prRef(d.num)} does not exist`);
    if (!baseHead) throw invalid('BadRequest', `The base branch ${base} does not exist anymore`);
    const objects = await this.store.objects(repo.id);
    const planned = this.plan(objects, baseHead, head);
    if (planned.conflicts.length) {
      throw new AppError('invalid', 'MergeConflict', `This pull request has conflicts with ${base}: ${planned.conflicts.join(', ')}`, { details: { filesWithConflicts: planned.conflicts } });
    }
    const title = `${d.title} (#${d.num})`;
    let mergeCommitId: string;
    if (planned.base === baseHead) {
      // Nothing new on the base: it moves to the pull request's head.
      if (objects.commit(head).tree === objects.commit(baseHead).tree && head === baseHead) throw invalid('BadRequest', 'This pull request has no associated changes');
      const [r] = await this.store.commit(repo.id, null, [{ name: base, oldOid: baseHead, newOid: head }], true);
      if (!r!.ok) throw new AppError('precondition', 'ParentCommitMismatch', `${base} moved while merging; try again`);
      mergeCommitId = head;
    } else {
      if (!planned.changes.length) throw invalid('BadRequest', 'This pull request has no associated changes');
      const subjects = commitsBetween(objects, planned.base, head, MAX_PR_COMMITS).map((oid) => `- ${objects.commit(oid).message.split('\n')[0]} (${oid.slice(0, 7)})`);
      const result = await this.commits.commit(repo, {
        ref: base,
        changes: planned.changes,
        message: `${title}\n\n${subjects.join('\n')}\n`,
        author: { name: p.user.name, email: p.user.email ?? `${p.user.name}@users.noreply.packhub` },
        expectedHead: baseHead,
        mergeParents: [head],
        allowEmpty: true,
      });
      mergeCommitId = result.commitOid;
    }
    const events: NewDiscussionEvent[] = [];
    if (typeof comment === 'string' && comment.trim()) events.push(CommunityService.commentEvent(p, CommunityService.text(comment, 'comment')));
    events.push({ type: 'status-change', authorId: p.user.id, authorName: p.user.name, data: { status: 'merged' } });
    // The branch has the change now: the pull request is merged whatever happened to its row meanwhile.
    const r = await this.db.community.update(repo.id, d.num, { status: 'merged', mergeCommitId }, events);
    if (!r) throw discussionNotFound();
    return r.discussion;
  }
}

const NULL_OID = '0000000';

/** One file's part of a `git diff`: header, then hunks (text) or a binary note. */
function fileDiff(objects: RepoObjects, f: FileDelta, timeout: number): string {
  const a = f.old;
  const b = f.new;
  const lines = [`diff --git a/${f.path} b/${f.path}`];
  if (!a) lines.push(`new file mode ${b!.mode}`);
  else if (!b) lines.push(`deleted file mode ${a.mode}`);
  else if (a.mode !== b.mode) lines.push(`old mode ${a.mode}`, `new mode ${b.mode}`);
  const short = (x: { oid: string } | null) => (x ? x.oid.slice(0, 7) : NULL_OID);
  lines.push(`index ${short(a)}..${short(b)}${a && b && a.mode === b.mode ? ` ${a.mode}` : ''}`);
  const text = (x: { oid: string; mode: string } | null): string | null => {
    if (!x) return '';
    if (x.mode === '160000' || objects.size(x.oid) > DIFF_MAX_BYTES) return null;
    const data = objects.read(x.oid).data;
    return data.subarray(0, 8000).includes(0) ? null : data.toString('utf8');
  };
  const ta = text(a);
  const tb = text(b);
  const from = a ? `a/${f.path}` : '/dev/null';
  const to = b ? `b/${f.path}` : '/dev/null';
  if (ta === null || tb === null || timeout <= 0) {
    lines.push(`Binary files ${from} and ${to} differ`);
    return `${lines.join('\n')}\n`;
  }
  const patch = createTwoFilesPatch(from, to, ta, tb, undefined, undefined, { context: 3, timeout });
  if (!patch) {
    lines.push(`Binary files ${from} and ${to} differ`);
    return `${lines.join('\n')}\n`;
  }
  // createTwoFilesPatch starts with a "====" line, then ---/+++ and the hunks; git leaves out counts of 1.
  const body = patch
    .split('\n')
    .slice(1)
    .map((l) => (l.startsWith('@@ ') ? l.replace(/^@@ -(\d+),1 /, '@@ -$1 ').replace(/ \+(\d+),1 @@/, ' +$1 @@') : l));
  return `${lines.join('\n')}\n${body.join('\n')}`;
}

