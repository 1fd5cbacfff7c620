import type { Db, OrgRole, TokenScope, UserRecord } from '../db/db.js';
import { hashToken } from './tokens.js';

export interface Principal {
  user: UserRecord;
  scope: TokenScope;
  tokenId: number;
  /** Organization name -> the user's role in it. */
  orgs: Map<string, OrgRole>;
}

/**
 * The caller a token names, or null. With Basic auth the user name must be the token's owner;
 * expired tokens fail.
 */
export async function authenticateToken(db: Db, username: string | null, secret: string): Promise<Principal | null> {
  if (!secret || secret.length > 256) return null;
  const token = await db.tokens.findByHash(hashToken(secret));
  if (!token) return null;
  if (token.expiresAt && token.expiresAt.getTime() <= Date.now()) return null;
  const user = await db.users.findById(token.userId);
  if (!user || (username !== null && username !== user.name)) return null;
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > 60_000) void db.tokens.touch(token.id).catch(() => undefined);
  return principalFor(db, user, token.scope, token.id);
}

/** A principal for a user acting with a scope (a token's, or a signed-in browser's). */
export async function principalFor(db: Db, user: UserRecord, scope: TokenScope, tokenId: number): Promise<Principal> {
  const orgs = new Map((await db.orgs.membershipsOf(user.id)).map((m) => [m.org.name, m.role] as const));
  return { user, scope, tokenId, orgs };
}
