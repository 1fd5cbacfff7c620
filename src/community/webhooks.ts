import crypto from 'node:crypto';
import { AppError, invalid, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db, DiscussionRecord, RepoRecord, WebhookDeliveryRecord, WebhookRecord, WebhookWatch } from '../db/db.js';
import { can } from '../auth/permissions.js';
import { principalFor, type Principal } from '../auth/principal.js';
import type { JobEngine } from '../jobs/engine.js';
import type { JobContext, JobKindOptions } from '../jobs/types.js';
import { isNonPublicAddress, NonPublicAddressError, postOutbound } from '../core/outbound.js';
import { eventComment, type EventComment, type HubEvent } from './events.js';

export const WEBHOOK_JOB = 'webhook.deliver';
export const DOMAINS = ['repo', 'discussion'] as const;
export type WebhookDomain = (typeof DOMAINS)[number];
const WATCH_TYPES = ['user', 'org', 'model', 'dataset', 'space'] as const;

/** Webhooks one user may have; things one webhook may watch. */
export const MAX_WEBHOOKS_PER_USER = 100;
export const MAX_WATCHED = 100;
const URL_MAX = 2048;
const SECRET_MAX = 256;
/** Deliveries a webhook's log keeps; deliveries one listing shows. */
const LOG_KEEP = 200;
export const LOG_PAGE = 50;
/** Characters of a comment a payload carries; refs one payload lists. */
const COMMENT_MAX = 16_384;
const REFS_MAX = 1000;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$/;

