import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Users and organizations share one name space, unique case-insensitively: every account name has a
 * row here keyed by its lower-cased form, inserted in the same transaction as the account, so two
 * concurrent registrations of `Bob` and `bob` cannot both succeed (the primary key refuses the second).
 */
@Entity({ name: 'namespace_names' })
export class NamespaceNameEntity {
  @PrimaryColumn({ name: 'name_key', type: 'varchar', length: 96 })
  nameKey!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: 'user' | 'org';

  @Column({ type: 'varchar', length: 96 })
  name!: string;
}
