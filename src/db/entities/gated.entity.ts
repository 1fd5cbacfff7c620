import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Times are stored as milliseconds since the epoch, so they read back exactly on every driver. */
const millis = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/** A gated repository: readers need an accepted access request ('auto' accepts every request at once). No row: not gated. */
@Entity({ name: 'repo_gates' })
export class RepoGateEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  /** 'auto' | 'manual'. */
  @Column({ type: 'varchar', length: 8 })
  mode!: string;
}

/** One user's access request to a gated repository, with its state. */
@Entity({ name: 'repo_access_requests' })
@Index('ix_repo_access_requests_list', ['repoId', 'status', 'createdAt'])
export class RepoAccessRequestEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;

  /** 'pending' | 'accepted' | 'rejected'. */
  @Column({ type: 'varchar', length: 16 })
  status!: string;

  /** When the request was made (or the access granted). */
  @Column({ name: 'created_at', type: 'bigint', transformer: millis })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: millis })
  updatedAt!: number;

  /** Granted by a repository admin rather than asked for by the user (the user's email is then not shared). */
  @Column({ type: 'boolean', default: false })
  granted!: boolean;

  @Column({ name: 'rejection_reason', type: 'varchar', length: 1024, nullable: true })
  rejectionReason!: string | null;
}
