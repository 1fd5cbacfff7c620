import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const TOKEN_PREFIX = 'hf_';
const TOKEN_CHARS = 37;

/**
 * A new access token secret: `hf_` + 37 base62 characters (about 220 bits). The prefix is the
 * Hub's, so HF clients accept packhub tokens. Characters are drawn without modulo bias.
 */
export function generateToken(): string {
  let out = TOKEN_PREFIX;
  while (out.length < TOKEN_PREFIX.length + TOKEN_CHARS) {
    for (const b of crypto.randomBytes(TOKEN_CHARS)) {
      // 248 = 4 * 62: bytes at or above it would favour the first characters.
      if (b < 248 && out.length < TOKEN_PREFIX.length + TOKEN_CHARS) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** Tokens are stored as their hex SHA-256; the secret is shown once and never kept. */
export function hashToken(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** scrypt cost: N=2^15, r=8 needs 32 MiB per hash (128 * N * r bytes). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;

/** Memory-hard password hash, self-describing: scrypt$N$r$p$salt$hash (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LEN, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check of a password against a stored hash; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  // Refuse parameters weaker than a real hash has, or so costly they would exhaust the server.
  if (!(N >= 2 ** 14 && N <= 2 ** 20 && r >= 8 && r <= 32 && p >= 1 && p <= 4) || salt.length < 16 || expected.length < 16) return false;
  try {
    const actual = await scrypt(password, salt, expected.length, { N, r, p, maxmem: Math.max(SCRYPT.maxmem, 256 * N * r) });
    return crypto.timingSafeEqual(actual, expected);
  } catch {
    return false; // e.g. N not a power of two
  }
}
