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

  /**
   * sha256 of the sorted wants of a full clone whose answer is exactly this pack (every object in it,
   * nothing else), proven by an enumeration: such a clone is sent the stored file as it is.
   */
  @Column({ name: 'clone_key', type: 'varchar', length: 64, nullable: true })
  cloneKey!: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
