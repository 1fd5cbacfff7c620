import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * An LFS object permanently deleted from a repository (`lfs-files/batch`): garbage collection does
 * not link it again from pointers the repository's history still holds. Uploading the content again
 * links it as before.
 */
@Entity({ name: 'repo_lfs_deletions' })
export class RepoLfsDeletionEntity {
  @PrimaryColumn({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  oid!: string;

  @CreateDateColumn({ name: 'deleted_at' })
  deletedAt!: Date;
}
