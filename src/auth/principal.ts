import type { Db, OrgRole, TokenRecord, TokenScope, UserRecord } from '../db/db.js';
import { PrincipalCache } from './principal-cache.js';
import { hashToken } from './tokens.js';

export interface Principal {
  user: UserRecord;
  scope: TokenScope;
  tokenId: number;
  /** Organization name -> the user's role in it. */
  orgs: Map<string, OrgRole>;
}

/** lastUsedAt is written at most this often per token (it is informational; reads stay cheap). */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The caller a token names, or null. With Basic auth the user name must be the token's owner;
 * expired tokens fail. What a token that authenticated stands for is kept for a few seconds while the
 * database's auth generation stays the same (src/auth/principal-cache.ts): one query instead of three,
 * and a change by any process is seen by the next request.
 */
export async function authenticateToken(db: Db, username: string | null, secret: string): Promise<Principal | null> {
  if (!secret || secret.length > 256) return null;
  const hash = hashToken(secret);
  const cache = cacheOf(db);
  // Read before the lookup: a change that lands during it leaves the entry stale, never the other way round.
  const generation = await db.authGeneration();
  let hit: { token: TokenRecord; principal: Principal } | null = cache.get(hash, generation);
  if (!hit) {
    const token = await db.tokens.findByHash(hash);
    if (!token) return null;
    const user = await db.users.findById(token.userId);
    if (!user || user.disabled) return null;
    hit = { token, principal: await principalFor(db, user, token.scope, token.id) };
    cache.set(hash, token, hit.principal, generation);
  }
  const { token, principal } = hit;
  if (token.expiresAt && token.expiresAt.getTime() <= Date.now()) return null;
  if (username !== null && username !== principal.user.name) return null;
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
    token.lastUsedAt = new Date();
    void db.tokens.touch(token.id).catch(() => undefined);
  }
  return principal;
}

/** One principal cache per db (src/auth/principal-cache.ts). */
const caches = new WeakMap<Db, PrincipalCache>();
const cacheOf = (db: Db): PrincipalCache => {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new PrincipalCache()));
  return c;
};

/** A principal for a user acting with a scope (a token's, or a signed-in browser's). */
export async function principalFor(db: Db, user: UserRecord, scope: TokenScope, tokenId: number): Promise<Principal> {
  const orgs = new Map((await db.orgs.membershipsOf(user.id)).map((m) => [m.org.name, m.role] as const));
  return { user, scope, tokenId, orgs };
}

/**
 * `Authorization: Basic base64(user:secret)` -> its parts, or null when the header is not Basic
 * or is malformed. The password may contain ':' (only the first one separates).
 */
export function parseBasicAuth(header: string | undefined | null): { username: string; password: string } | null {
  const m = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Authorization: Bearer <token>` -> the token, or null. */
export function parseBearer(header: string | undefined | null): string | null {
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}
