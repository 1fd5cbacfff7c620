#!/usr/bin/env node
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { loadConfig, parseByteSize, type Config } from './core/config.js';
import { createQuotaService } from './repos/quota-service.js';
import { AppError } from './core/errors.js';
import { createLogger } from './core/logger.js';
import { validateOrgName, validateUserName } from './core/names.js';
import type { RepoType } from './db/types.js';
import { openDb } from './db/typeorm-db.js';
import { createInvitation } from './auth/invitations.js';
import { generateToken, hashPassword, hashToken } from './auth/tokens.js';
import { createRepoService } from './repos/repo-service.js';
import { checkDeployment } from './core/deployment.js';
import { JOBS_USAGE, jobsCommand } from './jobs/cli.js';
import { MIRROR_USAGE, mirrorCommand } from './mirror/cli.js';
import { IMPORT_USAGE, importCommand } from './import/cli.js';

const USAGE = `packhub: a self-hosted, git-native hub for ML models and datasets

usage:
  packhub serve                                        run the hub (PACKHUB_* environment variables configure it)
  packhub user create NAME [--admin] [--password P] [--email E] [--token read|write]...
                                                       --token also creates an access token of that scope and
                                                       prints it (once), as token create does
  packhub user passwd NAME [--password P]                a new password, typed twice on a terminal or read from
                                                       the first line of stdin; signs the user out everywhere
                                                       (set-password is the same command)
  packhub user disable NAME | user enable NAME           a disabled user cannot sign in; sessions end, tokens are refused
  packhub invite create NAME [--days 7]                 an invitation code and link (PACKHUB_REGISTRATION=invite)
  packhub token create USER [--scope read|write] [--name LABEL] [--expires-days N]
                                                       prints the new token alone on the last line
  packhub user list                                    every account: admin, disabled
  packhub user admin NAME [--revoke]                   make a user an administrator of the hub, or no longer one
  packhub user delete NAME --yes                       the account, its tokens, sessions and memberships; refused
                                                       while repositories live under its name (move or delete them)
  packhub repo create NAMESPACE/NAME [--private] [--type model|dataset|space] [--default-branch main]
  packhub repo list [NAMESPACE] [--type model|dataset|space]
  packhub repo move NAMESPACE/NAME NEWNAMESPACE/NEWNAME [--type ...]   rename or transfer (the data stays)
  packhub repo delete NAMESPACE/NAME [--type ...] --yes                its history, refs and packs; LFS objects
                                                       other repositories share stay
  packhub org create NAME [--admin USER]
  packhub org add-member ORG USER [--role read|write|admin]   (also changes a member's role)
  packhub org remove-member ORG USER
  packhub quota set NAMESPACE [--private SIZE|none] [--public SIZE|none]   (e.g. 50GiB)
  packhub quota show NAMESPACE
${JOBS_USAGE}${MIRROR_USAGE}${IMPORT_USAGE}  packhub gc [--dry-run] [--grace-ms N]                 garbage collection: git objects no ref reaches (dropped by
                                                       compaction), LFS objects no reachable pointer names (unlinked,
                                                       deleted once no repository links them), stored objects no
                                                       database row names; each once older than the grace period
                                                       (PACKHUB_GC_GRACE_MS); the server also runs it every
                                                       PACKHUB_GC_INTERVAL_MS
`;

class UsageError extends Error {}

/**
 * A new password: typed twice without echo on a terminal, or the first line of stdin otherwise
 * (`printf '%s\\n' "$PW" | packhub user passwd alice`), so it never has to stand in a command line.
 */
async function readNewPassword(name: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.includes('\n') || text.length > 4096) break;
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  const { createInterface } = await import('node:readline/promises');
  const { Writable } = await import('node:stream');
  const ask = async (prompt: string) => {
    process.stderr.write(prompt);
    // Echo goes nowhere: what is typed is not shown.
    const rl = createInterface({ input: process.stdin, output: new Writable({ write: (_c, _e, cb) => cb() }), terminal: true });
    try {
      return await rl.question('');
    } finally {
      rl.close();
      process.stderr.write('\n');
    }
  };
  const first = await ask(`new password for ${name}: `);
  if ((await ask('again: ')) !== first) throw new UsageError('the two passwords differ; nothing changed');
  return first;
}

