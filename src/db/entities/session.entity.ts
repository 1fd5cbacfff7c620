import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from './token.entity.js';

/**
 * A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a copy of the
 * database does not hold usable sessions. Deleting the row ends the session on every replica.
 */
@Entity({ name: 'sessions' })
export class SessionEntity {
  @PrimaryColumn({ name: 'id_hash', type: 'varchar', length: 64 })
  idHash!: string;

  @Index('ix_sessions_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @Index('ix_sessions_expires')
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: Date;

  @Column({ name: 'last_seen_at', type: 'bigint', transformer: epochMs })
  lastSeenAt!: Date;
}
