import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { WebhookDeliveryEntity, WebhookEntity, WebhookWatchEntity } from './entities/index.js';

export interface WebhookWatch {
  /** user, org, model, dataset, space. */
  type: string;
  name: string;
}

export interface WebhookRecord {
  id: string;
  userId: number;
  url: string;
  secret: string | null;
  domains: string[];
  watched: WebhookWatch[];
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed' | 'skipped';

export interface WebhookDeliveryRecord {
  id: string;
  webhookId: string;
  jobId: string | null;
  scope: string;
  action: string;
  repoId: string;
  payload: string;
  state: WebhookDeliveryState;
  attempts: number;
  responseStatus: number | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

/** What a watch is matched by: 'ns' (a user's or organization's repositories) or the repository type, and the lower-cased name. */
export const watchKey = (w: WebhookWatch) => ({ kind: w.type === 'user' || w.type === 'org' ? 'ns' : w.type, nameKey: w.name.toLowerCase() });

export interface WebhooksDb {
  create(input: Pick<WebhookRecord, 'userId' | 'url' | 'secret' | 'domains' | 'watched'>): Promise<WebhookRecord>;
  get(id: string): Promise<WebhookRecord | null>;
  /** A user's webhooks, oldest first. */
  listForUser(userId: number): Promise<WebhookRecord[]>;
  countForUser(userId: number): Promise<number>;
  update(id: string, patch: Partial<Pick<WebhookRecord, 'url' | 'secret' | 'domains' | 'watched' | 'disabled'>>): Promise<WebhookRecord | null>;
  /** Removes the webhook with its watches and deliveries; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Enabled webhooks watching the namespace or the repository (type, `ns/name`), case-insensitive. */
  watching(namespace: string, repoType: string, repoName: string): Promise<WebhookRecord[]>;
  /** A new pending delivery; the webhook's log keeps its last `keep` deliveries. */
  addDelivery(input: Pick<WebhookDeliveryRecord, 'webhookId' | 'scope' | 'action' | 'repoId' | 'payload'>, keep: number): Promise<WebhookDeliveryRecord>;
  setDeliveryJob(id: string, jobId: string): Promise<void>;
  getDelivery(id: string): Promise<WebhookDeliveryRecord | null>;
  updateDelivery(id: string, patch: Partial<Pick<WebhookDeliveryRecord, 'state' | 'attempts' | 'responseStatus' | 'error' | 'deliveredAt'>>): Promise<void>;
  /** Newest first. */
  deliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
}

const toHook = (e: WebhookEntity): WebhookRecord => ({ ...e, domains: e.domains ?? [], watched: e.watched ?? [], disabled: !!e.disabled });
const toDelivery = (e: WebhookDeliveryEntity): WebhookDeliveryRecord => ({ ...e, state: e.state as WebhookDeliveryState });

/** Webhooks, what they watch, and their delivery log. `write` serializes writes on SQLite. */
export function createWebhooksDb(ds: DataSource, write: <T>(fn: () => Promise<T>) => Promise<T>): WebhooksDb {
  const hooks = () => ds.getRepository(WebhookEntity);
  const deliveries = () => ds.getRepository(WebhookDeliveryEntity);
  const get = async (id: string) => {
    const e = await hooks().findOneBy({ id });
    return e ? toHook(e) : null;
  };
  const watchRows = (id: string, watched: WebhookWatch[]) => {
    const seen = new Map<string, WebhookWatchEntity>();
    for (const w of watched) {
      const k = watchKey(w);
      seen.set(`${k.kind}\0${k.nameKey}`, Object.assign(new WebhookWatchEntity(), { webhookId: id, ...k }));
    }
    return [...seen.values()];
  };
  return {
    async create(input) {
      const now = new Date();
      const id = crypto.randomBytes(12).toString('hex');
      await write(() =>
        ds.transaction(async (m) => {
          await m.insert(WebhookEntity, { id, ...input, disabled: false, createdAt: now, updatedAt: now } as never);
          const rows = watchRows(id, input.watched);
          if (rows.length) await m.insert(WebhookWatchEntity, rows);
        }),
      );
      return (await get(id))!;
    },
    get,
    async listForUser(userId) {
      return (await hooks().find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } })).map(toHook);
    },
    countForUser(userId) {
      return hooks().countBy({ userId });
    },
    async update(id, patch) {
      const done = await write(() =>
        ds.transaction(async (m) => {
          const r = await m.update(WebhookEntity, { id }, { ...patch, updatedAt: new Date() } as never);
          if (!r.affected) return false;
          if (patch.watched) {
            await m.delete(WebhookWatchEntity, { webhookId: id });
            const rows = watchRows(id, patch.watched);
            if (rows.length) await m.insert(WebhookWatchEntity, rows);
          }
          return true;
        }),
      );
      return done ? get(id) : null;
    },
    async delete(id) {
      return write(() =>
        ds.transaction(async (m) => {
          const r = await m.delete(WebhookEntity, { id });
          await m.delete(WebhookWatchEntity, { webhookId: id });
          await m.delete(WebhookDeliveryEntity, { webhookId: id });
          return !!r.affected;
        }),
      );
    },
    async watching(namespace, repoType, repoName) {
      const rows = await hooks()
        .createQueryBuilder('h')
        .where('NOT h.disabled')
        .andWhere(
          `h.id IN (SELECT w.webhook_id FROM webhook_watches w WHERE (w.kind = 'ns' AND w.name_key = :ns) OR (w.kind = :type AND w.name_key = :full))`,
          { ns: namespace.toLowerCase(), type: repoType, full: `${namespace}/${repoName}`.toLowerCase() },
        )
        .orderBy('h.id', 'ASC')
        .getMany();
      return rows.map(toHook);
    },
    async addDelivery(input, keep) {
      const now = new Date();
      const e = deliveries().create({ id: crypto.randomUUID(), ...input, jobId: null, state: 'pending', attempts: 0, responseStatus: null, error: null, createdAt: now, updatedAt: now, deliveredAt: null });
      await write(async () => {
        await deliveries().insert(e as never);
        // The log keeps the newest `keep` deliveries of the webhook.
        const old = await deliveries().find({ where: { webhookId: input.webhookId }, order: { createdAt: 'DESC', id: 'DESC' }, skip: keep, take: 100, select: { id: true } });
        if (old.length) await deliveries().delete(old.map((o) => o.id));
      });
      return toDelivery(e);
    },
    async setDeliveryJob(id, jobId) {
      await write(() => deliveries().update({ id }, { jobId }));
    },
    async getDelivery(id) {
      const e = await deliveries().findOneBy({ id });
      return e ? toDelivery(e) : null;
    },
    async updateDelivery(id, patch) {
      await write(() => deliveries().update({ id }, { ...patch, updatedAt: new Date() } as never));
    },
    async deliveries(webhookId, limit) {
      return (await deliveries().find({ where: { webhookId }, order: { createdAt: 'DESC', id: 'DESC' }, take: limit })).map(toDelivery);
    },
  };
}