export interface WebhookSettings {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** Deliveries may go to loopback, private and link-local addresses (PACKHUB_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

export interface WebhookDeps {
  db: Db;
  jobs: JobEngine;
  settings: WebhookSettings;
  /** The hub's base URL for links in payloads when the event does not carry the request's (PACKHUB_PUBLIC_URL, else where it listens). */
  origin: () => string;
  log: Logger;
}

/** The Hub's webhook object. */
export function webhookJson(h: WebhookRecord): Record<string, unknown> {
  return { id: h.id, url: h.url, job: null, watched: h.watched, domains: h.domains, secret: h.secret, disabled: h.disabled };
}

export function deliveryJson(d: WebhookDeliveryRecord): Record<string, unknown> {
  return {
    id: d.id,
    event: { scope: d.scope, action: d.action },
    state: d.state,
    attempts: d.attempts,
    status: d.responseStatus,
    error: d.error,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    deliveredAt: d.deliveredAt ? d.deliveredAt.toISOString() : null,
  };
}

/**
 * http(s) only, no credentials in it, at most 2048 characters; unless allowed, not an address literal
 * or name that is plainly not public (a name that resolves to one is refused when delivering).
 */
export function checkWebhookUrl(raw: unknown, allowPrivate: boolean): string {
  if (typeof raw !== 'string' || !raw || raw.length > URL_MAX) throw invalid('BadRequest', `url must be an http(s) URL of at most ${URL_MAX} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid('BadRequest', 'url is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('BadRequest', 'url must use http or https');
  if (u.username || u.password) throw invalid('BadRequest', 'url must not carry credentials: use the webhook secret (sent as X-Webhook-Secret)');
  if (!allowPrivate) {
    const host = u.hostname.toLowerCase();
    if (isNonPublicAddress(host) || host === 'localhost' || host.endsWith('.localhost')) {
      throw invalid('BadRequest', `url must point at a public address, not ${u.hostname} (an operator may allow private addresses with PACKHUB_WEBHOOK_ALLOW_PRIVATE=on)`);
    }
  }
  return u.toString();
}

function checkSecret(raw: unknown): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  if (typeof raw !== 'string' || raw.length > SECRET_MAX || !/^[\x20-\x7e]+$/.test(raw)) throw invalid('BadRequest', `secret must be printable ASCII of at most ${SECRET_MAX} characters`);
  return raw;
}

function checkDomains(raw: unknown): WebhookDomain[] {
  if (!Array.isArray(raw) || raw.length > 10) throw invalid('BadRequest', 'domains must be a list of "repo" and "discussion"');
  const out = new Set<WebhookDomain>();
  for (const d of raw) {
    if (d === 'repo') out.add('repo');
    else if (d === 'discussion' || d === 'discussions') out.add('discussion');
    else throw invalid('BadRequest', `unknown domain ${JSON.stringify(d)}: use "repo" or "discussion"`);
  }
  if (!out.size) throw invalid('BadRequest', 'domains must name at least one domain');
  return DOMAINS.filter((d) => out.has(d));
}

function checkWatched(raw: unknown): WebhookWatch[] {
  if (!Array.isArray(raw) || raw.length > MAX_WATCHED) throw invalid('BadRequest', `watched must be a list of at most ${MAX_WATCHED} {type, name}`);
  return raw.map((w) => {
    const { type, name } = (w ?? {}) as { type?: unknown; name?: unknown };
    if (typeof type !== 'string' || !(WATCH_TYPES as readonly string[]).includes(type)) throw invalid('BadRequest', `watched type must be one of ${WATCH_TYPES.join(', ')}`);
    const parts = typeof name === 'string' ? name.split('/') : [];
    const ok = type === 'user' || type === 'org' ? parts.length === 1 : parts.length === 2;
    if (!ok || !parts.every((p) => NAME_RE.test(p))) throw invalid('BadRequest', `invalid watched ${type} name ${JSON.stringify(name)}${type === 'user' || type === 'org' ? '' : ' (namespace/name)'}`);
    return { type, name: name as string };
  });
}

const webhookNotFound = () => notFound('WebhookNotFound', 'Webhook not found');

class DeliveryFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The delivery row already says what happened. */
    readonly recorded = false,
  ) {
    super(message);
  }
}

/**
 * Webhooks: a user's subscriptions to the events of repositories and namespaces. Each event a
 * webhook should see becomes a delivery (a row of its log, holding the payload) and a
 * `webhook.deliver` job; the job POSTs it, and the job engine tries failed attempts again with
 * backoff. Events of a repository reach only webhooks whose owner may read it, checked when the
 * event happens and again before each attempt.
 */
export class WebhookService {
  constructor(private readonly deps: WebhookDeps) {}

  /** The job kind's handler and retry policy (registered on the engine by the app). */
  jobKind(): { handler: (ctx: JobContext) => Promise<void>; options: JobKindOptions } {
    const { attempts, backoffMs } = this.deps.settings;
    return {
      handler: (ctx) => this.deliver(ctx),
      options: {
        retry: {
          attempts,
          backoffMs: (attempt) => Math.min(backoffMs * 2 ** Math.max(0, attempt - 1), 3_600_000),
          retryable: (err) => !(err instanceof DeliveryFailed) || err.retryable,
        },
      },
    };
  }

  // ---- management (the signed-in user's own webhooks) -------------------------------------

  private static owner(principal: Principal | null, write: boolean): Principal {
    if (!principal) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    if (write && principal.scope !== 'write') throw new AppError('forbidden', 'Forbidden', 'this token is read-only');
    return principal;
  }

  async list(principal: Principal | null): Promise<WebhookRecord[]> {
    const p = WebhookService.owner(principal, false);
    return this.deps.db.webhooks.listForUser(p.user.id);
  }

  /** The caller's webhook; another user's is missing. */
  async get(principal: Principal | null, id: string, write = false): Promise<WebhookRecord> {
    const p = WebhookService.owner(principal, write);
    const h = /^[0-9a-f]{24}$/.test(id) ? await this.deps.db.webhooks.get(id) : null;
    if (!h || h.userId !== p.user.id) throw webhookNotFound();
    return h;
  }

  async create(principal: Principal | null, body: Record<string, unknown>): Promise<WebhookRecord> {
    const p = WebhookService.owner(principal, true);
    if (body.jobSourceId !== undefined && body.jobSourceId !== null) throw invalid('BadRequest', 'job webhooks are not supported by packhub: give a url');
    const url = checkWebhookUrl(body.url, this.deps.settings.allowPrivate);
    const watched = checkWatched(body.watched ?? []);
    if (!watched.length) throw invalid('BadRequest', 'watched must name at least one user, organization or repository');
    const domains = body.domains === undefined || body.domains === null ? [...DOMAINS] : checkDomains(body.domains);
    const secret = checkSecret(body.secret);
    if ((await this.deps.db.webhooks.countForUser(p.user.id)) >= MAX_WEBHOOKS_PER_USER) throw invalid('BadRequest', `a user may have at most ${MAX_WEBHOOKS_PER_USER} webhooks`);
    return this.deps.db.webhooks.create({ userId: p.user.id, url, secret, domains, watched });
  }

  /** null leaves a field unchanged; so does an empty `watched` (the clients always send it). */
  async update(principal: Principal | null, id: string, body: Record<string, unknown>): Promise<WebhookRecord> {
    const h = await this.get(principal, id, true);
    const patch: Partial<Pick<WebhookRecord, 'url' | 'secret' | 'domains' | 'watched'>> = {};
    if (body.url !== undefined && body.url !== null) patch.url = checkWebhookUrl(body.url, this.deps.settings.allowPrivate);
    if (body.watched !== undefined && body.watched !== null) {
      const watched = checkWatched(body.watched);
      if (watched.length) patch.watched = watched;
    }
    if (body.domains !== undefined && body.domains !== null) patch.domains = checkDomains(body.domains);
    if (body.secret !== undefined && body.secret !== null) patch.secret = checkSecret(body.secret);
    return (await this.deps.db.webhooks.update(h.id, patch)) ?? Promise.reject(webhookNotFound());
  }

  async setDisabled(principal: Principal | null, id: string, disabled: boolean): Promise<WebhookRecord> {
    const h = await this.get(principal, id, true);
    return (await this.deps.db.webhooks.update(h.id, { disabled })) ?? Promise.reject(webhookNotFound());
  }

  async delete(principal: Principal | null, id: string): Promise<void> {
    const h = await this.get(principal, id, true);
    await this.deps.db.webhooks.delete(h.id);
  }

  async deliveries(principal: Principal | null, id: string): Promise<WebhookDeliveryRecord[]> {
    const h = await this.get(principal, id);
    return this.deps.db.webhooks.deliveries(h.id, LOG_PAGE);
  }

  // ---- events -> deliveries -------------------------------------------------------------

  /** The bus's listener: one delivery (and job) per webhook that watches the repository, wants the domain and may read it. */
  async onEvent(event: HubEvent): Promise<void> {
    const { db, log } = this.deps;
    const repo = event.domain === 'repo' ? await db.repos.findById(event.repoId) : event.repo;
    if (!repo) return;
    const hooks = (await db.webhooks.watching(repo.namespace, repo.type, repo.name)).filter((h) => h.domains.includes(event.domain));
    if (!hooks.length) return;
    const body = await this.payload(event, repo);
    if (!body) return;
    const readers = new Map<number, boolean>();
    for (const h of hooks) {
      try {
        if (!readers.has(h.userId)) readers.set(h.userId, await this.mayRead(h.userId, repo));
        if (!readers.get(h.userId)) continue;
        const payload = JSON.stringify({ ...body, webhook: { id: h.id, version: 3 } });
        const d = await db.webhooks.addDelivery({ webhookId: h.id, scope: event.scope, action: event.action, repoId: repo.id, payload }, LOG_KEEP);
        try {
          const job = await this.deps.jobs.enqueue({ kind: WEBHOOK_JOB, repoId: repo.id, repoLabel: `${repo.type}:${repo.namespace}/${repo.name}`, params: { deliveryId: d.id } });
          await db.webhooks.setDeliveryJob(d.id, job.id);
        } catch (err) {
          await db.webhooks.updateDelivery(d.id, { state: 'failed', error: 'the delivery could not be queued' }).catch(() => undefined);
          throw err;
        }
      } catch (err) {
        log.error({ err, webhook: h.id, scope: event.scope }, 'could not queue a webhook delivery');
      }
    }
  }

  private async mayRead(userId: number, repo: RepoRecord): Promise<boolean> {
    const user = await this.deps.db.users.findById(userId);
    if (!user || user.disabled) return false;
    return can(await principalFor(this.deps.db, user, 'read', 0), repo, 'read');
  }

  private async ownerId(namespace: string): Promise<string> {
    const user = await this.deps.db.users.findByName(namespace);
    if (user) return String(user.id);
    const org = await this.deps.db.orgs.findByName(namespace);
    return org ? `org-${org.id}` : namespace;
  }

  /** The payload as the Hub sends it (version 3), without its `webhook` part. */
  private async payload(event: HubEvent, repo: RepoRecord): Promise<Record<string, unknown> | null> {
    const origin = (event.origin ?? this.deps.origin()).replace(/\/+$/, '');
    const id = `${repo.namespace}/${repo.name}`;
    const web = `${origin}/${repo.type === 'model' ? '' : `${repo.type}s/`}${id}`;
    const api = `${origin}/api/${repo.type}s/${id}`;
    const repoJson: Record<string, unknown> = { type: repo.type, name: id, id: repo.id, private: repo.private, url: { web, api }, owner: { id: await this.ownerId(repo.namespace) } };
    if (event.domain === 'repo') {
      const head = await this.deps.db.refs.get(repo.id, `refs/heads/${repo.defaultBranch}`);
      return { event: { action: event.action, scope: event.scope }, repo: { ...repoJson, headSha: head?.oid ?? null }, updatedRefs: event.updatedRefs.slice(0, REFS_MAX) };
    }
    const d: DiscussionRecord | null = await this.deps.db.community.get(repo.id, event.num);
    if (!d) return null;
    const dweb = `${web}/discussions/${d.num}`;
    const discussion: Record<string, unknown> = {
      id: crypto.createHash('sha256').update(`${repo.id}:${d.num}`).digest('hex').slice(0, 24),
      num: d.num,
      title: d.title,
      status: d.status,
      isPullRequest: d.isPullRequest,
      author: { id: d.authorId === null ? 'deleted' : String(d.authorId) },
      url: { web: dweb, api: `${api}/discussions/${d.num}` },
      ...(d.isPullRequest ? { changes: { base: d.baseRef ?? `refs/heads/${repo.defaultBranch}` } } : {}),
    };
    let c: EventComment | undefined = event.comment;
    if (!c && event.scope === 'discussion' && event.action === 'create') {
      const first = (await this.deps.db.community.events(repo.id, d.num)).find((e) => e.type === 'comment');
      if (first) c = eventComment(first, first.authorId);
    } else if (c && c.authorId === null) {
      // Edits and hides are told without the comment's author: the stored event has it.
      const stored = await this.deps.db.community.getEvent(repo.id, d.num, c.id);
      c = { ...c, authorId: stored?.authorId ?? null };
    }
    const comment = c
      ? { id: c.id, author: { id: c.authorId === null ? 'deleted' : String(c.authorId) }, content: c.content.slice(0, COMMENT_MAX), hidden: c.hidden, url: { web: `${dweb}#${c.id}` } }
      : undefined;
    return { event: { action: event.action, scope: event.scope }, repo: repoJson, discussion, ...(comment ? { comment } : {}) };
  }

  // ---- delivery (one attempt) -----------------------------------------------------------

  private async deliver(ctx: JobContext): Promise<void> {
    const { db, settings } = this.deps;
    const deliveryId = String((ctx.job.params as { deliveryId?: unknown }).deliveryId ?? '');
    const d = await db.webhooks.getDelivery(deliveryId);
    if (!d || d.state !== 'pending') {
      ctx.log(d ? `delivery ${d.id} is ${d.state}: nothing to do` : `delivery ${deliveryId} is gone (its webhook was deleted): nothing to do`);
      return;
    }
    const skip = async (why: string) => {
      await db.webhooks.updateDelivery(d.id, { state: 'skipped', error: why });
      ctx.log(`skipped: ${why}`);
    };
    const hook = await db.webhooks.get(d.webhookId);
    if (!hook) return skip('the webhook was deleted');
    if (hook.disabled) return skip('the webhook is disabled');
    const repo = await db.repos.findById(d.repoId);
    if (!repo || !(await this.mayRead(hook.userId, repo))) return skip('the repository is gone or its owner may no longer read it');
    const attempt = ctx.job.attempts;
    const last = attempt >= settings.attempts;
    try {
      let status: number;
      try {
        status = await postOutbound(hook.url, {
          headers: { 'Content-Type': 'application/json', 'User-Agent': 'packhub-webhooks/1', ...(hook.secret ? { 'X-Webhook-Secret': hook.secret } : {}) },
          body: d.payload,
          timeoutMs: settings.timeoutMs,
          signal: ctx.signal,
          allowPrivate: settings.allowPrivate,
        });
      } catch (err) {
        if (err instanceof NonPublicAddressError) {
          // Not worth retrying: the address is what it is until the webhook changes.
          await db.webhooks.updateDelivery(d.id, { attempts: attempt, responseStatus: null, state: 'failed', error: `refused: ${err.message}` });
          throw new DeliveryFailed(`refused to POST to the webhook: ${err.message}`, false, true);
        }
        const e = err as Error & { code?: string };
        const why = e.name === 'TimeoutError' ? e.message : (e.code ?? e.message);
        throw new DeliveryFailed(`could not POST to the webhook: ${why}`, true);
      }
      if (status < 200 || status > 299) {
        const retryable = status >= 500 || status === 408 || status === 429;
        await db.webhooks.updateDelivery(d.id, { attempts: attempt, responseStatus: status, state: last || !retryable ? 'failed' : 'pending', error: `HTTP ${status}` });
        throw new DeliveryFailed(`the webhook answered HTTP ${status}`, retryable, true);
      }
      await db.webhooks.updateDelivery(d.id, { attempts: attempt, responseStatus: status, state: 'delivered', error: null, deliveredAt: new Date() });
      ctx.log(`delivered to the webhook (HTTP ${status})`);
    } catch (err) {
      // Aborted (shutdown, cancel): the engine decides what happens to the job; the log keeps the last real attempt.
      if (err instanceof DeliveryFailed && !ctx.signal.aborted && !err.recorded) {
        await db.webhooks.updateDelivery(d.id, { attempts: attempt, responseStatus: null, state: last ? 'failed' : 'pending', error: err.message }).catch(() => undefined);
      }
      throw err;
    }
  }
}
