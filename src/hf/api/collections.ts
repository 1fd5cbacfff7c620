import type { Request, Response, Router } from 'express';
import { AppError, invalid } from '../../core/errors.js';
import { CollectionService, LIST_PAGE, type CollectionQuery } from '../../community/collections.js';
import { principalOf } from '../../http/repo-route.js';
import { listParam, type HfContext } from './context.js';

/**
 * Collections (`/api/collections[/{owner}/{title-slug}-{id}[/items[/{itemObjectId}]]]`) as the
 * Python and JS clients call them: list, get, create, update (`{"data": …}`), delete, and the
 * items: add (the whole collection back), update, delete.
 */
export function collectionRoutes(ctx: HfContext, router: Router): void {
  const service = new CollectionService(ctx.deps.db);
  const base = '/api/collections';
  const slugPath = `${base}/:owner/:slug`;
  /** The JSON body (none is fine), parsed only for a signed-in caller. */
  const body = async (req: Request, res: Response): Promise<Record<string, unknown>> => {
    if (!principalOf(res)) throw new AppError('unauthenticated', 'Unauthenticated', 'Authentication required');
    await new Promise<void>((resolve, reject) => ctx.json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    const b = req.body as unknown;
    if (b === undefined || b === null) return {};
    if (typeof b !== 'object' || Array.isArray(b)) throw invalid('BadRequest', 'the body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const one = async (req: Request, res: Response, c: Awaited<ReturnType<CollectionService['find']>>) => (await service.json(principalOf(res), [c], { listing: false, base: ctx.base(req) }))[0]!;
  const owner = (req: Request) => String(req.params.owner);
  const slug = (req: Request) => String(req.params.slug);

  router.get(base, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const num = (v: unknown, dflt: number) => {
      if (v === undefined) return dflt;
      const n = Number(v);
      if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw invalid('BadRequest', 'limit and cursor must be non-negative integers');
      return n;
    };
    const query: CollectionQuery = {
      owners: listParam(req, 'owner'),
      items: listParam(req, 'item'),
      q: typeof q.q === 'string' && q.q ? q.q : null,
      sort: typeof q.sort === 'string' ? q.sort : null,
      limit: Math.min(Math.max(num(q.limit, LIST_PAGE), 1), LIST_PAGE),
      offset: Math.min(num(q.cursor, 0), 1_000_000),
    };
    const { collections, more } = await service.list(principalOf(res), query);
    if (more) ctx.linkNext(req, res, 'cursor', query.offset + query.limit);
    res.json(await service.json(principalOf(res), collections, { listing: true, base: ctx.base(req) }));
  });
  router.post(base, async (req, res) => {
    const c = await service.create(principalOf(res), await body(req, res));
    res.json(await one(req, res, c));
  });
  router.get(slugPath, async (req, res) => {
    res.json(await one(req, res, await service.find(principalOf(res), owner(req), slug(req))));
  });
  router.patch(slugPath, async (req, res) => {
    const c = await service.update(principalOf(res), owner(req), slug(req), await body(req, res));
    res.json({ data: await one(req, res, c) });
  });
  router.delete(slugPath, async (req, res) => {
    await body(req, res);
    await service.delete(principalOf(res), owner(req), slug(req));
    res.json({});
  });
  router.post(`${slugPath}/items`, async (req, res) => {
    const c = await service.addItem(principalOf(res), owner(req), slug(req), await body(req, res));
    res.json(await one(req, res, c));
  });
  router.patch(`${slugPath}/items/:item`, async (req, res) => {
    await service.updateItem(principalOf(res), owner(req), slug(req), String(req.params.item), await body(req, res));
    res.json({});
  });
  router.delete(`${slugPath}/items/:item`, async (req, res) => {
    await body(req, res);
    await service.deleteItem(principalOf(res), owner(req), slug(req), String(req.params.item));
    res.json({});
  });
}
