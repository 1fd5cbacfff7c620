import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

const millis = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/**
 * What a listing shows of a repository's default-branch head commit (src/repos/listing-summary.ts):
 * commits are immutable, so a row is right for as long as `head_sha` is still the head. Listings
 * compare it with the ref and rebuild rows that differ (another replica moved the branch).
 */
@Entity({ name: 'repo_listing' })
export class RepoListingEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  /** The commit this row was derived from. */
  @Column({ name: 'head_sha', type: 'varchar', length: 64 })
  headSha!: string;

  /** The commit's committer time, milliseconds since the epoch. */
  @Column({ name: 'last_modified', type: 'bigint', transformer: millis })
  lastModified!: number;

  /** README.md front matter as JSON (the Hub's cardData), or null. */
  @Column({ type: 'text', nullable: true })
  card!: string | null;
}

/** The tags `filter=` matches for a repository's head commit (src/hf/repo-json.ts filterTags), one row each. */
@Entity({ name: 'repo_listing_tags' })
@Index('ix_repo_listing_tags_tag', ['tag', 'repoId'])
export class RepoListingTagEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'varchar', length: 200 })
  tag!: string;
}
