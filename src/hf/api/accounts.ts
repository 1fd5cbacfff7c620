import type { Router } from 'express';
import { principalOf } from '../../http/repo-route.js';
import { iso } from '../repo-json.js';
import { validateReadme } from '../../repos/readme-metadata.js';
import { authRequired, forbiddenHf, type HfContext } from './context.js';

/** Account-level routes: whoami-v2, a namespace's storage use, README metadata validation. */
export function accountRoutes(ctx: HfContext, router: Router): void {
  router.get('/api/quota/:namespace', async (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    const ns = String(req.params.namespace);
    if (!p) throw authRequired();
    if (!p.user.isAdmin && p.user.name !== ns && !p.orgs.has(ns)) throw forbiddenHf(`You may not see the storage use of ${ns}`);
    res.json(await ctx.deps.quotas.report(ns));
  });

  router.get('/api/whoami-v2', (req, res) => {
    res.locals.surface = 'hf';
    const p = principalOf(res);
    if (!p) throw authRequired('Invalid credentials in Authorization header');
    res.json({
      type: 'user',
      id: String(p.user.id),
      name: p.user.name,
      fullname: p.user.name,
      email: p.user.email,
      emailVerified: !!p.user.email,
      isPro: false,
      canPay: false,
      orgs: [...p.orgs].map(([name, role]) => ({ type: 'org', name, fullname: name, roleInOrg: role })),
      auth: { type: 'access_token', accessToken: { displayName: `token-${p.tokenId}`, role: p.scope, createdAt: iso(p.user.createdAt) } },
    });
  });

  router.post('/api/validate-yaml', ctx.json, (req, res) => {
    const body = (req.body ?? {}) as { content?: unknown; repoType?: unknown };
    const type = body.repoType === 'dataset' || body.repoType === 'space' ? body.repoType : 'model';
    const report = validateReadme(typeof body.content === 'string' ? body.content : '', type);
    res.status(report.errors.length ? 400 : 200).json(report);
  });
}
