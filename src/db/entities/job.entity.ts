import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from './token.entity.js';

const count = { to: (v: number | null | undefined) => v ?? null, from: (v: string | number | null) => (v === null || v === undefined ? null : Number(v)) };
const json = { to: (v: unknown) => JSON.stringify(v ?? null), from: (v: string | null) => (v === null || v === undefined ? null : JSON.parse(v)) };

/**
 * A background job (mirror sync, download, import, webhook delivery...). Claimed by one replica at
 * a time with a lease (owner + expiry, renewed while it runs); a running job whose lease expired is
 * taken over. Dates are epoch milliseconds, compared by value on both drivers.
 */
@Entity({ name: 'jobs' })
@Index('ix_jobs_state_kind', ['state', 'kind'])
export class JobEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  kind!: string;

  @Index('ix_jobs_repo')
  @Column({ name: 'repo_id', type: 'varchar', length: 36, nullable: true })
  repoId!: string | null;

  @Column({ name: 'repo_label', type: 'varchar', length: 300, nullable: true })
  repoLabel!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  revision!: string | null;

  /** JSON array of paths or globs. */
  @Column({ type: 'text', transformer: json })
  paths!: string[];

  /** JSON object, the handler's own. */
  @Column({ type: 'text', transformer: json })
  params!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16 })
  state!: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  @Column({ name: 'bytes_done', type: 'bigint', default: 0, transformer: count })
  bytesDone!: number;

  @Column({ name: 'bytes_total', type: 'bigint', nullable: true, transformer: count })
  bytesTotal!: number | null;

  @Column({ name: 'files_done', type: 'integer', default: 0 })
  filesDone!: number;

  @Column({ name: 'files_total', type: 'integer', nullable: true })
  filesTotal!: number | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** What a completed job reports (JSON), e.g. the bytes a garbage collection reclaimed. */
  @Column({ type: 'text', nullable: true })
  result!: string | null;

  @Column({ name: 'retry_of', type: 'varchar', length: 36, nullable: true })
  retryOf!: string | null;

  /** The replica that ran (or runs) the latest attempt. */
  @Column({ name: 'run_by', type: 'varchar', length: 128, nullable: true })
  runBy!: string | null;

  @Index('ix_jobs_created')
  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'bigint', nullable: true, transformer: epochMs })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'bigint', nullable: true, transformer: epochMs })
  finishedAt!: Date | null;

  @Index('ix_jobs_updated')
  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;

  @Column({ name: 'lease_owner', type: 'varchar', length: 128, nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_expires_at', type: 'bigint', nullable: true, transformer: epochMs })
  leaseExpiresAt!: Date | null;

  /** A queued job is not claimed before this time (a retry's backoff); null: at once. */
  @Column({ name: 'run_after', type: 'bigint', nullable: true, transformer: epochMs })
  runAfter!: Date | null;
}

/** A job's log: the last lines of each job (older ones are trimmed), kept after the job ends. */
@Entity({ name: 'job_logs' })
export class JobLogEntity {
  @PrimaryColumn({ name: 'job_id', type: 'varchar', length: 36 })
  jobId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'bigint', transformer: epochMs })
  at!: Date;

  @Column({ type: 'text' })
  line!: string;
}
