import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'packs' })
export class PackEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'varchar', length: 40 })
  name!: string;

  @Column({ name: 'object_count', type: 'integer' })
  objectCount!: number;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  sizeBytes!: number;

  @Column({ type: 'varchar', length: 16 })
  source!: 'receive' | 'insert' | 'compact';

  @Column({ type: 'varchar', length: 16, default: 'live' })
  state!: 'live' | 'superseded';

  /** When compaction superseded it (epoch ms); deleted once every replica's grace period is over. */
  @Column({ name: 'superseded_at', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) } })
  supersededAt!: number | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
