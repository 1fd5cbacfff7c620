import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'repositories' })
@Index('uq_repositories_name', ['type', 'namespace', 'name'], { unique: true })
@Index('uq_repositories_name_key', ['type', 'namespaceKey', 'nameKey'], { unique: true })
/** Listings' default order (newest first): a page is read from the index instead of sorting every repository. */
@Index('ix_repositories_type_created', ['type', 'createdAt'])
export class RepoEntity {
  /** Immutable: storage keys use it. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  type!: 'model' | 'dataset' | 'space';

  @Column({ type: 'varchar', length: 96 })
  namespace!: string;

  @Column({ type: 'varchar', length: 96 })
  name!: string;

  /**
   * Lower-cased namespace and name: ids are case-insensitive on lookup (the stored case wins in
   * answers), and two repositories of one type may not differ only in case (the unique index refuses it).
   */
  @Column({ name: 'namespace_key', type: 'varchar', length: 96 })
  namespaceKey!: string;

  @Column({ name: 'name_key', type: 'varchar', length: 96 })
  nameKey!: string;

  @Column({ type: 'boolean', default: false })
  private!: boolean;

  @Column({ name: 'default_branch', type: 'varchar', length: 255, default: 'main' })
  defaultBranch!: string;

  /**
   * Bumped by every compaction that drops unreachable objects: a write checked against the objects
   * of an older epoch must check again before its refs may move (src/git/store/compactor.ts).
   */
  @Column({ name: 'gc_epoch', type: 'integer', default: 0 })
  gcEpoch!: number;

  /** A fresh random value in every transaction that changes refs, live packs, the gc epoch or the gate mode (see RepoRecord.stateVersion). */
  @Column({ name: 'state_version', type: 'integer', default: 0 })
  stateVersion!: number;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