async function withDb<T>(config: Readonly<Config>, fn: (db: Awaited<ReturnType<typeof openDb>>) => Promise<T>): Promise<T> {
  // The server of this data dir wrote down its database: never open another one silently.
  const { database, mismatch, running } = checkDeployment(config);
  if (mismatch) {
    const what = `the packhub server of ${config.dataDir} ${running ? 'runs' : 'last ran'} on ${mismatch.database}, but this command would open ${database}`;
    if (running) throw new UsageError(`${what}: give this command the server's PACKHUB_* settings (PACKHUB_DATABASE_URL, PACKHUB_DATA_DIR)`);
    process.stderr.write(`warning: ${what}\n`);
  }
  process.stderr.write(`packhub: database ${database}\n`);
  const db = await openDb(config.database, createLogger('warn', process.stderr));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * How much V8 lets the heap grow past what a full collection left alive before the next one, for
 * the server (percent). V8's default on a machine with a few GiB or more is up to 4x: a server whose
 * live heap is ~60-100 MiB (caches included) grew to 300+ MiB of heap plus the array buffers
 * (Buffers) that die with it, and stayed there (bench/huge.ts, issue #14). 30% keeps the heap
 * within ~1.3x of its live size at the cost of more frequent (mostly concurrent) major collections.
 */
const SERVER_HEAP_GROWING_PERCENT = 30;

/** Sets SERVER_HEAP_GROWING_PERCENT unless the operator gave V8 a growing factor (node flags or NODE_OPTIONS). A flag V8 reads at every collection, so setting it now takes effect. */
function limitHeapGrowth(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /heap[-_]growing[-_]percent/.test(a));
  if (!given) v8.setFlagsFromString(`--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  if (!cmd || cmd === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig(process.env);

  if (cmd === 'serve') {
    limitHeapGrowth();
    const log = createLogger(config.logLevel, undefined, config.logFormat);
    const { startServer } = await import('./server.js');
    const server = await startServer(config, log);
    // One plain line for people at a terminal (the JSON log line says the same for machines).
    const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    const loopback = ['127.0.0.1', 'localhost', '::1'].includes(config.host);
    process.stderr.write(`packhub listening on http://${shown}:${server.port} (${loopback ? 'this machine only; PACKHUB_HOST=0.0.0.0 opens it to the network' : 'open to the network'})\n`);
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
      setTimeout(() => process.exit(1), 30_000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    return;
  }

  if (cmd === 'user' && sub === 'create') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { admin: { type: 'boolean' }, password: { type: 'string' }, email: { type: 'string' }, token: { type: 'string', multiple: true } },
    });
    const name = positionals[0];
    if (!name || positionals.length > 1) throw new UsageError('usage: packhub user create NAME [--admin] [--password P] [--email E] [--token read|write]...');
    validateUserName(name);
    const scopes = values.token ?? [];
    for (const s of scopes) if (s !== 'read' && s !== 'write') throw new UsageError(`--token takes a scope, read or write, not '${s}'`);
    const passwordHash = values.password ? await hashPassword(values.password) : null;
    // The user and its first tokens in one go (provisioning scripts; the tests' accounts).
    const secrets = scopes.map(() => generateToken());
    const user = await withDb(config, async (db) => {
      const u = await db.users.create({ name, email: values.email ?? null, isAdmin: !!values.admin, passwordHash });
      for (const [i, scope] of scopes.entries()) await db.tokens.create({ userId: u.id, name: 'cli', scope: scope as 'read' | 'write', tokenHash: hashToken(secrets[i]!), expiresAt: null });
      return u;
    });
    process.stdout.write(`created user ${user.name}${user.isAdmin ? ' (admin)' : ''}\n`);
    for (const [i, scope] of scopes.entries()) process.stdout.write(`created ${scope} token for ${user.name}; it is shown only once:\n${secrets[i]}\n`);
    return;
  }

  if (cmd === 'user' && (sub === 'passwd' || sub === 'set-password' || sub === 'disable' || sub === 'enable')) {
    const setting = sub === 'passwd' || sub === 'set-password';
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { password: { type: 'string' } } });
    const name = positionals[0];
    if (!name || positionals.length > 1 || (!setting && values.password !== undefined)) {
      throw new UsageError(setting ? `usage: packhub user ${sub} NAME [--password P]` : `usage: packhub user ${sub} NAME`);
    }
    await withDb(config, async (db) => {
      const user = await db.users.findByName(name);
      if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${name}`);
      if (setting) {
        const password = values.password ?? (await readNewPassword(name));
        if (password.length < 8) throw new UsageError('the password needs at least 8 characters');
        await db.users.setPassword(user.id, await hashPassword(password));
      } else await db.users.setDisabled(user.id, sub === 'disable');
    });
    process.stdout.write(setting ? `new password set for ${name}; their sessions have ended\n` : `${name} is ${sub}d${sub === 'disable' ? '; their sessions have ended' : ''}\n`);
    return;
  }

  if (cmd === 'user' && (sub === 'list' || sub === 'admin' || sub === 'delete')) {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { revoke: { type: 'boolean' }, yes: { type: 'boolean' } } });
    await withDb(config, async (db) => {
      if (sub === 'delete') {
        const name = positionals[0];
        if (!name || positionals.length > 1) throw new UsageError('usage: packhub user delete NAME --yes');
        const user = await db.users.findByName(name);
        if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${name}`);
        if (!values.yes) throw new UsageError(`deleting the account ${name} cannot be undone: add --yes`);
        await db.users.delete(user.id);
        process.stdout.write(`deleted the account ${name} (its tokens, sessions and memberships)\n`);
        return;
      }
      if (sub === 'list') {
        if (positionals.length > 0) throw new UsageError('usage: packhub user list');
        for (const u of await db.users.list()) process.stdout.write(`${u.name}${u.isAdmin ? '\tadmin' : ''}${u.disabled ? '\tdisabled' : ''}\n`);
        return;
      }
      const name = positionals[0];
      if (!name || positionals.length > 1) throw new UsageError('usage: packhub user admin NAME [--revoke]');
      const user = await db.users.findByName(name);
      if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${name}`);
      await db.users.setAdmin(user.id, !values.revoke);
      process.stdout.write(`${name} is ${values.revoke ? 'no longer' : 'now'} an administrator of the hub\n`);
    });
    return;
  }

  if (cmd === 'repo' && (sub === 'list' || sub === 'move' || sub === 'delete')) {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { type: { type: 'string' }, yes: { type: 'boolean' } } });
    if (values.type !== undefined && !['model', 'dataset', 'space'].includes(values.type)) throw new UsageError(`--type must be model, dataset or space, not '${values.type}'`);
    const type = values.type as RepoType | undefined;
    const refOf = (text: string | undefined, usage: string) => {
      const m = /^([^/]+)\/([^/]+)$/.exec(text ?? '');
      if (!m) throw new UsageError(usage);
      return { namespace: m[1]!, name: m[2]! };
    };
    const shown = (r: { type: RepoType; namespace: string; name: string }) => `${r.type === 'model' ? '' : `${r.type}s/`}${r.namespace}/${r.name}`;
    await withDb(config, async (db) => {
      if (sub === 'list') {
        if (positionals.length > 1) throw new UsageError('usage: packhub repo list [NAMESPACE] [--type model|dataset|space]');
        const filter = { ...(type ? { type } : {}), ...(positionals[0] ? { namespace: positionals[0] } : {}) };
        for (const r of await db.repos.list(filter)) process.stdout.write(`${shown(r)}${r.private ? '\tprivate' : ''}\n`);
        return;
      }
      const usage = sub === 'move' ? 'usage: packhub repo move NAMESPACE/NAME NEWNAMESPACE/NEWNAME [--type model|dataset|space]' : 'usage: packhub repo delete NAMESPACE/NAME [--type model|dataset|space] --yes';
      if (positionals.length !== (sub === 'move' ? 2 : 1)) throw new UsageError(usage);
      const from = refOf(positionals[0], usage);
      const repo = await db.repos.find(type ?? 'model', from.namespace, from.name);
      if (!repo) throw new AppError('not_found', 'RepoNotFound', `no ${type ?? 'model'} repository ${from.namespace}/${from.name}`);
      if (sub === 'move') {
        const moved = await createRepoService(db).move(repo, refOf(positionals[1], usage));
        process.stdout.write(`moved ${shown(repo)} to ${shown(moved)}\n`);
        return;
      }
      if (!values.yes) throw new UsageError(`deleting ${shown(repo)} cannot be undone: add --yes`);
      await db.repos.delete(repo.id);
      // Its packs go now; anything a crash leaves is swept later as unnamed storage.
      const { createBlobStore } = await import('./storage/index.js');
      const blobs = await createBlobStore(config.storage);
      for await (const { key } of blobs.list(`repos/${repo.id}/`)) await blobs.delete(key);
      process.stdout.write(`deleted ${shown(repo)}\n`);
    });
    return;
  }

  if (cmd === 'invite' && sub === 'create') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { days: { type: 'string', default: '7' } } });
    const name = positionals[0];
    if (!name || positionals.length > 1) throw new UsageError('usage: packhub invite create NAME [--days 7]');
    validateUserName(name);
    const days = Number(values.days);
    if (!(days > 0 && days <= 365)) throw new UsageError('--days must be between 0 and 365');
    const inv = await withDb(config, async (db) => {
      const holder = await db.names.holder(name);
      if (holder) throw new AppError('conflict', 'NameTaken', `the name '${name}' is taken by ${holder.kind === 'user' ? 'user' : 'organization'} '${holder.name}'`);
      // The same secret the server signs with (created by whichever comes first).
      const secret = await db.settings.getOrCreate('transfer_signing_secret', () => crypto.randomBytes(32).toString('base64url'));
      return createInvitation(secret, name, days);
    });
    const base = config.publicUrl ?? `http://localhost:${config.port}`;
    process.stdout.write(`invitation for ${name}, valid until ${inv.expiresAt.toISOString()}:\n${inv.code}\n${base}/#/register?name=${encodeURIComponent(name)}&invite=${encodeURIComponent(inv.code)}\n`);
    return;
  }

  if (cmd === 'token' && sub === 'create') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { scope: { type: 'string', default: 'write' }, name: { type: 'string' }, 'expires-days': { type: 'string' } } });
    const userName = positionals[0];
    if (!userName || positionals.length > 1) throw new UsageError('usage: packhub token create USER [--scope read|write] [--name LABEL] [--expires-days N]');
    if (values.scope !== 'read' && values.scope !== 'write') throw new UsageError(`--scope must be read or write, not '${values.scope}'`);
    const days = values['expires-days'] === undefined ? null : Number(values['expires-days']);
    if (days !== null && !(days > 0)) throw new UsageError('--expires-days must be a positive number');
    const secret = generateToken();
    await withDb(config, async (db) => {
      const user = await db.users.findByName(userName);
      if (!user) throw new AppError('not_found', 'UserNotFound', `no user named ${userName}`);
      await db.tokens.create({
        userId: user.id,
        name: values.name ?? 'cli',
        scope: values.scope as 'read' | 'write',
        tokenHash: hashToken(secret),
        expiresAt: days === null ? null : new Date(Date.now() + days * 86_400_000),
      });
    });
    process.stdout.write(`created ${values.scope} token for ${userName}; it is shown only once:\n${secret}\n`);
    return;
  }

  if (cmd === 'repo' && sub === 'create') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { private: { type: 'boolean' }, type: { type: 'string', default: 'model' }, 'default-branch': { type: 'string', default: 'main' } } });
    const id = positionals[0];
    const m = id ? /^([^/]+)\/([^/]+)$/.exec(id) : null;
    if (!m || positionals.length > 1) throw new UsageError('usage: packhub repo create NAMESPACE/NAME [--private] [--type model|dataset|space]');
    if (!['model', 'dataset', 'space'].includes(values.type!)) throw new UsageError(`--type must be model, dataset or space, not '${values.type}'`);
    const repo = await withDb(config, (db) =>
      createRepoService(db).create({ type: values.type as RepoType, namespace: m[1]!, name: m[2]!, private: !!values.private, defaultBranch: values['default-branch'] }),
    );
    const prefix = repo.type === 'model' ? '' : `${repo.type}s/`;
    process.stdout.write(`created ${repo.private ? 'private ' : ''}${repo.type} repository ${repo.namespace}/${repo.name} (/${prefix}${repo.namespace}/${repo.name}.git)\n`);
    return;
  }

  if (cmd === 'org' && (sub === 'create' || sub === 'add-member' || sub === 'remove-member')) {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { admin: { type: 'string' }, role: { type: 'string', default: 'write' } } });
    await withDb(config, async (db) => {
      const userOf = async (name: string) => {
        const u = await db.users.findByName(name);
        if (!u) throw new AppError('not_found', 'UserNotFound', `no user named ${name}`);
        return u;
      };
      if (sub === 'create') {
        const name = positionals[0];
        if (!name || positionals.length > 1) throw new UsageError('usage: packhub org create NAME [--admin USER]');
        validateOrgName(name);
        const org = await db.orgs.create(name);
        if (values.admin) await db.orgs.setMember(org.id, (await userOf(values.admin)).id, 'admin');
        process.stdout.write(`created organization ${name}${values.admin ? ` with admin ${values.admin}` : ''}\n`);
        return;
      }
      const [orgName, userName] = positionals;
      if (!orgName || !userName || positionals.length > 2) throw new UsageError(`usage: packhub org ${sub} ORG USER${sub === 'add-member' ? ' [--role read|write|admin]' : ''}`);
      const org = await db.orgs.findByName(orgName);
      if (!org) throw new AppError('not_found', 'OrgNotFound', `no organization named ${orgName}`);
      const user = await userOf(userName);
      if (sub === 'remove-member') {
        await db.orgs.removeMember(org.id, user.id);
        process.stdout.write(`removed ${userName} from ${orgName}\n`);
        return;
      }
      if (!['read', 'write', 'admin'].includes(values.role!)) throw new UsageError(`--role must be read, write or admin, not '${values.role}'`);
      await db.orgs.setMember(org.id, user.id, values.role as 'read' | 'write' | 'admin');
      process.stdout.write(`${userName} is now ${values.role} in ${orgName}\n`);
    });
    return;
  }

  if (cmd === 'quota' && (sub === 'set' || sub === 'show')) {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { private: { type: 'string' }, public: { type: 'string' } } });
    const ns = positionals[0];
    if (!ns || positionals.length > 1) throw new UsageError(`usage: packhub quota ${sub} NAMESPACE`);
    await withDb(config, async (db) => {
      const quotas = createQuotaService(db, config.quotas);
      if (sub === 'set') {
        const current = (await db.quotas.get(ns)) ?? config.quotas;
        const parse = (v: string | undefined, old: number | null) => (v === undefined ? old : v === 'none' ? null : parseByteSize(v));
        await db.quotas.set(ns, { privateBytes: parse(values.private, current.privateBytes), publicBytes: parse(values.public, current.publicBytes) });
      }
      const r = await quotas.report(ns);
      const fmt = (x: { usedBytes: number; limitBytes: number | null }) => `${x.usedBytes} bytes used of ${x.limitBytes === null ? 'unlimited' : `${x.limitBytes} bytes`}`;
      process.stdout.write(`${ns}: private ${fmt(r.private)}; public ${fmt(r.public)}\n`);
    });
    return;
  }

  if (cmd === 'jobs') {
    process.exitCode = await jobsCommand(sub, rest, { withDb: (fn) => withDb(config, fn), usageError: (m) => new UsageError(m) });
    return;
  }

  if (cmd === 'mirror') {
    process.exitCode = await mirrorCommand(sub, rest, { config, withDb: (fn) => withDb(config, fn), usageError: (m) => new UsageError(m) });
    return;
  }

  if (cmd === 'import') {
    process.exitCode = await importCommand(sub, rest, { config, withDb: (fn) => withDb(config, fn), usageError: (m) => new UsageError(m) });
    return;
  }

  if (cmd === 'gc') {
    const { values, positionals } = parseArgs({ args: argv.slice(1), allowPositionals: true, options: { 'dry-run': { type: 'boolean' }, 'grace-ms': { type: 'string' } } });
    if (positionals.length > 0) throw new UsageError('usage: packhub gc [--dry-run] [--grace-ms N]');
    const graceMs = values['grace-ms'] === undefined ? config.gc.graceMs : Number(values['grace-ms']);
    if (!Number.isInteger(graceMs) || graceMs < 0) throw new UsageError('--grace-ms takes a whole number of milliseconds');
    const { createBlobStore } = await import('./storage/index.js');
    const { collectGarbage } = await import('./repos/storage-sweep.js');
    const { GitStore } = await import('./git/store/git-store.js');
    const { Compactor } = await import('./git/store/compactor.js');
    const blobs = await createBlobStore(config.storage);
    const dryRun = !!values['dry-run'];
    // A cache of its own: a server on this machine may be using the configured one.
    const cacheDir = path.join(config.cacheDir, `gc-${process.pid}`);
    await withDb(config, async (db) => {
      const log = createLogger('warn', process.stderr);
      const store = new GitStore(db, blobs, cacheDir, config.cacheMaxBytes, log);
      const compactor = new Compactor(store, db, blobs, { ...config.compaction, minPacks: 0, unreachableGraceMs: graceMs, tmpDir: path.join(cacheDir, 'tmp') }, log);
      try {
        const r = await collectGarbage({ db, lfs: db.lfs, blobs, store, compactor, log }, { graceMs, dryRun });
        const would = (done: string, todo: string) => (dryRun ? todo : done);
        process.stdout.write(
          `git: ${r.repos} repositories; ${r.git.droppedObjects} unreachable objects past the grace period ${would('dropped', 'to drop')} (${r.git.droppedBytes} bytes); ${r.git.supersededBytes} bytes of superseded packs waiting for their grace period\n`,
        );
        process.stdout.write(
          `lfs: ${r.lfs.unlinked} links no reachable pointer names ${would('removed', 'to remove')}; ${r.lfs.deleted} objects no repository links ${would('deleted', 'to delete')} (${r.lfs.deletedBytes} bytes); ${r.lfs.waitingBytes} bytes in their grace period\n`,
        );
        for (const o of r.sweep.removed) process.stdout.write(`${dryRun ? 'would delete' : 'deleted'} ${o.key} (${o.size} bytes)\n`);
        process.stdout.write(`${r.sweep.scanned} objects scanned; ${r.sweep.removed.length} ${dryRun ? 'to delete' : 'deleted'} (${r.sweep.removedBytes} bytes); ${r.sweep.young} unnamed but younger than ${graceMs} ms, kept\n`);
      } finally {
        await compactor.close();
        store.packs.closeAll();
        await fsp.rm(cacheDir, { recursive: true, force: true });
      }
    });
    return;
  }

  throw new UsageError(`unknown command '${argv.join(' ')}'\n\n${USAGE}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof AppError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
  } else if (err instanceof Error && err.message.startsWith('invalid configuration')) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
