import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from './token.entity.js';

const json = { to: (v: unknown) => JSON.stringify(v ?? null), from: (v: string | null) => (v === null || v === undefined ? null : JSON.parse(v)) };

/** A user's webhook: where events of the repositories and namespaces it watches are POSTed. */
@Entity({ name: 'webhooks' })
export class WebhookEntity {
  /** 24 lowercase hex digits, as the Hub's ids. */
  @PrimaryColumn({ type: 'varchar', length: 24 })
  id!: string;

  @Index('ix_webhooks_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'varchar', length: 256, nullable: true })
  secret!: string | null;

  /** JSON array of domains ('repo', 'discussion'). */
  @Column({ type: 'text', transformer: json })
  domains!: string[];

  /** JSON array of {type, name} as the owner gave them (the webhook_watches rows index them). */
  @Column({ type: 'text', transformer: json })
  watched!: { type: string; name: string }[];

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;
}

/** One watched thing of a webhook, by kind ('ns' for a user or organization, or a repo type) and lower-cased name. */
@Entity({ name: 'webhook_watches' })
@Index('ix_webhook_watches_target', ['kind', 'nameKey'])
export class WebhookWatchEntity {
  @PrimaryColumn({ name: 'webhook_id', type: 'varchar', length: 24 })
  webhookId!: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  kind!: string;

  @PrimaryColumn({ name: 'name_key', type: 'varchar', length: 300 })
  nameKey!: string;
}

/** One event sent (or being sent) to a webhook: the delivery log. */
@Entity({ name: 'webhook_deliveries' })
@Index('ix_webhook_deliveries_hook', ['webhookId', 'createdAt'])
export class WebhookDeliveryEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'webhook_id', type: 'varchar', length: 24 })
  webhookId!: string;

  @Column({ name: 'job_id', type: 'varchar', length: 36, nullable: true })
  jobId!: string | null;

  /** event.scope and event.action of the payload. */
  @Column({ type: 'varchar', length: 32 })
  scope!: string;

  @Column({ type: 'varchar', length: 16 })
  action!: string;

  @Column({ name: 'repo_id', type: 'varchar', length: 36 })
  repoId!: string;

  /** The JSON body sent. */
  @Column({ type: 'text' })
  payload!: string;

  /** pending, delivered, failed, skipped. */
  @Column({ type: 'varchar', length: 16 })
  state!: string;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: Date;

  @Column({ name: 'delivered_at', type: 'bigint', nullable: true, transformer: epochMs })
  deliveredAt!: Date | null;
}
