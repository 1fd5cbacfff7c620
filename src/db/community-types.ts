/** Records of discussions and pull requests (src/db/community-db.ts implements CommunityDb). */

export type DiscussionStatus = 'open' | 'closed' | 'merged' | 'draft';

export interface DiscussionRecord {
  repoId: string;
  /** Shared by discussions and pull requests, and with refs/pr/N. */
  num: number;
  isPullRequest: boolean;
  title: string;
  status: DiscussionStatus;
  authorId: number | null;
  authorName: string;
  /** Pull requests: the branch they merge into (refs/heads/x). */
  baseRef: string | null;
  /** Pull requests: the commit refs/pr/N started from. */
  startOid: string | null;
  mergeCommitId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DiscussionEventRecord {
  /** 24 lowercase hex digits. */
  id: string;
  repoId: string;
  num: number;
  /** Order within the thread. */
  seq: number;
  type: string;
  authorId: number | null;
  authorName: string | null;
  createdAt: Date;
  data: Record<string, unknown>;
}

export interface NewDiscussionEvent {
  type: string;
  authorId: number | null;
  authorName: string | null;
  data: Record<string, unknown>;
}

export interface CommunityDb {
  /**
   * A new discussion numbered after every discussion of the repository and after `after` (the
   * highest refs/pr/N), with its first events, in one transaction.
   */
  create(
    input: Omit<DiscussionRecord, 'num' | 'mergeCommitId' | 'createdAt' | 'updatedAt'>,
    after: number,
    events: NewDiscussionEvent[],
  ): Promise<{ discussion: DiscussionRecord; events: DiscussionEventRecord[] }>;
  get(repoId: string, num: number): Promise<DiscussionRecord | null>;
  /** Newest first; `count` is the number of matches. */
  list(
    repoId: string,
    filter: { isPullRequest?: boolean; statuses?: DiscussionStatus[]; authorName?: string; offset: number; limit: number },
  ): Promise<{ items: DiscussionRecord[]; count: number }>;
  /**
   * Changes fields and appends events in one transaction. With `ifStatus`, only while the status
   * is one of these: null (and nothing changed) otherwise, or when the discussion does not exist.
   */
  update(
    repoId: string,
    num: number,
    patch: Partial<Pick<DiscussionRecord, 'title' | 'status' | 'mergeCommitId'>>,
    events: NewDiscussionEvent[],
    ifStatus?: DiscussionStatus[],
  ): Promise<{ discussion: DiscussionRecord; events: DiscussionEventRecord[] } | null>;
  /** The thread in order. */
  events(repoId: string, num: number): Promise<DiscussionEventRecord[]>;
  getEvent(repoId: string, num: number, id: string): Promise<DiscussionEventRecord | null>;
  /** Replaces an event's data (comment edits, hiding); null when it does not exist. */
  setEventData(repoId: string, num: number, id: string, data: Record<string, unknown>): Promise<DiscussionEventRecord | null>;
  /** Removes a discussion with its events (a pull request whose first commit failed). */
  delete(repoId: string, num: number): Promise<void>;
}

export interface LikesDb {
  /** true when the like is new. */
  like(userId: number, repoId: string): Promise<boolean>;
  /** true when there was a like to remove. */
  unlike(userId: number, repoId: string): Promise<boolean>;
  /** Likes per repository (0 for none). */
  counts(repoIds: string[]): Promise<Map<string, number>>;
  /** Who liked a repository, oldest first. */
  likers(repoId: string, offset: number, limit: number): Promise<{ userName: string; createdAt: Date }[]>;
  /** What a user liked, newest first. */
  ofUser(userId: number): Promise<{ repoId: string; createdAt: Date }[]>;
}
