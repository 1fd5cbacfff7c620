import crypto from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { invalid, notFound } from '../../core/errors.js';
import { can, roleIn } from '../../auth/permissions.js';
import type { OrgRecord, RepoType, UserRecord } from '../../db/db.js';
import { principalOf } from '../../http/repo-route.js';
import { iso } from '../repo-json.js';
import { validateReadme } from '../../repos/readme-metadata.js';
import { authRequired, forbiddenHf, type HfContext } from './context.js';

/** Bounds of a profile: the full name in characters, the avatar URL in bytes. */
export const MAX_FULLNAME = 256;
export const MAX_AVATAR_URL = 2048;

/** A 24-hex id, as the Hub's Mongo ObjectIds (users and organizations apart). */
const objectId = (kind: 'user' | 'org', id: number) => `${kind === 'org' ? '1' : '0'}${id.toString(16).padStart(23, '0')}`;

/** The avatar URL of an account: the one set in its profile, else the generated one packhub serves (absolute either way). */
export function avatarUrlOf(base: string, kind: 'user' | 'org', name: string, set: string | null): string {
  return set ?? `${base}/api/avatars/${kind === 'org' ? 'organizations' : 'users'}/${encodeURIComponent(name)}.svg`;
}

/** `fullname` and `avatarUrl` of accounts by name, as likers and access requests carry them. */
export async function userProfiles(ctx: HfContext, req: Request, names: string[]): Promise<(name: string) => { fullname: string; avatarUrl: string }> {
  const profiles = await ctx.deps.db.users.profiles(names);
  const base = ctx.base(req);
  return (name) => {
    const p = profiles.get(name);
    return { fullname: p?.fullname ?? name, avatarUrl: avatarUrlOf(base, 'user', name, p?.avatarUrl ?? null) };
  };
}

/**
 * A profile update from a request body: `fullname` (a string of at most MAX_FULLNAME characters
 * without control characters; empty clears it) and `avatarUrl` (an absolute http(s) URL; empty
 * clears it). Fields left out stay as they are.
 */
function profilePatch(body: unknown): { fullname?: string | null; avatarUrl?: string | null } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('BadRequest', 'a JSON object with fullname and/or avatarUrl is expected');
  const b = body as Record<string, unknown>;
  const out: { fullname?: string | null; avatarUrl?: string | null } = {};
  if (b.fullname !== undefined) {
    if (b.fullname !== null && typeof b.fullname !== 'string') throw invalid('BadRequest', 'fullname must be a string');
    const v = (b.fullname ?? '').trim();
    // eslint-disable-next-line no-control-regex
    if ([...v].length > MAX_FULLNAME || /[\u0000-\u001f\u007f]/.test(v)) throw invalid('BadRequest', `fullname must be at most ${MAX_FULLNAME} characters, without control characters`);
    out.fullname = v || null;
  }
  if (b.avatarUrl !== undefined) {
    if (b.avatarUrl !== null && typeof b.avatarUrl !== 'string') throw invalid('BadRequest', 'avatarUrl must be a string');
    const v = (b.avatarUrl ?? '').trim();
    if (v) {
      let url: URL | null = null;
      try {
        url = new URL(v);
      } catch {
        url = null;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || Buffer.byteLength(v) > MAX_AVATAR_URL) {
        throw invalid('BadRequest', `avatarUrl must be an absolute http(s) URL of at most ${MAX_AVATAR_URL} bytes`);
      }
      out.avatarUrl = url.toString();
    } else out.avatarUrl = null;
  }
  if (out.fullname === undefined && out.avatarUrl === undefined) throw invalid('BadRequest', 'nothing to change: give fullname and/or avatarUrl');
  return out;
}

/** A generated avatar: the first letter of the name on a colour of its own. */
function avatarSvg(name: string): string {
  const hue = crypto.createHash('sha256').update(name).digest().readUInt16BE(0) % 360;
  const letter = (name.match(/[A-Za-z0-9]/)?.[0] ?? '?').toUpperCase();
  return `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="32" fill="hsl(${hue},55%,48%)"/><text x="32" y="42" font-family="sans-serif" font-size="28" text-anchor="middle" fill="#fff">${letter}</text></svg>`;
}

/**
 * Account-level routes: whoami-v2, profiles (overviews, their settings, generated avatars), a
 * namespace's storage use, README metadata validation.
 */
