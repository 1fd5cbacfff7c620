import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db, RepoType } from '../db/db.js';
import { hashObject } from '../git/objects/hash.js';
import type { GitStore } from '../git/store/git-store.js';
import { isLfsPath, lfsPatterns } from '../hf/gitattributes.js';
import { walkTree } from '../hf/tree.js';
import type { JobContext } from '../jobs/types.js';
import type { ContentStore } from '../lfs/content-store.js';
import { formatPointer } from '../lfs/pointer.js';
import type { LfsRecords } from '../lfs/records.js';
import type { CommitChange, CommitService, Identity } from '../repos/commit-service.js';
import { createRepoService, TYPE_PREFIX } from '../repos/repo-service.js';
import { discoverRepos, resolveImportDir, type FoundFile, type FoundRepo } from './scan.js';

export interface ScanInput {
  /** The folder to import (absolute; inside PACKHUB_IMPORT_ROOTS after realpath). */
  dir: string;
  /** Put every repository under this namespace instead of the layout's. */
  namespace?: string | null;
  /** List what would be imported; write nothing. */
  dryRun?: boolean;
  /** The administrator importing (new namespaces get them as admin); null: every admin of the hub (CLI). */
  userId?: number | null;
}

/** What the import job kind needs of the engine. */
export interface ImportJobsPort {
  register(kind: string, handler: (ctx: JobContext) => Promise<void>): void;
  enqueue(input: { kind: string; repoLabel?: string | null; params?: Record<string, unknown> }): Promise<{ id: string }>;
}

export interface ImportDeps {
  db: Db;
  store: GitStore;
  content: ContentStore;
  records: LfsRecords;
  commits: CommitService;
  jobs: ImportJobsPort;
  /** Allowed folders (PACKHUB_IMPORT_ROOTS); empty: importing is off. */
  roots: string[];
  lfsThreshold: number;
  /** Largest git object the hub stores (a raw file above it goes to LFS whatever the threshold). */
  maxObjectBytes: number;
  /** The upstream hub's URL (recorded for cache imports, so a later mirror sync knows where from). */
  upstreamUrl: string;
  log: Logger;
}

export const IMPORT_KIND = 'import.scan';

/** Raw (non-LFS) bytes one commit holds in memory at most; files beyond go to LFS whatever their size. */
const MAX_INLINE_BYTES = 256 * 1024 ** 2;

const label = (type: RepoType, ns: string, name: string) => `${TYPE_PREFIX[type] ? `${TYPE_PREFIX[type]}/` : ''}${ns}/${name}`;

/** A file read, hashed and ready to commit: raw content, or an LFS object (stored unless dry). */
type Prepared = { path: string; content: Buffer; lfs: { oid: string; size: number } | null; stored?: boolean };

class BadFile extends Error {}

/**
 * Models and datasets already on disk become repositories: a folder is walked (by a job of the
 * engine, in the server, which reads the disk), each repository recognised by its layout gets one
 * commit through the commit service with its large files in LFS (stored once, by content), and a
 * Hugging Face cache snapshot keeps its upstream commit id in a mirrors row.
 */
export class ImportService {
  private readonly repos: ReturnType<typeof createRepoService>;

  constructor(private readonly deps: ImportDeps) {
    this.repos = createRepoService(deps.db);
    deps.jobs.register(IMPORT_KIND, (ctx) => this.run(ctx));
  }

  /** Checks the folder (allowed roots, realpath) and queues the scan. */
  async enqueueScan(input: ScanInput): Promise<{ id: string; dir: string }> {
    const dir = await resolveImportDir(input.dir, this.deps.roots);
    if (input.namespace != null && (typeof input.namespace !== 'string' || !input.namespace)) throw new AppError('invalid', 'BadNamespace', 'namespace must be a name');
    const job = await this.deps.jobs.enqueue({
      kind: IMPORT_KIND,
      repoLabel: dir.slice(-300),
      params: { dir, namespace: input.namespace ?? null, dryRun: !!input.dryRun, userId: input.userId ?? null },
    });
    return { id: job.id, dir };
  }

