import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { notFound } from '../../core/errors.js';
import type { RepoRecord, RepoType } from '../../db/db.js';
import type { RepoAction } from '../../auth/permissions.js';
import { principalOf } from '../../http/repo-route.js';
import { rawSegments, repoNotFound, type HfContext } from './context.js';

/** The Hub's repo-type path prefixes: models have none. */
export const REPO_PREFIXES: { prefix: string; plural: string; type: RepoType }[] = [
  { prefix: '', plural: 'models', type: 'model' },
  { prefix: '/datasets', plural: 'datasets', type: 'dataset' },
  { prefix: '/spaces', plural: 'spaces', type: 'space' },
];
export const TYPE_OF_PLURAL: Record<string, RepoType> = Object.fromEntries(REPO_PREFIXES.map((p) => [p.plural, p.type]));

/** The repository a request names: its type (from the path prefix), namespace and name, as in the URL. */
export interface RepoId {
  type: RepoType;
  ns: string;
  name: string;
}

export const repoIdOf = (res: Response): RepoId => res.locals.hfRepoId as RepoId;

/**
 * What a per-repo API handler gets: the repository (checked for the route's action), and the raw
 * (still percent-encoded) path segments after the route's operation, e.g. `main`, `data`, `x.bin`
 * for `/api/models/ns/name/tree/main/data/x.bin`.
 */
export type RepoHandler = (req: Request, res: Response, repo: RepoRecord, rest: string[]) => Promise<void>;

type Method = 'get' | 'post' | 'put' | 'delete';

export interface RepoApi {
  /**
   * `METHOD /api/{models|datasets|spaces}/:ns/:name/<op>[/<rest>]` (op '' is the repository itself).
   * `op` may hold several segments and Express parameters (`discussions/:num/comment`); with
   * `exact`, nothing may follow it. The repository is loaded for `action` (a function of the rest
   * for routes like auth-check/write); with `body`, a JSON or form body is parsed after the
   * permission check.
   */
  route(methods: Method | Method[], op: string, action: RepoAction | ((rest: string[], req: Request) => RepoAction), handler: RepoHandler, opts?: { body?: boolean; exact?: boolean }): void;
}

/**
 * The one place the HF API's per-repo paths are taken apart: `/api/<plural>/:ns/:name/...` for
 * each repo type, with the type, namespace and name put on `res.locals.hfRepoId` once. Route
 * modules register operations on it (`api.route(...)`); an operation no module knows answers
 * `RepoNotFound` for a repository the caller may not read, else 404 "not supported".
 */
export function mountRepoApi(ctx: HfContext, router: Router, register: (api: RepoApi) => void): void {
  // Operation names are matched exactly, as the Hub spells them.
  const sub = express.Router({ caseSensitive: true });
  const api: RepoApi = {
    route(methods, op, action, handler, opts = {}) {
      const path = !op ? '/' : opts.exact ? `/${op}` : `/${op}{/*rest}`;
      const opSegments = op ? op.split('/').length : 0;
      for (const method of [methods].flat()) {
        const verb = method.toUpperCase();
        sub[method](path, async (req: Request, res: Response, next: NextFunction) => {
          // Express answers HEAD with the GET route; the HF API has no HEAD routes.
          if (req.method !== verb) return next();
          const rest = rawSegments(req.url, 0).slice(opSegments);
          const { type, ns, name } = repoIdOf(res);
          const repo = await ctx.loadRepo(res, type, ns, name, typeof action === 'function' ? action(rest, req) : action);
          if (opts.body) await ctx.parseBody(req, res);
          await handler(req, res, repo, rest);
        });
      }
    },
  };
  register(api);
  sub.all('{*rest}', async (req: Request, res: Response) => {
    // The repo must exist for the caller before anything else is said about the route.
    const { type, ns, name } = repoIdOf(res);
    await ctx.loadRepo(res, type, ns, name, 'read');
    throw notFound('NotFound', `${req.method} ${req.originalUrl.split('?')[0]} is not supported by packhub`);
  });

  for (const { plural, type } of REPO_PREFIXES) {
    const enter: RequestHandler = (req, res, next) => {
      // The router matches paths case-insensitively; the type prefix is exact.
      if (req.baseUrl.split('/')[2] !== plural) return next();
      res.locals.surface = 'hf';
      res.locals.hfRepoId = { type, ns: String(req.params.ns), name: String(req.params.name) } satisfies RepoId;
      sub(req, res, next);
    };
    router.use(`/api/${plural}/:ns/:name`, enter);
  }
  // `/api/<plural>/<ns>` without a name names no repository; an unknown plural names no route.
  router.all('/api/:plural/:ns{/:name}{/*rest}', (req: Request, res: Response) => {
    const type = TYPE_OF_PLURAL[String(req.params.plural)];
    if (!type || req.params.name !== undefined) throw notFound('NotFound', `no route for ${req.path}`);
    throw repoNotFound(principalOf(res));
  });
}

/**
 * `METHOD <prefix>/:ns/:name/<op>/*rest` outside `/api` (resolve, raw), for each repo type, models
 * first. The handler gets the repository's id, the operation and the raw segments after it.
 */
export function repoFileRoutes<Op extends string>(
  router: Router,
  ops: readonly Op[],
  methods: ('get' | 'head')[],
  handler: (req: Request, res: Response, id: RepoId, op: Op, rest: string[]) => Promise<void>,
): void {
  for (const { prefix, type } of REPO_PREFIXES) {
    const skip = prefix ? 4 : 3;
    for (const op of ops) {
      for (const method of methods) {
        router[method](`${prefix}/:ns/:name/${op}/*rest`, (req: Request, res: Response) =>
          handler(req, res, { type, ns: String(req.params.ns), name: String(req.params.name) }, op, rawSegments(req.originalUrl, skip)),
        );
      }
    }
  }
  // A namespace-less id (`/gpt2/resolve/main/config.json`) names no repository here: RepoNotFound, as the clients expect.
  for (const op of ops) {
    for (const method of methods) {
      router[method](`/:name/${op}/*rest`, (_req: Request, res: Response) => {
        res.locals.surface = 'hf';
        throw repoNotFound(principalOf(res));
      });
    }
  }
}
