import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Times are stored as milliseconds since the epoch, so they read back exactly on every driver. */
const millis = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/**
 * A commit of a mirror that is not the upstream's own: its history came by the REST API (no git
 * endpoint upstream), so each upstream commit became a synthetic local one. Unique both ways, so an
 * upstream id names one local commit and a local commit stands for one upstream commit.
 */
@Entity({ name: 'commit_map' })
@Index('IDX_commit_map_local', ['repoId', 'localSha'], { unique: true })
export class CommitMapEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ name: 'upstream_sha', type: 'varchar', length: 40 })
  upstreamSha!: string;

  @Column({ name: 'local_sha', type: 'varchar', length: 40 })
  localSha!: string;

  /** How the local commit was made: 'rest' (built from the upstream's tree listing and files). */
  @Column({ type: 'varchar', length: 16 })
  method!: string;

  @Column({ name: 'imported_at', type: 'bigint', transformer: millis })
  importedAt!: number;
}
