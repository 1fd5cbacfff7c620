import crypto from 'node:crypto';

/**
 * Short-lived capabilities carried in URLs: LFS upload and download hrefs authorise themselves,
 * because the HF clients send no token on those requests. HMAC-SHA256 over a compact payload.
 */
export interface Grant {
  op: 'upload' | 'download';
  repoId: string;
  oid: string;
  size: number;
  /** Unix seconds. */
  exp: number;
  /** The user an upload grant was issued to (its bytes are staged under this user); 0 on downloads. */
  userId?: number;
}

export function signGrant(secret: string, g: Grant): string {
  const payload = Buffer.from(JSON.stringify([g.op, g.repoId, g.oid, g.size, g.exp, g.userId ?? 0])).toString('base64url');
  const mac = crypto.createHmac('sha256', secret).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** The grant a token carries, or null when it is forged, malformed or expired. */
export function verifyGrant(secret: string, token: string, now = Date.now()): Grant | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const payload = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(crypto.createHmac('sha256', secret).update(payload).digest('base64url'));
  if (mac.length !== expected.length || !crypto.timingSafeEqual(mac, expected)) return null;
  try {
    const [op, repoId, oid, size, exp, userId = 0] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [Grant['op'], string, string, number, number, number?];
    if ((op !== 'upload' && op !== 'download') || typeof exp !== 'number' || exp * 1000 < now || !Number.isSafeInteger(userId)) return null;
    return { op, repoId, oid, size, exp, userId };
  } catch {
    return null;
  }
}
