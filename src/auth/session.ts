import crypto from 'node:crypto';

/**
 * Browser sessions as a signed cookie value: user id, expiry and a MAC over both (HMAC-SHA256 with
 * the hub's secret, shared by every replica). Nothing is stored server-side.
 */
export const SESSION_COOKIE = 'packhub_session';
export const SESSION_SECONDS = 7 * 24 * 3600;

export function signSession(secret: string, userId: number, now = Date.now()): string {
  const payload = `${userId}.${Math.floor(now / 1000) + SESSION_SECONDS}`;
  const mac = crypto.createHmac('sha256', `session:${secret}`).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

export function verifySession(secret: string, value: string, now = Date.now()): number | null {
  const m = /^(\d+)\.(\d+)\.([\w-]+)$/.exec(value);
  if (!m) return null;
  const expected = Buffer.from(crypto.createHmac('sha256', `session:${secret}`).update(`${m[1]}.${m[2]}`).digest('base64url'));
  const got = Buffer.from(m[3]!);
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) return null;
  if (Number(m[2]) * 1000 < now) return null;
  return Number(m[1]);
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