export function accountRoutes(ctx: HfContext, router: Router): void {
  const { deps } = ctx;

  router.get('/api/quota/:namespace', async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    const ns = String(req.params.namespace);
    if (!p) throw authRequired();
    if (!p.user.isAdmin && p.user.name !== ns && !p.orgs.has(ns)) throw forbiddenHf(`You may not see the storage use of ${ns}`);
    res.json(await deps.quotas.report(ns));
  });

  router.get('/api/whoami-v2', async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw authRequired('Invalid credentials in Authorization header');
    const base = ctx.base(req);
    const orgs = new Map((await deps.db.orgs.membershipsOf(p.user.id)).map((m) => [m.org.name, m.org]));
    res.json({
      type: 'user',
      id: objectId('user', p.user.id),
      name: p.user.name,
      fullname: p.user.fullname ?? p.user.name,
      email: p.user.email,
      emailVerified: !!p.user.email,
      avatarUrl: avatarUrlOf(base, 'user', p.user.name, p.user.avatarUrl),
      isPro: false,
      canPay: false,
      orgs: [...p.orgs].map(([name, role]) => {
        const org = orgs.get(name);
        return {
          type: 'org',
          ...(org ? { id: objectId('org', org.id) } : {}),
          name,
          fullname: org?.fullname ?? name,
          email: null,
          canPay: false,
          avatarUrl: avatarUrlOf(base, 'org', name, org?.avatarUrl ?? null),
          periodEnd: null,
          roleInOrg: role,
        };
      }),
      auth: { type: 'access_token', accessToken: { displayName: `token-${p.tokenId}`, role: p.scope, createdAt: iso(p.user.createdAt) } },
    });
  });

  /** Repositories of a namespace the caller can see, counted per type. */
  const repoCounts = async (res: Response, namespace: string) => {
    const counts: Record<RepoType, number> = { model: 0, dataset: 0, space: 0 };
    for (const r of await deps.db.repos.list({ namespace })) if (can(principalOf(res), r, 'read')) counts[r.type]++;
    return { numModels: counts.model, numDatasets: counts.dataset, numSpaces: counts.space };
  };
  const orgJson = (req: Request, org: OrgRecord) => ({
    _id: objectId('org', org.id),
    type: 'org',
    name: org.name,
    fullname: org.fullname ?? org.name,
    avatarUrl: avatarUrlOf(ctx.base(req), 'org', org.name, org.avatarUrl),
  });
  const findUser = async (name: string) => {
    const user = await deps.db.users.findByName(name);
    if (!user || user.disabled) throw notFound('UserNotFound', 'User not found');
    return user;
  };
  const findOrg = async (name: string) => {
    const org = await deps.db.orgs.findByName(name);
    if (!org) throw notFound('OrganizationNotFound', 'Organization not found');
    return org;
  };

  /** `get_user_overview`. */
  router.get('/api/users/:user/overview', async (req, res) => {
    res.locals.surface = 'hf';
    const user = await findUser(String(req.params.user));
    let numLikes = 0;
    for (const like of await deps.db.likes.ofUser(user.id)) {
      const repo = await deps.db.repos.findById(like.repoId);
      if (repo && !repo.private) numLikes++;
    }
    res.json({
      _id: objectId('user', user.id),
      user: user.name,
      fullname: user.fullname ?? user.name,
      avatarUrl: avatarUrlOf(ctx.base(req), 'user', user.name, user.avatarUrl),
      type: 'user',
      isPro: false,
      isFollowing: false,
      createdAt: iso(user.createdAt),
      ...(await repoCounts(res, user.name)),
      numPapers: 0,
      numUpvotes: 0,
      numLikes,
      numFollowing: 0,
      numFollowers: 0,
      orgs: (await deps.db.orgs.membershipsOf(user.id)).map((m) => orgJson(req, m.org)),
    });
  });

  /** `get_organization_overview`. */
  router.get('/api/organizations/:org/overview', async (req, res) => {
    res.locals.surface = 'hf';
    const org = await findOrg(String(req.params.org));
    res.json({
      ...orgJson(req, org),
      isVerified: false,
      isFollowing: false,
      createdAt: iso(org.createdAt),
      numUsers: (await deps.db.orgs.members(org.id)).length,
      ...(await repoCounts(res, org.name)),
      numFollowers: 0,
      numPapers: 0,
    });
  });

  /** The caller's profile: `{"fullname": …, "avatarUrl": …}` (a write-scope token). */
  router.put('/api/settings/profile', ctx.json, async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw authRequired();
    if (p.scope !== 'write') throw forbiddenHf('this token is read-only');
    const user: UserRecord = await deps.db.users.setProfile(p.user.id, profilePatch(req.body));
    res.json({ fullname: user.fullname ?? user.name, avatarUrl: avatarUrlOf(ctx.base(req), 'user', user.name, user.avatarUrl) });
  });

  /** An organization's profile, set by its admins (and the hub's). */
  router.put('/api/organizations/:org/settings/profile', ctx.json, async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw authRequired();
    const org = await findOrg(String(req.params.org));
    if (roleIn(p, org.name) !== 'admin' || p.scope !== 'write') throw forbiddenHf(p.scope !== 'write' ? 'this token is read-only' : `Only the admins of ${org.name} may change its profile`);
    const updated = await deps.db.orgs.setProfile(org.id, profilePatch(req.body));
    res.json({ fullname: updated.fullname ?? updated.name, avatarUrl: avatarUrlOf(ctx.base(req), 'org', updated.name, updated.avatarUrl) });
  });

  /** Generated avatars of accounts without one of their own. */
  router.get('/api/avatars/:kind/:file', async (req, res) => {
    res.locals.surface = 'hf';
    const kind = String(req.params.kind);
    const m = /^(.{1,96})\.svg$/.exec(String(req.params.file));
    if ((kind !== 'users' && kind !== 'organizations') || !m) throw notFound('NotFound', 'no such avatar');
    const name = m[1]!;
    if (kind === 'users') await findUser(name);
    else await findOrg(name);
    res.setHeader('Content-Type', 'image/svg+xml');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.send(avatarSvg(name));
  });

  router.post('/api/validate-yaml', ctx.json, (req, res) => {
    const body = (req.body ?? {}) as { content?: unknown; repoType?: unknown };
    const type = body.repoType === 'dataset' || body.repoType === 'space' ? body.repoType : 'model';
    const report = validateReadme(typeof body.content === 'string' ? body.content : '', type);
    res.status(report.errors.length ? 400 : 200).json(report);
  });
}
