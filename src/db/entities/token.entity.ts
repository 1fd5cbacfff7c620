import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Dates stored as epoch milliseconds (one portable type for SQLite and PostgreSQL). */
export const epochMs = {
  to: (v: Date | null | undefined) => (v ? v.getTime() : null),
  from: (v: string | number | null) => (v === null || v === undefined ? null : new Date(Number(v))),
};

@Entity({ name: 'tokens' })
export class TokenEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('ix_tokens_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  scope!: 'read' | 'write';

  @Index('uq_tokens_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  /** Epoch milliseconds (one portable type for SQLite and PostgreSQL). */
  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: epochMs })
  expiresAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'bigint', nullable: true, transformer: epochMs })
  lastUsedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
