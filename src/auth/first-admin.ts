import fs from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import { validateUserName } from '../core/names.js';
import type { Db } from '../db/db.js';
import { hashPassword } from './tokens.js';

/**
 * A new deployment's first administrator. While the hub has none: with PACKHUB_ADMIN_NAME and
 * PACKHUB_ADMIN_PASSWORD_FILE it is created (once: an existing user of that name is made admin, its
 * password left alone), otherwise the start says how to create one. Returns what it did.
 */
export async function ensureFirstAdmin(db: Db, opts: { name?: string; passwordFile?: string }, log: Logger): Promise<'present' | 'created' | 'promoted' | 'missing'> {
  if ((await db.users.list()).some((u) => u.isAdmin)) return 'present';
  if (!opts.name || !opts.passwordFile) {
    process.stderr.write(
      'packhub has no administrator yet: create one with `packhub user create NAME --admin --password ...`\n' +
        '  (or start it with PACKHUB_ADMIN_NAME and PACKHUB_ADMIN_PASSWORD_FILE)\n',
    );
    return 'missing';
  }
  validateUserName(opts.name);
  const existing = await db.users.findByName(opts.name);
  if (existing) {
    await db.users.setAdmin(existing.id, true);
    log.info({ user: opts.name }, 'first administrator: existing user made admin');
    return 'promoted';
  }
  const password = (await fs.readFile(opts.passwordFile, 'utf8')).split(/\r?\n/)[0] ?? '';
  if (password.length < 8) throw new Error(`PACKHUB_ADMIN_PASSWORD_FILE: the password needs at least 8 characters`);
  await db.users.create({ name: opts.name, isAdmin: true, passwordHash: await hashPassword(password) });
  log.info({ user: opts.name }, 'first administrator created');
  return 'created';
}
