import { AppError } from '../core/errors.js';
import type { Db } from '../db/db.js';

/**
 * Makes sure a namespace exists for repositories packhub creates on its own (mirrors, imports): a
 * name nobody holds becomes an organization administered by `admins` (default: every administrator
 * of the hub). A name a user or organization holds is left as it is.
 */
export async function ensureNamespace(db: Db, ns: string, admins?: number[]): Promise<void> {
  if (await db.names.holder(ns)) return;
  let org;
  try {
    org = await db.orgs.create(ns);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NameTaken') return; // created meanwhile
    throw err;
  }
  const ids = admins ?? (await db.users.list()).filter((u) => u.isAdmin).map((u) => u.id);
  for (const id of ids) await db.orgs.setMember(org.id, id, 'admin');
}
