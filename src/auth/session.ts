import crypto from 'node:crypto';
import type { Db, UserRecord } from '../db/db.js';

/**
 * Browser sessions, kept server-side: the cookie holds a random id (256 bits); the database holds
 * its SHA-256, the user, and the expiry. Logging out, changing the password or disabling the
 * account deletes the rows, so a copied cookie stops working at once on every replica; expired
 * sessions are refused and removed.
 */
export const SESSION_COOKIE = 'packhub_session';
export const SESSION_SECONDS = 7 * 24 * 3600;
/** lastSeenAt is written at most this often per session. */
const TOUCH_INTERVAL_MS = 60_000;
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export const hashSessionId = (id: string): string => crypto.createHash('sha256').update(id, 'utf8').digest('hex');

/** The session cookie's value in a Cookie header, or null. */
export function sessionCookie(cookieHeader: string | undefined): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return ID_RE.test(v) ? v : null;
  }
  return null;
}

/** Starts a session for the user; returns the cookie value (shown to the browser only). */
export async function startSession(db: Db, userId: number, now = Date.now()): Promise<{ id: string; idHash: string; expiresAt: Date }> {
  const id = crypto.randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + SESSION_SECONDS * 1000);
  await db.sessions.create({ idHash: hashSessionId(id), userId, expiresAt });
  return { id, idHash: hashSessionId(id), expiresAt };
}

/** The signed-in user a Cookie header names, or null (no, unknown, expired or ended session; disabled user). */
export async function sessionUser(db: Db, cookieHeader: string | undefined, now = Date.now()): Promise<{ user: UserRecord; idHash: string } | null> {
  const id = sessionCookie(cookieHeader);
  if (!id) return null;
  const idHash = hashSessionId(id);
  const s = await db.sessions.find(idHash);
  if (!s) return null;
  if (s.expiresAt.getTime() <= now) {
    await db.sessions.delete(idHash);
    return null;
  }
  const user = await db.users.findById(s.userId);
  if (!user || user.disabled) return null;
  if (now - s.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) void db.sessions.touch(idHash).catch(() => undefined);
  return { user, idHash };
}

/** Ends the session a Cookie header names (if any). */
export async function endSession(db: Db, cookieHeader: string | undefined): Promise<void> {
  const id = sessionCookie(cookieHeader);
  if (id) await db.sessions.delete(hashSessionId(id));
}

/** Fixed-window counter of failed logins per key (IP + user name) against password guessing. */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max = 10,
    private readonly windowMs = 5 * 60_000,
  ) {}

  /** Seconds to wait, or 0 when an attempt is allowed. */
  retryAfter(key: string, now = Date.now()): number {
    const f = this.failures.get(key);
    if (!f || f.resetAt <= now) return 0;
    return f.count >= this.max ? Math.ceil((f.resetAt - now) / 1000) : 0;
  }

  fail(key: string, now = Date.now()): void {
    const f = this.failures.get(key);
    if (!f || f.resetAt <= now) this.failures.set(key, { count: 1, resetAt: now + this.windowMs });
    else f.count++;
    if (this.failures.size > 100_000) {
      for (const [k, v] of this.failures) if (v.resetAt <= now) this.failures.delete(k);
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}
