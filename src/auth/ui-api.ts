import express, { type Request, type Response, type Router } from 'express';
import { AppError, invalid } from '../core/errors.js';
import { validateOrgName, validateUserName } from '../core/names.js';
import type { Db, OrgRole, UserRecord } from '../db/db.js';
import { roleIn } from './permissions.js';
import type { Principal } from './principal.js';
import { createInvitation, invitationProblem } from './invitations.js';
import { endSession, LoginLimiter, SESSION_COOKIE, SESSION_SECONDS, sessionUser as sessionOf, startSession } from './session.js';
import { generateToken, hashPassword, hashToken, verifyPassword } from './tokens.js';

export interface UiApiDeps {
  db: Db;
  secret: string;
  registration: 'open' | 'invite' | 'closed';
}

/** Longer passwords are refused (they would only cost hashing time). */
const MAX_PASSWORD_CHARS = 1024;

/**
 * Accounts for the web UI: registration (open, by invitation or closed, by configuration), password login with a
 * session cookie (httpOnly, SameSite=Lax, Secure behind TLS; the session is stored server-side, so
 * logout and a password change end it), and access tokens (read or write scope, optional expiry,
 * shown once, revocable). Failed logins are rate limited.
 */
export function createUiApi(deps: UiApiDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '64kb' });
  const limiter = new LoginLimiter();
  router.use('/ui-api', (_req, res, next) => {
    res.locals.surface = 'ui';
    next();
  });

  const setSession = async (req: Request, res: Response, userId: number) => {
    const secure = req.secure || req.headers['x-forwarded-proto'] === 'https';
    const session = await startSession(deps.db, userId);
    res.cookie(SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'lax', secure, maxAge: SESSION_SECONDS * 1000, path: '/', encode: String });
    return session;
  };

  const sessionUser = async (req: Request) => (await sessionOf(deps.db, req.headers.cookie))?.user ?? null;

  const requireUser = async (req: Request) => {
    const user = await sessionUser(req);
    if (!user) throw new AppError('unauthenticated', 'Unauthenticated', 'Sign in first');
    return user;
  };

  router.get('/ui-api/registration', (_req, res) => {
    res.json({ mode: deps.registration });
  });

  router.post('/ui-api/register', json, async (req, res) => {
    if (deps.registration === 'closed') throw new AppError('forbidden', 'RegistrationClosed', 'Registration is closed on this hub; ask an administrator for an account');
    const { name, password, email, invite } = (req.body ?? {}) as { name?: string; password?: string; email?: string; invite?: string };
    validateUserName(String(name ?? ''));
    if (deps.registration === 'invite') {
      const problem = typeof invite === 'string' ? invitationProblem(deps.secret, String(name), invite) : 'this hub registers by invitation only';
      if (problem) throw new AppError('forbidden', 'InvitationRequired', `Cannot register: ${problem}`);
    }
    if (typeof password !== 'string' || password.length < 8) throw invalid('WeakPassword', 'the password needs at least 8 characters');
    const user = await deps.db.users.create({ name: name!, email: email ?? null, passwordHash: await hashPassword(password) });
    await setSession(req, res, user.id);
    res.status(201).json({ name: user.name });
  });

  router.post('/ui-api/login', json, async (req, res) => {
    const { name, password } = (req.body ?? {}) as { name?: string; password?: string };
    const key = `${req.ip}|${String(name)}`;
    const wait = limiter.retryAfter(key);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      res.status(429).json({ error: { code: 'TooManyAttempts', message: `Too many failed sign-ins; try again in ${wait} s` } });
      return;
    }
    const user = typeof name === 'string' ? await deps.db.users.findByName(name) : null;
    const ok = !!user?.passwordHash && !user.disabled && typeof password === 'string' && (await verifyPassword(password, user.passwordHash));
    if (!ok) {
      limiter.fail(key);
      throw new AppError('unauthenticated', 'InvalidLogin', 'Invalid user name or password');
    }
    limiter.succeed(key);
    await setSession(req, res, user!.id);
    res.json({ name: user!.name });
  });

  router.post('/ui-api/logout', async (req, res) => {
    await endSession(deps.db, req.headers.cookie);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.json({ ok: true });
  });

  /**
   * Changing the password needs the current one; it ends every session of the user (other devices are
   * signed out) and this browser gets a new one. Access tokens keep working (revoke them apart).
   */
  router.post('/ui-api/password', json, async (req, res) => {
    const current = await sessionOf(deps.db, req.headers.cookie);
    if (!current) throw new AppError('unauthenticated', 'Unauthenticated', 'Sign in first');
    const { currentPassword, newPassword } = (req.body ?? {}) as { currentPassword?: unknown; newPassword?: unknown };
    const user = current.user;
    // Guesses of the current password count against the same limit as failed sign-ins.
    const key = `${req.ip}|${user.name}`;
    const wait = limiter.retryAfter(key);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      res.status(429).json({ error: { code: 'TooManyAttempts', message: `Too many wrong passwords; try again in ${wait} s` } });
      return;
    }
    const ok = !!user.passwordHash && typeof currentPassword === 'string' && currentPassword.length <= MAX_PASSWORD_CHARS && (await verifyPassword(currentPassword, user.passwordHash));
    if (!ok) {
      limiter.fail(key);
      throw new AppError('forbidden', 'InvalidPassword', 'The current password is not correct');
    }
    limiter.succeed(key);
    if (typeof newPassword !== 'string' || newPassword.length < 8) throw invalid('WeakPassword', 'the password needs at least 8 characters');
    if (newPassword.length > MAX_PASSWORD_CHARS) throw invalid('BadRequest', `the password may have at most ${MAX_PASSWORD_CHARS} characters`);
    await deps.db.users.setPassword(user.id, await hashPassword(newPassword));
    await setSession(req, res, user.id);
    res.json({ ok: true });
  });

  router.get('/ui-api/me', async (req, res) => {
    const user = await requireUser(req);
    const orgs = await deps.db.orgs.membershipsOf(user.id);
    res.json({ name: user.name, email: user.email, isAdmin: user.isAdmin, orgs: orgs.map((m) => ({ name: m.org.name, role: m.role })) });
  });

  /** Admins invite a user name; the answer holds the code and the registration link. */
  router.post('/ui-api/invitations', json, async (req, res) => {
    const user = await requireUser(req);
    if (!user.isAdmin) throw new AppError('forbidden', 'AdminOnly', 'Only administrators invite users');
    const { name, days } = (req.body ?? {}) as { name?: string; days?: number };
    validateUserName(String(name ?? ''));
    if (days !== undefined && !(typeof days === 'number' && days > 0 && days <= 365)) throw invalid('BadRequest', 'days must be between 0 and 365');
    const holder = await deps.db.names.holder(String(name));
    if (holder) throw new AppError('conflict', 'NameTaken', `the name '${name}' is taken by ${holder.kind === 'user' ? 'user' : 'organization'} '${holder.name}'`);
    const inv = createInvitation(deps.secret, String(name), days ?? 7);
    res.status(201).json({ name, code: inv.code, expiresAt: inv.expiresAt, link: `#/register?name=${encodeURIComponent(String(name))}&invite=${encodeURIComponent(inv.code)}` });
  });

  // ---- user and organization pages; organization management (org admins, through roleIn)
  const principalOf = async (user: UserRecord): Promise<Principal> => ({
    user,
    scope: 'write',
    tokenId: 0,
    orgs: new Map((await deps.db.orgs.membershipsOf(user.id)).map((m) => [m.org.name, m.role])),
  });

  const orgAdmin = async (req: Request, orgName: string) => {
    const user = await requireUser(req);
    const org = await deps.db.orgs.findByName(orgName);
    if (!org) throw new AppError('not_found', 'OrgNotFound', `no organization named '${orgName}'`);
    if (roleIn(await principalOf(user), org.name) !== 'admin') throw new AppError('forbidden', 'OrgAdminOnly', `only admins of ${org.name} manage its members`);
    return org;
  };

  router.get('/ui-api/namespaces/:name', async (req, res) => {
    const name = String(req.params.name);
    const viewer = await sessionUser(req);
    if (await deps.db.users.findByName(name)) {
      res.json({ kind: 'user', name });
      return;
    }
    const org = await deps.db.orgs.findByName(name);
    if (!org) throw new AppError('not_found', 'NamespaceNotFound', `no user or organization named '${name}'`);
    const myRole = viewer ? roleIn(await principalOf(viewer), org.name) : null;
    // Members are listed to members (and site admins) only.
    const members = myRole
      ? await Promise.all((await deps.db.orgs.members(org.id)).map(async (m) => ({ name: (await deps.db.users.findById(m.userId))?.name ?? `user-${m.userId}`, role: m.role })))
      : undefined;
    res.json({ kind: 'org', name: org.name, myRole, members });
  });

  router.post('/ui-api/orgs', json, async (req, res) => {
    const user = await requireUser(req);
    const name = String((req.body as { name?: unknown } | undefined)?.name ?? '');
    validateOrgName(name);
    const org = await deps.db.orgs.create(name);
    await deps.db.orgs.setMember(org.id, user.id, 'admin');
    res.status(201).json({ name: org.name });
  });

  router.put('/ui-api/orgs/:org/members/:user', json, async (req, res) => {
    const org = await orgAdmin(req, String(req.params.org));
    const role = (req.body as { role?: unknown } | undefined)?.role;
    if (role !== 'read' && role !== 'write' && role !== 'admin') throw invalid('BadRequest', "role must be 'read', 'write' or 'admin'");
    const member = await deps.db.users.findByName(String(req.params.user));
    if (!member) throw new AppError('not_found', 'UserNotFound', `no user named '${req.params.user}'`);
    await lastAdminGuard(org.id, member.id, role);
    await deps.db.orgs.setMember(org.id, member.id, role);
    res.json({ org: org.name, user: member.name, role });
  });

  router.delete('/ui-api/orgs/:org/members/:user', async (req, res) => {
    const org = await orgAdmin(req, String(req.params.org));
    const member = await deps.db.users.findByName(String(req.params.user));
    if (!member) throw new AppError('not_found', 'UserNotFound', `no user named '${req.params.user}'`);
    await lastAdminGuard(org.id, member.id, null);
    await deps.db.orgs.removeMember(org.id, member.id);
    res.json({ org: org.name, removed: member.name });
  });

  /** An organization keeps at least one admin. */
  const lastAdminGuard = async (orgId: number, userId: number, newRole: OrgRole | null) => {
    if (newRole === 'admin') return;
    const admins = (await deps.db.orgs.members(orgId)).filter((m) => m.role === 'admin');
    if (admins.length === 1 && admins[0]!.userId === userId) throw new AppError('conflict', 'LastAdmin', 'an organization keeps at least one admin: make someone else admin first');
  };

  router.get('/ui-api/tokens', async (req, res) => {
    const user = await requireUser(req);
    const tokens = await deps.db.tokens.listForUser(user.id);
    res.json(tokens.map((t) => ({ id: t.id, name: t.name, scope: t.scope, createdAt: t.createdAt, expiresAt: t.expiresAt, lastUsedAt: t.lastUsedAt })));
  });

  router.post('/ui-api/tokens', json, async (req, res) => {
    const user = await requireUser(req);
    const { name, scope, expiresInDays } = (req.body ?? {}) as { name?: string; scope?: string; expiresInDays?: number };
    if (scope !== 'read' && scope !== 'write') throw invalid('BadRequest', "scope must be 'read' or 'write'");
    if (expiresInDays !== undefined && !(typeof expiresInDays === 'number' && expiresInDays > 0 && expiresInDays <= 3650)) throw invalid('BadRequest', 'expiresInDays must be a number of days from 1 to 3650');
    const secret = generateToken();
    const t = await deps.db.tokens.create({
      userId: user.id,
      name: String(name ?? 'token').slice(0, 128),
      scope,
      tokenHash: hashToken(secret),
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
    });
    res.status(201).json({ id: t.id, name: t.name, scope: t.scope, expiresAt: t.expiresAt, token: secret });
  });

  router.delete('/ui-api/tokens/:id', async (req, res) => {
    const user = await requireUser(req);
    const id = Number(req.params.id);
    const mine = (await deps.db.tokens.listForUser(user.id)).find((t) => t.id === id);
    if (!mine) throw new AppError('not_found', 'TokenNotFound', 'no such token');
    await deps.db.tokens.delete(id);
    res.json({ revoked: id });
  });

  return router;
}
