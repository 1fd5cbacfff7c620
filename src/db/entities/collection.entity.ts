import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from './token.entity.js';

/** A collection: an owner's (user or organization) titled, ordered list of repositories, papers and collections. */
@Entity({ name: 'collections' })
@Index('ix_collections_namespace', ['namespace', 'position'])
@Index('ix_collections_updated', ['updatedAt'])
export class CollectionEntity {
  /** 24 lowercase hex digits: the trailing part of the slug, which never changes. */
  @PrimaryColumn({ type: 'varchar', length: 24 })
  id!: string;

  /** The owner's name as stored (user or organization). */
  @Column({ type: 'varchar', length: 96 })
  namespace!: string;

  @Column({ type: 'varchar', length: 256 })
  title!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'boolean', default: false })
  private!: boolean;

  /** orange, blue, green, purple, pink, indigo. */
  @Column({ type: 'varchar', length: 16 })
  theme!: string;

  /** Order among the owner's collections (0 first). */
  @Column({ type: 'integer', default: 0 })
  position!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;
}

/**
 * One item of a collection. `ref` is what the item points at: a repository's immutable id (so a
 * renamed repository stays in its collections), a paper id, or a collection's 24-hex id.
 */
@Entity({ name: 'collection_items' })
@Index('ix_collection_items_order', ['collectionId', 'position'])
@Index('ux_collection_items_ref', ['collectionId', 'type', 'ref'], { unique: true })
@Index('ix_collection_items_target', ['ref'])
export class CollectionItemEntity {
  /** 24 lowercase hex digits (the item's `_id`). */
  @PrimaryColumn({ type: 'varchar', length: 24 })
  id!: string;

  @Column({ name: 'collection_id', type: 'varchar', length: 24 })
  collectionId!: string;

  /** model, dataset, space, paper, collection. */
  @Column({ type: 'varchar', length: 16 })
  type!: string;

  @Column({ type: 'varchar', length: 128 })
  ref!: string;

  @Column({ type: 'text', nullable: true })
  note!: string | null;

  /** Sort key within the collection (answers number the items 0, 1, 2, ...). */
  @Column({ type: 'integer' })
  position!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;
}
