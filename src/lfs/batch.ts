import { isValidOid } from './pointer.js';

/** git-lfs batch API shapes (docs/api/batch.md). */
export interface BatchRequest {
  operation: 'upload' | 'download';
  objects: { oid: string; size: number }[];
  transfers?: string[];
  ref?: { name: string };
  hash_algo?: string;
}

export interface Action {
  href: string;
  header?: Record<string, string>;
  expires_in: number;
}

export interface BatchObject {
  oid: string;
  size: number;
  authenticated?: boolean;
  actions?: Partial<Record<'upload' | 'download' | 'verify', Action>>;
  error?: { code: number; message: string };
}

export const MAX_BATCH_OBJECTS = 1000;

/** Validate the request shape; per-object problems are reported per object, not here. */
export function parseBatchRequest(body: unknown): BatchRequest | string {
  if (!body || typeof body !== 'object') return 'request body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (b.operation !== 'upload' && b.operation !== 'download') return "operation must be 'upload' or 'download'";
  if (!Array.isArray(b.objects)) return 'objects must be an array';
  if (b.objects.length > MAX_BATCH_OBJECTS) return `at most ${MAX_BATCH_OBJECTS} objects per batch`;
  if (b.hash_algo !== undefined && b.hash_algo !== 'sha256' && b.hash_algo !== 'sha_256') return `hash algorithm ${String(b.hash_algo)} not supported`;
  const objects = b.objects.map((o) => {
    const x = (o ?? {}) as Record<string, unknown>;
    return { oid: typeof x.oid === 'string' ? x.oid : '', size: typeof x.size === 'number' ? x.size : -1 };
  });
  return { operation: b.operation, objects, transfers: Array.isArray(b.transfers) ? (b.transfers as string[]) : undefined, ref: b.ref as BatchRequest['ref'] };
}

export function objectError(oid: string, size: number): BatchObject | null {
  if (!isValidOid(oid)) return { oid, size, error: { code: 422, message: 'invalid object id: expected 64 lowercase hex characters' } };
  if (!Number.isSafeInteger(size) || size < 0) return { oid, size, error: { code: 422, message: 'invalid object size' } };
  return null;
}
