import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Downloads of a repository on one UTC day (src/repos/downloads.ts says what counts as one). */
@Entity({ name: 'repo_downloads' })
export class RepoDownloadEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  /** Days since 1970-01-01 (UTC). */
  @PrimaryColumn({ type: 'integer' })
  day!: number;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  n!: number;
}
