import type { Request, Response, Router } from 'express';
import { AppError, notFound } from '../../core/errors.js';
import { deliveryJson, webhookJson, type WebhookService } from '../../community/webhooks.js';
import { principalOf } from '../../http/repo-route.js';
import { authRequired, type HfContext } from './context.js';

/**
 * The signed-in user's webhooks, as the Python client calls them (`hf_api.py`): list (a bare
 * array), create, get, update (POST), enable, disable, delete; and packhub's delivery log of one
 * webhook (`GET /api/settings/webhooks/{id}/deliveries`: its latest deliveries, newest first).
 */
export function webhookRoutes(ctx: HfContext, router: Router, webhooks: WebhookService | null | undefined): void {
  const base = '/api/settings/webhooks';
  const service = (res: Response): WebhookService => {
    res.locals.surface = 'hf';
    if (!principalOf(res)) throw authRequired();
    if (!webhooks) throw notFound('NotFound', 'webhooks are not enabled on this hub');
    return webhooks;
  };
  /** The JSON body, parsed only for a signed-in caller. */
  const body = async (req: Request, res: Response): Promise<Record<string, unknown>> => {
    await new Promise<void>((resolve, reject) => ctx.json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    const b = req.body as unknown;
    if (b === undefined || b === null) return {};
    if (typeof b !== 'object' || Array.isArray(b)) throw new AppError('invalid', 'BadRequest', 'the body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const id = (req: Request) => String(req.params.id);

  router.get(base, async (_req, res) => {
    const s = service(res);
    res.json((await s.list(principalOf(res))).map(webhookJson));
  });
  router.post(base, async (req, res) => {
    const s = service(res);
    res.json({ webhook: webhookJson(await s.create(principalOf(res), await body(req, res))) });
  });
  router.get(`${base}/:id`, async (req, res) => {
    const s = service(res);
    res.json({ webhook: webhookJson(await s.get(principalOf(res), id(req))) });
  });
  router.post(`${base}/:id`, async (req, res) => {
    const s = service(res);
    res.json({ webhook: webhookJson(await s.update(principalOf(res), id(req), await body(req, res))) });
  });
  router.post(`${base}/:id/enable`, async (req, res) => {
    const s = service(res);
    res.json({ webhook: webhookJson(await s.setDisabled(principalOf(res), id(req), false)) });
  });
  router.post(`${base}/:id/disable`, async (req, res) => {
    const s = service(res);
    res.json({ webhook: webhookJson(await s.setDisabled(principalOf(res), id(req), true)) });
  });
  router.delete(`${base}/:id`, async (req, res) => {
    const s = service(res);
    await s.delete(principalOf(res), id(req));
    res.json({});
  });
  router.get(`${base}/:id/deliveries`, async (req, res) => {
    const s = service(res);
    res.json((await s.deliveries(principalOf(res), id(req))).map(deliveryJson));
  });
}
