import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A name a repository was moved away from (lower-cased, as repository lookups compare): the old
 * name keeps answering with a redirect to the repository's current name until a repository takes it.
 */
@Entity({ name: 'repo_redirects' })
@Index('ix_repo_redirects_repo', ['repoId'])
export class RepoRedirectEntity {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  type!: 'model' | 'dataset' | 'space';

  @PrimaryColumn({ name: 'namespace_key', type: 'varchar', length: 96 })
  namespaceKey!: string;

  @PrimaryColumn({ name: 'name_key', type: 'varchar', length: 96 })
  nameKey!: string;

  @Column({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
