import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Times are stored as milliseconds since the epoch, so they read back exactly on every driver. */
const millis = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/** A discussion or pull request of a repository; `num` is shared with the repository's refs/pr/N. */
@Entity({ name: 'discussions' })
@Index('ix_discussions_repo_created', ['repoId', 'createdAt'])
export class DiscussionEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'integer' })
  num!: number;

  @Column({ name: 'is_pull_request', type: 'boolean' })
  isPullRequest!: boolean;

  @Column({ type: 'varchar', length: 512 })
  title!: string;

  /** open, closed, merged (pull requests), draft (pull requests). */
  @Column({ type: 'varchar', length: 16 })
  status!: string;

  @Column({ name: 'author_id', type: 'integer', nullable: true })
  authorId!: number | null;

  @Column({ name: 'author_name', type: 'varchar', length: 96 })
  authorName!: string;

  /** Pull requests: the branch they merge into (refs/heads/x). */
  @Column({ name: 'base_ref', type: 'varchar', length: 1024, nullable: true })
  baseRef!: string | null;

  /** Pull requests: the commit refs/pr/N started from. */
  @Column({ name: 'start_oid', type: 'varchar', length: 40, nullable: true })
  startOid!: string | null;

  @Column({ name: 'merge_commit_id', type: 'varchar', length: 40, nullable: true })
  mergeCommitId!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: millis })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: millis })
  updatedAt!: number;
}

/** One event of a discussion's thread (comment, status change, title change), in `seq` order. */
@Entity({ name: 'discussion_events' })
@Index('uq_discussion_events_seq', ['repoId', 'num', 'seq'], { unique: true })
export class DiscussionEventEntity {
  /** 24 lowercase hex digits. */
  @PrimaryColumn({ type: 'varchar', length: 24 })
  id!: string;

  @Column({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @Column({ type: 'integer' })
  num!: number;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  type!: string;

  @Column({ name: 'author_id', type: 'integer', nullable: true })
  authorId!: number | null;

  @Column({ name: 'author_name', type: 'varchar', length: 96, nullable: true })
  authorName!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: millis })
  createdAt!: number;

  /** The event's data as JSON (its shape depends on the type). */
  @Column({ type: 'text' })
  data!: string;
}

/** A user's like of a repository. */
@Entity({ name: 'repo_likes' })
@Index('ix_repo_likes_repo', ['repoId', 'createdAt'])
export class RepoLikeEntity {
  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;

  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: millis })
  createdAt!: number;
}
