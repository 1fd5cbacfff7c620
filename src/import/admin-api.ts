import express, { type Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { AppError, invalid } from '../core/errors.js';
import type { ImportService } from './service.js';

const body = z.object({
  dir: z.string().min(1).max(4096),
  namespace: z.string().min(1).max(96).nullish(),
  dryRun: z.boolean().default(false),
});

/**
 * `POST /api/admin/imports` {dir, namespace?, dryRun?}: queues an import of a folder on the server's
 * disk (inside PACKHUB_IMPORT_ROOTS); answers 202 with the job id. Everyone but administrators gets 404.
 */
export function createImportAdminApi(deps: { imports: ImportService }): Router {
  const router = express.Router();
  router.post('/api/admin/imports', express.json({ limit: '16kb' }), async (req, res) => {
    res.locals.surface = 'hf';
    const p = res.locals.principal as Principal | null | undefined;
    if (!p?.user.isAdmin) throw new AppError('not_found', 'NotFound', 'not found');
    const r = body.safeParse(req.body ?? {});
    if (!r.success) throw invalid('BadRequest', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const job = await deps.imports.enqueueScan({ dir: r.data.dir, namespace: r.data.namespace ?? null, dryRun: r.data.dryRun, userId: p.user.id });
    res.status(202).json({ job: job.id, dir: job.dir });
  });
  return router;
}
