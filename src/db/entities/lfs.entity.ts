import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

const bigint = { to: (v: number) => v, from: (v: string | number) => Number(v) };

@Entity({ name: 'lfs_objects' })
export class LfsObjectEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  oid!: string;

  @Column({ type: 'bigint', transformer: bigint })
  size!: number;

  /** When garbage collection first found no repository linking it (epoch ms); null while linked. */
  @Column({ name: 'orphaned_at', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) } })
  orphanedAt!: number | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}

@Entity({ name: 'repo_lfs_objects' })
export class RepoLfsObjectEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  oid!: string;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}

@Entity({ name: 'lfs_locks' })
@Index('uq_lfs_locks_path', ['repoId', 'path'], { unique: true })
export class LfsLockEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @Column({ type: 'varchar', length: 4096 })
  path!: string;

  @Column({ name: 'owner_id', type: 'integer' })
  ownerId!: number;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  ref!: string | null;

  @CreateDateColumn({ name: 'locked_at' })
  lockedAt!: Date;
}

@Entity({ name: 'settings' })
export class SettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  key!: string;

  @Column({ type: 'text' })
  value!: string;
}
