import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'organizations' })
export class OrgEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('uq_organizations_name', { unique: true })
  @Column({ type: 'varchar', length: 96 })
  name!: string;

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
