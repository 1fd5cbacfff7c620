import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'refs' })
export class RefEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'varchar', length: 1024 })
  name!: string;

  @Column({ type: 'varchar', length: 40 })
  oid!: string;

  @Column({ type: 'varchar', length: 40, nullable: true })
  peeled!: string | null;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