  private async run(ctx: JobContext): Promise<void> {
    const p = ctx.job.params as { dir?: unknown; namespace?: unknown; dryRun?: unknown; userId?: unknown };
    // Checked again here: the server's own settings decide what it reads.
    const root = await resolveImportDir(String(p.dir ?? ''), this.deps.roots);
    const namespace = typeof p.namespace === 'string' && p.namespace ? p.namespace : null;
    const dryRun = p.dryRun === true;
    const userId = typeof p.userId === 'number' ? p.userId : null;
    ctx.log(`${dryRun ? 'dry run: ' : ''}scanning ${root}${namespace ? ` into namespace ${namespace}` : ''}`);
    const found = await discoverRepos(root, (l) => ctx.log(l));
    const filesTotal = found.reduce((n, r) => n + r.files.length, 0);
    const bytesTotal = found.reduce((n, r) => r.files.reduce((m, f) => m + f.size, n), 0);
    ctx.log(`found ${found.length} repositories: ${filesTotal} files, ${bytesTotal} bytes`);
    const progress = { filesDone: 0, bytesDone: 0 };
    ctx.progress({ filesTotal, bytesTotal, filesDone: 0, bytesDone: 0 });

    const author = await this.author(userId);
    const seen = new Map<string, string>();
    const planned = new Set<string>();
    const counts = { committed: 0, unchanged: 0, skipped: 0, failed: 0 };
    for (const r of found) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const ns = namespace ?? r.namespace;
      const id = ns ? label(r.type, ns, r.name) : null;
      const advance = () => {
        for (const f of r.files) {
          progress.filesDone++;
          progress.bytesDone += f.size;
        }
        ctx.progress(progress);
      };
      if (!ns || !id) {
        ctx.log(`${r.where}: skipped, the layout gives no namespace (give one with --namespace)`);
        counts.skipped++;
        advance();
        continue;
      }
      const key = id.toLowerCase();
      if (seen.has(key)) {
        ctx.log(`${r.where}: skipped, ${id} is already imported from ${seen.get(key)} in this scan`);
        counts.skipped++;
        advance();
        continue;
      }
      seen.set(key, r.where);
      for (const s of r.skipped) ctx.log(`${id}: ${s.path}: skipped, ${s.reason}`);
      try {
        const before = { ...progress };
        const outcome = await this.importRepo(ctx, r, ns, { dryRun, userId, author, progress, planned });
        // Files that were not read (a repository skipped whole) still count as done.
        progress.filesDone = before.filesDone + r.files.length;
        progress.bytesDone = before.bytesDone + r.files.reduce((n, f) => n + f.size, 0);
        ctx.progress(progress);
        counts[outcome]++;
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        ctx.log(`${id}: FAILED: ${(err as Error).message}`);
        this.deps.log.warn({ err, repo: id }, 'import of a repository failed');
        counts.failed++;
      }
    }
    ctx.log(`${dryRun ? 'dry run done' : 'done'}: ${counts.committed} ${dryRun ? 'to commit' : 'committed'}, ${counts.unchanged} unchanged, ${counts.skipped} skipped, ${counts.failed} failed`);
    if (counts.failed) throw new Error(`${counts.failed} of ${found.length} repositories failed (see the log)`);
  }

  private async author(userId: number | null): Promise<Identity> {
    const u = userId !== null ? await this.deps.db.users.findById(userId) : null;
    return u ? { name: u.name, email: u.email ?? `${u.name}@users.noreply.packhub` } : { name: 'packhub import', email: 'import@packhub' };
  }

  private async importRepo(
    ctx: JobContext,
    r: FoundRepo,
    ns: string,
    o: { dryRun: boolean; userId: number | null; author: Identity; progress: { filesDone: number; bytesDone: number }; planned: Set<string> },
  ): Promise<'committed' | 'unchanged' | 'skipped'> {
    const { db } = this.deps;
    const id = label(r.type, ns, r.name);
    let repo = await this.repos.find({ type: r.type, namespace: ns, name: r.name });
    if (repo) {
      const m = await db.mirrors.get(repo.id);
      if (m && m.source !== 'cache-import') {
        ctx.log(`${id}: skipped, it is a mirror of ${m.upstreamUrl || 'an upstream hub'} here (detach it first)`);
        return 'skipped';
      }
      if (r.cache && !m && (await this.deps.store.refs(repo.id)).length > 0) {
        // A cache import makes a repository read-only: never one that people already write to.
        ctx.log(`${id}: skipped, it exists here as an ordinary repository (import the cache folder under another --namespace)`);
        return 'skipped';
      }
    }
    if (r.files.length === 0) {
      ctx.log(`${id}: skipped, no file to import`);
      return 'skipped';
    }

    // Read and hash every file (LFS ones stored while verified); a file that fails is left out whole.
    const prepared: Prepared[] = [];
    const bad = new Set<string>();
    let inline = 0;
    let lfsCount = 0;
    let lfsStored = 0;
    for (const f of r.files) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      try {
        const lfs = f.size >= this.deps.lfsThreshold || f.size > this.deps.maxObjectBytes || inline + f.size > MAX_INLINE_BYTES;
        const p = lfs ? await this.prepareLfs(ctx, f, o.dryRun, o.progress, o.planned) : await this.prepareRaw(f);
        if (!lfs) inline += f.size;
        else lfsCount++;
        if (p.stored) lfsStored++;
        prepared.push(p);
      } catch (err) {
        if (!(err instanceof BadFile) && !isFsError(err)) throw err;
        bad.add(f.path);
        ctx.log(`${id}: ${f.path}: skipped, ${err instanceof BadFile ? err.message : `unreadable (${(err as NodeJS.ErrnoException).code})`}`);
      }
      o.progress.filesDone++;
      o.progress.bytesDone += f.size;
      ctx.progress(o.progress);
    }
    for (const s of r.skipped) bad.add(s.path);

    // The changes that make the branch hold exactly these files (skipped files keep what it had).
    const branch = repo?.defaultBranch ?? 'main';
    const ref = `refs/heads/${branch}`;
    const head = repo ? ((await this.deps.store.refs(repo.id)).find((x) => x.name === ref)?.oid ?? null) : null;
    const objects = repo && head ? await this.deps.store.objects(repo.id) : null;
    const current = new Map<string, { oid: string; mode: string }>();
    if (objects && head) for (const e of walkTree(objects, head, '', true)) if (e.mode !== '40000') current.set(e.path, { oid: e.oid, mode: e.mode });

    const ownAttrs = prepared.find((p) => p.path === '.gitattributes' && !p.lfs);
    const headAttrs = current.get('.gitattributes');
    const baseAttrs = ownAttrs ? ownAttrs.content.toString('utf8') : headAttrs && objects ? objects.read(headAttrs.oid).data.toString('utf8') : '';
    const patterns = lfsPatterns(baseAttrs);
    const untracked = prepared.filter((p) => p.lfs && !isLfsPath(patterns, p.path)).map((p) => p.path);
    const files = prepared.filter((p) => p.path !== '.gitattributes');
    if (untracked.length || ownAttrs) {
      const add = untracked.map((p) => `${p.replace(/ /g, '[[:space:]]')} filter=lfs diff=lfs merge=lfs -text\n`).join('');
      files.push({ path: '.gitattributes', content: Buffer.from(`${baseAttrs}${baseAttrs && !baseAttrs.endsWith('\n') && add ? '\n' : ''}${add}`), lfs: null });
    }
    const changes: CommitChange[] = [];
    const wanted = new Set<string>();
    for (const f of files) {
      const content = f.lfs ? formatPointer(f.lfs) : f.content;
      wanted.add(f.path);
      const cur = current.get(f.path);
      if (cur && cur.oid === hashObject('blob', content) && cur.mode === '100644') continue;
      changes.push({ kind: 'put', path: f.path, content });
    }
    for (const p of current.keys()) {
      if (wanted.has(p) || bad.has(p) || (p === '.gitattributes' && !ownAttrs)) continue;
      changes.push({ kind: 'delete', path: p });
    }
    const upstreamRevision = r.cache?.commit ?? null;
    const mirror = repo ? await db.mirrors.get(repo.id) : null;
    const revisionChanged = !!r.cache && mirror?.upstreamRevision !== upstreamRevision;
    const what = `${prepared.length} files, ${lfsCount} in LFS (${lfsStored} ${o.dryRun ? 'to store' : 'stored'}, ${lfsCount - lfsStored} already held)${r.cache ? `, cache snapshot ${upstreamRevision}` : ''}`;
    if (changes.length === 0 && repo && head && !revisionChanged) {
      ctx.log(`${id}: unchanged (${what})`);
      return 'unchanged';
    }
    if (o.dryRun) {
      ctx.log(`${id}: would ${repo ? `commit ${changes.length} changes` : 'be created'} (${what})`);
      return 'committed';
    }

    const created = !repo;
    if (!repo) {
      await this.ensureNamespace(ns, o.userId);
      repo = await this.repos.create({ type: r.type, namespace: ns, name: r.name });
      ctx.log(`${id}: created`);
    }
    let commitOid = head;
    try {
      // LFS objects join the repository only once their bytes were verified above.
      for (const f of files) if (f.lfs) await this.deps.records.link(repo.id, f.lfs.oid);
      if (changes.length > 0 || !head) {
        const message = r.cache ? `Import snapshot ${upstreamRevision} from the Hugging Face cache` : `Import ${r.where}`;
        const result = await this.deps.commits.commit(repo, { ref, changes, message, author: o.author, allowEmpty: !head });
        commitOid = result.commitOid;
      }
    } catch (err) {
      // A repository this scan created and could not fill does not stay behind empty.
      if (created) await db.repos.delete(repo.id).catch(() => undefined);
      throw err;
    }
    if (r.cache) {
      // A cache snapshot: the upstream's commit is known (a later mirror sync continues from there).
      const row = await db.mirrors.create({ repoId: repo.id, upstreamUrl: this.deps.upstreamUrl, upstreamId: `${r.namespace ?? ns}/${r.name}`, source: 'cache-import', upstreamRevision });
      if (row.upstreamRevision !== upstreamRevision) await db.mirrors.update(repo.id, { upstreamRevision });
    }
    ctx.log(commitOid === head ? `${id}: files unchanged at ${head}; cache snapshot now ${upstreamRevision}` : `${id}: committed ${commitOid} (${changes.length} changes; ${what})`);
    return 'committed';
  }

  /** A file below the threshold, read whole (bounded by the threshold) and checked against its size. */
  private async prepareRaw(f: FoundFile): Promise<Prepared> {
    const fh = await fsp.open(f.real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new BadFile('not a regular file');
      if (st.size !== f.size) throw new BadFile('changed while being imported');
      const buf = Buffer.alloc(f.size + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n > f.size) throw new BadFile('changed while being imported');
      }
      if (n !== f.size) throw new BadFile('changed while being imported');
      return { path: f.path, content: buf.subarray(0, n), lfs: null };
    } finally {
      await fh.close();
    }
  }

  /**
   * A large file: hashed while read (progress counts the bytes); then stored under its SHA-256 while
   * verified again, unless the hub holds that content already (stored once, whatever repository).
   */
  private async prepareLfs(ctx: JobContext, f: FoundFile, dryRun: boolean, progress: { filesDone: number; bytesDone: number }, planned: Set<string>): Promise<Prepared> {
    const hash = crypto.createHash('sha256');
    let size = 0;
    let last = 0;
    const stream = await openFile(f.real);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (ctx.signal.aborted) {
        stream.destroy();
        throw ctx.signal.reason;
      }
      hash.update(chunk);
      size += chunk.length;
      if (size - last >= 8 << 20) {
        last = size;
        ctx.progress({ bytesDone: progress.bytesDone + size });
      }
    }
    if (size !== f.size) throw new BadFile('changed while being imported');
    const oid = hash.digest('hex');
    // In a dry run nothing is stored: content met earlier in the scan counts as held.
    const held = (await this.deps.records.objectSize(oid)) === size || (dryRun && planned.has(oid));
    planned.add(oid);
    if (!dryRun && !held) {
      try {
        await this.deps.content.receive(oid, size, await openFile(f.real));
      } catch (err) {
        if (err instanceof AppError && (err.code === 'HashMismatch' || err.code === 'SizeMismatch')) throw new BadFile('changed while being imported');
        throw err;
      }
      await this.deps.records.recordObject(oid, size);
    }
    return { path: f.path, content: Buffer.alloc(0), lfs: { oid, size }, stored: !held };
  }

  /** A missing namespace becomes an organization administered by the importer (or every hub admin). */
  private async ensureNamespace(ns: string, userId: number | null): Promise<void> {
    const { db } = this.deps;
    if (await db.names.holder(ns)) return;
    let org;
    try {
      org = await db.orgs.create(ns);
    } catch (err) {
      if (err instanceof AppError && err.code === 'NameTaken') return;
      throw err;
    }
    const admins = userId !== null ? [userId] : (await db.users.list()).filter((u) => u.isAdmin).map((u) => u.id);
    for (const a of admins) await db.orgs.setMember(org.id, a, 'admin');
  }
}

async function openFile(real: string): Promise<fs.ReadStream> {
  const fh = await fsp.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new BadFile('not a regular file');
  }
  return fh.createReadStream({ highWaterMark: 1 << 20 });
}

function isFsError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
