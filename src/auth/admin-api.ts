import express, { type Response, type Router } from 'express';
import { AppError, invalid } from '../core/errors.js';
import type { Db, UserRecord } from '../db/db.js';
import type { Principal } from './principal.js';
import { hashPassword } from './tokens.js';

/**
 * The operator's user management (the web UI's admin pages; the CLI does the same from a shell):
 * list accounts, make or unmake administrators, disable or enable an account (ending its sessions),
 * set a new password (ending its sessions), delete an account that holds no repositories. For anyone
 * but an administrator every route is absent.
 */
export function createAdminApi(deps: { db: Db }): Router {
  const router = express.Router();
  const json = express.json({ limit: '16kb' });

  const requireAdmin = (res: Response): Principal => {
    res.locals.surface = 'ui';
    const p = res.locals.principal as Principal | null | undefined;
    if (!p?.user.isAdmin) throw new AppError('not_found', 'NotFound', 'not found');
    return p;
  };
  const userJson = (u: UserRecord) => ({ name: u.name, email: u.email, isAdmin: u.isAdmin, disabled: u.disabled, hasPassword: !!u.passwordHash, createdAt: u.createdAt });

  router.get('/ui-api/admin/users', async (_req, res) => {
    requireAdmin(res);
    res.json((await deps.db.users.list()).map(userJson));
  });

  router.patch('/ui-api/admin/users/:name', json, async (req, res) => {
    const admin = requireAdmin(res);
    const user = await deps.db.users.findByName(String(req.params.name));
    if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${String(req.params.name)}`);
    const body = (req.body ?? {}) as { isAdmin?: unknown; disabled?: unknown; password?: unknown };
    for (const key of ['isAdmin', 'disabled'] as const) {
      if (body[key] !== undefined && typeof body[key] !== 'boolean') throw invalid('BadRequest', `${key} must be true or false`);
    }
    if (body.password !== undefined && (typeof body.password !== 'string' || body.password.length < 8)) throw invalid('WeakPassword', 'the password needs at least 8 characters');
    // An administrator cannot lock themselves out: someone must remain who can undo it.
    if (user.id === admin.user.id && (body.isAdmin === false || body.disabled === true)) {
      throw new AppError('conflict', 'LastAdmin', 'you cannot take away your own administrator rights or disable your own account');
    }
    if (typeof body.isAdmin === 'boolean') await deps.db.users.setAdmin(user.id, body.isAdmin);
    if (typeof body.disabled === 'boolean') await deps.db.users.setDisabled(user.id, body.disabled);
    if (typeof body.password === 'string') await deps.db.users.setPassword(user.id, await hashPassword(body.password));
    res.json(userJson((await deps.db.users.findById(user.id))!));
  });

  router.delete('/ui-api/admin/users/:name', async (req, res) => {
    const admin = requireAdmin(res);
    const user = await deps.db.users.findByName(String(req.params.name));
    if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${String(req.params.name)}`);
    if (user.id === admin.user.id) throw new AppError('conflict', 'LastAdmin', 'you cannot delete your own account here');
    await deps.db.users.delete(user.id); // refused while repositories live under the name
    res.json({ deleted: user.name });
  });

  return router;
}
