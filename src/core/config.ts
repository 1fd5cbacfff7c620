import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The one typed configuration, parsed once from PACKHUB_* environment variables and passed down
 * explicitly. No other module reads process.env.
 */
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const size = z
  .string()
  .regex(/^\d+(\.\d+)?\s*([kmgt]i?b?)?$/i, 'a byte size such as 1048576, 512MiB or 2GB')
  .transform(parseByteSize);

export function parseByteSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a byte size: ${text}`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] ? 1024 : m[2] ? 1000 : 1;
  return Math.round(Number(m[1]) * base ** power);
}

const envSchema = z.object({
  PACKHUB_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PACKHUB_HOST: z.string().default('127.0.0.1'),
  PACKHUB_PUBLIC_URL: z.string().url().optional(),
  PACKHUB_DATA_DIR: z.string().default('./data'),
  PACKHUB_DATABASE_URL: z.string().optional(),
  PACKHUB_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  PACKHUB_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PACKHUB_S3_ENDPOINT: z.string().url().optional(),
  PACKHUB_S3_PUBLIC_ENDPOINT: z.string().url().optional(),
  PACKHUB_S3_BUCKET: z.string().min(3).optional(),
  PACKHUB_S3_ACCESS_KEY_ID: z.string().optional(),
  PACKHUB_S3_SECRET_ACCESS_KEY: z.string().optional(),
  PACKHUB_S3_REGION: z.string().default('us-east-1'),
  PACKHUB_S3_FORCE_PATH_STYLE: bool.default(true),
  PACKHUB_S3_PREFIX: z.string().default(''),
  PACKHUB_CACHE_DIR: z.string().optional(),
  PACKHUB_CACHE_MAX_BYTES: size.default(2 * 1024 ** 3),
  PACKHUB_MAX_PUSH_BYTES: size.default(20 * 1024 ** 3),
  PACKHUB_MAX_OBJECT_BYTES: size.default(100 * 1024 ** 2),
  PACKHUB_MIRROR_MAX_PACK_BYTES: size.default(8 * 1024 ** 3),
  PACKHUB_ACCEL_REDIRECT_PREFIX: z.string().regex(/^\/[\w/-]*\/$/, 'an internal nginx location such as /_packhub_objects/').optional(),
  PACKHUB_COMPACT_MIN_PACKS: z.coerce.number().int().min(0).default(4),
  PACKHUB_COMPACT_DELAY_MS: z.coerce.number().int().min(0).default(5000),
  PACKHUB_COMPACT_GRACE_MS: z.coerce.number().int().min(0).default(15 * 60_000),
  PACKHUB_GC_INTERVAL_MS: z.coerce.number().int().min(0).default(60 * 60_000),
  PACKHUB_GC_GRACE_MS: z.coerce.number().int().min(0).default(60 * 60_000),
  PACKHUB_ALLOW_ANONYMOUS_READ: bool.default(true),
  PACKHUB_LFS_PROXY_UPLOAD_BYTES: size.default(5 * 1024 ** 3),
  PACKHUB_LFS_THRESHOLD: size.default(1024 ** 2),
  PACKHUB_HF_COMMIT_MAX_BYTES: size.default(256 * 1024 ** 2),
  PACKHUB_HF_COMMIT_MAX_LINE_BYTES: size.optional(),
  PACKHUB_HF_COMMIT_MAX_OPERATIONS: z.coerce.number().int().min(1).default(200_000),
  PACKHUB_BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  PACKHUB_ADMIN_NAME: z.string().optional(),
  PACKHUB_ADMIN_PASSWORD_FILE: z.string().optional(),
  PACKHUB_REGISTRATION: z.enum(['open', 'invite', 'closed']).default('closed'),
  PACKHUB_QUOTA_PRIVATE_BYTES: size.optional(),
  PACKHUB_QUOTA_PUBLIC_BYTES: size.optional(),
  PACKHUB_UPSTREAM_URL: z.union([z.literal('none'), z.string().url()]).default('https://huggingface.co'),
  PACKHUB_UPSTREAM_TOKEN: z.string().optional(),
  PACKHUB_UPSTREAM_TOKEN_FILE: z.string().optional(),
  PACKHUB_UPSTREAM_PROXY: bool.default(false),
  PACKHUB_UPSTREAM_GIT: bool.default(true),
  PACKHUB_UPSTREAM_ALLOW: z.string().default('*'),
  PACKHUB_UPSTREAM_DENY: z.string().default(''),
  PACKHUB_UPSTREAM_TTL: z.string().regex(/^\d+(ms|s|m|h)?$/, 'a duration such as 600, 90s, 10m or 1h').default('10m'),
  PACKHUB_MIRROR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  PACKHUB_MIRROR_RESYNC_MS: z.coerce.number().int().min(0).default(0),
  PACKHUB_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  PACKHUB_JOB_LEASE_MS: z.coerce.number().int().min(300).default(30_000),
  PACKHUB_JOB_POLL_MS: z.coerce.number().int().min(20).default(1000),
  PACKHUB_JOB_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  PACKHUB_IMPORT_ROOTS: z.string().default(''),
  PACKHUB_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  PACKHUB_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(0).default(10_000),
  PACKHUB_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  PACKHUB_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
});

/** Seconds by default; `ms`, `s`, `m`, `h` suffixes. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

const globList = (text: string) =>
  text
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);

export interface S3Config {
  endpoint?: string;
  /** Endpoint that clients reach, for presigned URLs (when it differs from the server's own). */
  publicEndpoint?: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region: string;
  forcePathStyle: boolean;
  prefix: string;
}

export interface Config {
  port: number;
  host: string;
  publicUrl?: string;
  dataDir: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  storage: { kind: 'fs'; root: string } | { kind: 's3'; s3: S3Config };
  /** Local disk cache for packs read from object storage and for temp files of pushes. */
  cacheDir: string;
  cacheMaxBytes: number;
  maxPushBytes: number;
  /** Largest git object (and delta result) a push or API commit may store; big files belong in LFS. */
  maxObjectBytes: number;
  /** Largest pack a mirror sync accepts from an upstream (objects are bounded by maxObjectBytes as in a push). */
  mirrorMaxPackBytes: number;
  /** nginx internal location serving the objects directory (filesystem backend behind nginx), or null. */
  accelRedirectPrefix: string | null;
  /** Background compaction: packs that trigger it (0: off), quiet time before, grace for replaced packs. */
  compaction: { minPacks: number; delayMs: number; graceMs: number };
  /** Storage sweeps: how often (0: never on their own), and how old an object no row names must be to go. */
  gc: { intervalMs: number; graceMs: number };
  allowAnonymousRead: boolean;
  /** LFS uploads of this size and more go through the server (multipart to S3) instead of one presigned PUT. */
  lfsProxyUploadBytes: number;
  /** Files of this size and more that arrive through the API are stored in LFS. */
  lfsThreshold: number;
  /**
   * Bounds of one HF API commit (NDJSON, counted after decompression): the whole body, one line (a
   * base64 `file` line carries a file below the LFS threshold), and the number of operations.
   */
  hfCommit: { maxBytes: number; maxLineBytes: number; maxOperations: number };
  /** A request body that sends nothing, or a response the client reads nothing of, for this long (while packhub waits on the client) is cut off (0: never). */
  bodyIdleTimeoutMs: number;
  /** Whether anyone may create an account in the web UI (closed: admins create accounts). */
  registration: 'open' | 'invite' | 'closed';
  /** The first administrator, created at start while the hub has none (password read from a file). */
  firstAdmin: { name?: string; passwordFile?: string };
  /** Default storage quotas per namespace (null: unlimited); `packhub quota set` overrides them. */
  quotas: { privateBytes: number | null; publicBytes: number | null };
  /**
   * The hub packhub mirrors (null: mirroring off). The token is sent to that hub only, for gated or
   * private repositories; never shown back in full. `proxy`: pull-through (a repo asked for and not
   * held here is registered from the upstream on the fly). `allow`/`deny`: globs on repo ids
   * (`ns/name`, `datasets/ns/name`), the last matching rule wins. `ttlMs`: how long a branch's commit
   * is trusted before it is asked again. `concurrency`: downloads at once per job. `resyncMs`: how
   * often registered mirrors sync on their own (0: never). `git`: history by git smart HTTP (false,
   * PACKHUB_UPSTREAM_GIT=off: by the REST API only, as synthetic commits; src/mirror/rest-sync.ts).
   */
  upstream: { url: string; token: string | null; proxy: boolean; allow: string[]; deny: string[]; ttlMs: number; concurrency: number; resyncMs: number; git?: boolean } | null;
  /**
   * Background jobs: how many run at once in this process, their lease (renewed every third of it), how
   * often the queue is polled, how long finished jobs and their logs are kept (0: for ever).
   */
  jobs: { concurrency: number; leaseMs: number; pollMs: number; retentionMs: number };
  /** Folders `packhub import scan` may read (absolute; the folder imported must be inside one after realpath). Empty: import off. */
  importRoots: string[];
  /**
   * Webhook deliveries: attempts in all, the wait before the second (doubling after, at most an hour),
   * each POST's timeout, and whether webhooks may point at loopback, private and link-local addresses
   * (off by default: a webhook must not be a way into the network the hub runs in).
   */
  webhooks: { attempts: number; backoffMs: number; timeoutMs: number; allowPrivate: boolean };
  logLevel: string;
  /** json: one JSON object a line (machines); pretty: readable lines for a terminal. */
  logFormat: 'json' | 'pretty';
}

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.PACKHUB_DATA_DIR);
  let upstreamToken = e.PACKHUB_UPSTREAM_TOKEN ?? null;
  if (e.PACKHUB_UPSTREAM_TOKEN_FILE) {
    try {
      upstreamToken = fs.readFileSync(e.PACKHUB_UPSTREAM_TOKEN_FILE, 'utf8').trim();
    } catch (err) {
      throw new Error(`invalid configuration:\n  PACKHUB_UPSTREAM_TOKEN_FILE: ${(err as Error).message}`);
    }
  }
  let database: Config['database'];
  if (e.PACKHUB_DATABASE_URL && /^postgres(ql)?:\/\//.test(e.PACKHUB_DATABASE_URL)) {
    database = { kind: 'postgres', url: e.PACKHUB_DATABASE_URL };
  } else if (e.PACKHUB_DATABASE_URL && e.PACKHUB_DATABASE_URL.startsWith('sqlite:')) {
    database = { kind: 'sqlite', file: path.resolve(e.PACKHUB_DATABASE_URL.slice('sqlite:'.length)) };
  } else if (e.PACKHUB_DATABASE_URL) {
    throw new Error('invalid configuration:\n  PACKHUB_DATABASE_URL: expected postgres://... or sqlite:/path/file.sqlite');
  } else {
    database = { kind: 'sqlite', file: path.join(dataDir, 'packhub.sqlite') };
  }
  let storage: Config['storage'];
  if (e.PACKHUB_S3_BUCKET) {
    storage = {
      kind: 's3',
      s3: {
        endpoint: e.PACKHUB_S3_ENDPOINT,
        publicEndpoint: e.PACKHUB_S3_PUBLIC_ENDPOINT,
        bucket: e.PACKHUB_S3_BUCKET,
        accessKeyId: e.PACKHUB_S3_ACCESS_KEY_ID,
        secretAccessKey: e.PACKHUB_S3_SECRET_ACCESS_KEY,
        region: e.PACKHUB_S3_REGION,
        forcePathStyle: e.PACKHUB_S3_FORCE_PATH_STYLE,
        prefix: e.PACKHUB_S3_PREFIX,
      },
    };
  } else {
    storage = { kind: 'fs', root: path.join(dataDir, 'objects') };
  }
  return Object.freeze({
    port: e.PACKHUB_PORT,
    host: e.PACKHUB_HOST,
    publicUrl: e.PACKHUB_PUBLIC_URL,
    dataDir,
    database,
    storage,
    cacheDir: path.resolve(e.PACKHUB_CACHE_DIR ?? path.join(dataDir, 'cache')),
    cacheMaxBytes: e.PACKHUB_CACHE_MAX_BYTES,
    maxPushBytes: e.PACKHUB_MAX_PUSH_BYTES,
    maxObjectBytes: e.PACKHUB_MAX_OBJECT_BYTES,
    mirrorMaxPackBytes: e.PACKHUB_MIRROR_MAX_PACK_BYTES,
    accelRedirectPrefix: e.PACKHUB_ACCEL_REDIRECT_PREFIX ?? null,
    compaction: { minPacks: e.PACKHUB_COMPACT_MIN_PACKS, delayMs: e.PACKHUB_COMPACT_DELAY_MS, graceMs: e.PACKHUB_COMPACT_GRACE_MS },
    gc: { intervalMs: e.PACKHUB_GC_INTERVAL_MS, graceMs: e.PACKHUB_GC_GRACE_MS },
    allowAnonymousRead: e.PACKHUB_ALLOW_ANONYMOUS_READ,
    lfsProxyUploadBytes: e.PACKHUB_LFS_PROXY_UPLOAD_BYTES,
    lfsThreshold: e.PACKHUB_LFS_THRESHOLD,
    hfCommit: {
      maxBytes: e.PACKHUB_HF_COMMIT_MAX_BYTES,
      // base64 of a file just below the threshold, plus room for the JSON around it and its path
      maxLineBytes: e.PACKHUB_HF_COMMIT_MAX_LINE_BYTES ?? Math.ceil(e.PACKHUB_LFS_THRESHOLD / 3) * 4 + 1024 ** 2,
      maxOperations: e.PACKHUB_HF_COMMIT_MAX_OPERATIONS,
    },
    bodyIdleTimeoutMs: e.PACKHUB_BODY_IDLE_TIMEOUT_MS,
    registration: e.PACKHUB_REGISTRATION,
    firstAdmin: { name: e.PACKHUB_ADMIN_NAME, passwordFile: e.PACKHUB_ADMIN_PASSWORD_FILE },
    quotas: { privateBytes: e.PACKHUB_QUOTA_PRIVATE_BYTES ?? null, publicBytes: e.PACKHUB_QUOTA_PUBLIC_BYTES ?? null },
    upstream:
      e.PACKHUB_UPSTREAM_URL === 'none'
        ? null
        : {
            url: e.PACKHUB_UPSTREAM_URL.replace(/\/+$/, ''),
            token: upstreamToken || null,
            proxy: e.PACKHUB_UPSTREAM_PROXY,
            allow: globList(e.PACKHUB_UPSTREAM_ALLOW),
            deny: globList(e.PACKHUB_UPSTREAM_DENY),
            ttlMs: parseDuration(e.PACKHUB_UPSTREAM_TTL),
            concurrency: e.PACKHUB_MIRROR_CONCURRENCY,
            resyncMs: e.PACKHUB_MIRROR_RESYNC_MS,
            git: e.PACKHUB_UPSTREAM_GIT,
          },
    jobs: { concurrency: e.PACKHUB_JOB_CONCURRENCY, leaseMs: e.PACKHUB_JOB_LEASE_MS, pollMs: e.PACKHUB_JOB_POLL_MS, retentionMs: Math.round(e.PACKHUB_JOB_RETENTION_DAYS * 86_400_000) },
    importRoots: importRoots(e.PACKHUB_IMPORT_ROOTS),
    webhooks: { attempts: e.PACKHUB_WEBHOOK_ATTEMPTS, backoffMs: e.PACKHUB_WEBHOOK_BACKOFF_MS, timeoutMs: e.PACKHUB_WEBHOOK_TIMEOUT_MS, allowPrivate: e.PACKHUB_WEBHOOK_ALLOW_PRIVATE },
    logLevel: e.PACKHUB_LOG_LEVEL,
    logFormat: e.PACKHUB_LOG_FORMAT,
  });
}

/** PACKHUB_IMPORT_ROOTS: comma-separated absolute paths. */
function importRoots(text: string): string[] {
  const roots = text.split(',').map((s) => s.trim()).filter(Boolean);
  const relative = roots.find((r) => !path.isAbsolute(r));
  if (relative) throw new Error(`invalid configuration:\n  PACKHUB_IMPORT_ROOTS: '${relative}' is not an absolute path`);
  return roots.map((r) => path.resolve(r));
}
