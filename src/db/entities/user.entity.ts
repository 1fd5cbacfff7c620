import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('uq_users_name', { unique: true })
  @Column({ type: 'varchar', length: 96 })
  name!: string;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin!: boolean;

  @Column({ name: 'password_hash', type: 'varchar', length: 512, nullable: true })
  passwordHash!: string | null;

  /** A disabled account cannot sign in, and its sessions and tokens are refused. */
  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  /** Profile: the full name shown beside the user name, and an avatar image URL (null: none set). */
  @Column({ type: 'varchar', length: 256, nullable: true })
  fullname!: string | null;

  @Column({ name: 'avatar_url', type: 'varchar', length: 2048, nullable: true })
  avatarUrl!: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
