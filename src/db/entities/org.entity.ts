import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'organizations' })
export class OrgEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('uq_organizations_name', { unique: true })
  @Column({ type: 'varchar', length: 96 })
  name!: string;

  /** Profile: the full name shown beside the organization name, and an avatar image URL (null: none set). */
  @Column({ type: 'varchar', length: 256, nullable: true })
  fullname!: string | null;

  @Column({ name: 'avatar_url', type: 'varchar', length: 2048, nullable: true })
  avatarUrl!: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}

@Entity({ name: 'memberships' })
export class MembershipEntity {
  @PrimaryColumn({ name: 'org_id', type: 'integer' })
  orgId!: number;

  @Index('ix_memberships_user')
  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ type: 'varchar', length: 16 })
  role!: 'read' | 'write' | 'admin';
}
