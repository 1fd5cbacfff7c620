import crypto from 'node:crypto';

/**
 * Invitations for invitation-only registration: a code signed with the hub's secret over the
 * invited user name and an expiry. Nothing is stored: once the user exists the name is taken,
 * so a code registers at most one account.
 */
export function createInvitation(secret: string, name: string, days: number, now = Date.now()): { code: string; expiresAt: Date } {
  const expires = Math.floor(now / 1000) + Math.round(days * 86_400);
  const mac = crypto.createHmac('sha256', `invite:${secret}`).update(`${name}\n${expires}`).digest('base64url');
  return { code: `${expires}.${mac}`, expiresAt: new Date(expires * 1000) };
}

/** Why the code does not invite this name, or null when it does. */
export function invitationProblem(secret: string, name: string, code: string, now = Date.now()): string | null {
  const m = /^(\d{1,12})\.([\w-]{43})$/.exec(code);
  if (!m) return 'the invitation code is malformed';
  const expected = crypto.createHmac('sha256', `invite:${secret}`).update(`${name}\n${m[1]}`).digest();
  const given = Buffer.from(m[2]!, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return `the invitation is not for '${name}'`;
  if (Number(m[1]) * 1000 < now) return 'the invitation has expired';
  return null;
}
