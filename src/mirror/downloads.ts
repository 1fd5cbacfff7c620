import type { RepoRecord } from '../db/db.js';
import { walkTree } from '../hf/tree.js';
import { MAX_POINTER_SIZE, parsePointer, type LfsPointer } from '../lfs/pointer.js';
import { resolveRevision } from '../repos/revisions.js';
import type { FileState, JobContextPort, MirrorFile, MirrorServiceDeps } from './common.js';
import { pathFilter } from './globs.js';
import type { HistorySync } from './history-sync.js';
import type { Fill } from './lfs-fill.js';
import type { MirrorRows } from './mirror-rows.js';

/** A mirror's files: what of them is stored here, and the download job (mirror.download) that fetches the rest. */
export class MirrorDownloads {
  constructor(
    private readonly deps: MirrorServiceDeps,
    private readonly rows: MirrorRows,
    private readonly sync: HistorySync,
  ) {}

  /** Every file of a revision with its LFS pointer (if any), for downloads and the file states. */
  private async filesAt(repo: RepoRecord, revision: string | null): Promise<{ commit: string; upstreamCommit: string; files: { path: string; size: number; lfs: LfsPointer | null }[] }> {
    const [refs, objects, ids] = await Promise.all([this.deps.store.refs(repo.id), this.deps.store.objects(repo.id), this.rows.commitIds(repo)]);
    const { oid: commit } = resolveRevision(refs, objects, revision ?? 'HEAD', repo.defaultBranch, ids);
    const files = [];
    for (const e of walkTree(objects, commit, '', true)) {
      if (e.mode === '40000' || e.mode === '160000') continue;
      const size = objects.size(e.oid);
      const lfs = size > 0 && size < MAX_POINTER_SIZE ? parsePointer(objects.read(e.oid).data) : null;
      files.push({ path: e.path, size: lfs ? lfs.size : size, lfs });
    }
    // Files are asked of the upstream at its own commit id (a synthetic commit's is mapped).
    return { commit, upstreamCommit: ids?.toUpstream.get(commit) ?? commit, files };
  }

  /** The files of a revision of a mirror, each local, remote, downloading or failed. */
  async fileStates(repo: RepoRecord, revision: string | null): Promise<{ commit: string; files: MirrorFile[] }> {
    const mirror = await this.rows.get(repo.id);
    const { commit, files } = await this.filesAt(repo, revision);
    const oids = files.flatMap((f) => (f.lfs ? [f.lfs.oid] : []));
    const linked = await this.deps.records.linked(repo.id, oids);
    return {
      commit,
      files: files.map((f) => {
        if (!f.lfs) return { path: f.path, size: f.size, lfs: null, state: 'local' as const };
        const failure = mirror?.failures[f.lfs.oid];
        const state: FileState = linked.has(f.lfs.oid) ? 'local' : this.deps.fills?.active(f.lfs.oid) ? 'downloading' : failure ? 'failed' : 'remote';
        return { path: f.path, size: f.size, lfs: { oid: f.lfs.oid, size: f.lfs.size }, state, ...(state === 'failed' ? { error: failure!.error } : {}) };
      }),
    };
  }

  /**
   * Downloads the LFS files of a revision (those matching the job's patterns) that are not linked to
   * the repository yet, a few at a time, each verified before it is linked. Files that fail are
   * listed in the job's error; the others stay stored and linked.
   */
  async run(ctx: JobContextPort): Promise<void> {
    const { repo, mirror } = await this.rows.load(ctx.job.repoId);
    const fills = this.deps.fills;
    if (!fills) throw new Error('mirroring is off on this hub (PACKHUB_UPSTREAM_URL=none)');
    if (mirror.refsFetchedAt === null) await this.sync.syncNow(repo, mirror, { signal: ctx.signal, log: (l) => ctx.log(l) });
    const revision = ctx.job.revision ?? mirror.revision;
    const { commit, upstreamCommit, files } = await this.filesAt(repo, revision);
    const exclude = Array.isArray(ctx.job.params.exclude) ? (ctx.job.params.exclude as string[]) : [];
    const wanted = pathFilter(ctx.job.paths, exclude);
    const lfsFiles = files.filter((f) => f.lfs && wanted(f.path));
    const linked = await this.deps.records.linked(
      repo.id,
      lfsFiles.map((f) => f.lfs!.oid),
    );
    const todo = lfsFiles.filter((f) => !linked.has(f.lfs!.oid));
    const bytesTotal = lfsFiles.reduce((n, f) => n + f.size, 0);
    let bytesDone = lfsFiles.filter((f) => linked.has(f.lfs!.oid)).reduce((n, f) => n + f.size, 0);
    let filesDone = lfsFiles.length - todo.length;
    ctx.log(`${revision ?? repo.defaultBranch} is ${commit}: ${lfsFiles.length} large files wanted, ${filesDone} already here, ${todo.length} to download`);
    ctx.progress({ bytesDone, bytesTotal, filesDone, filesTotal: lfsFiles.length });

    const inFlight = new Set<Fill>();
    const failures: Record<string, { path: string; error: string; at: string }> = { ...mirror.failures };
    const failed: string[] = [];
    const ticker = setInterval(() => {
      let partial = 0;
      for (const f of inFlight) partial += f.written;
      ctx.progress({ bytesDone: bytesDone + partial });
    }, 500);
    const queue = [...todo];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        if (ctx.signal.aborted) return;
        const { oid, size } = f.lfs!;
        try {
          if (await this.publiclyHeld(oid)) {
            ctx.log(`${f.path}: already stored for a public repository`);
          } else {
            const fill = fills.fill(oid, size, { type: repo.type, upstreamId: mirror.upstreamId, commit: upstreamCommit, path: f.path });
            fill.hold(ctx.signal);
            inFlight.add(fill);
            try {
              await fill.done;
            } finally {
              inFlight.delete(fill);
            }
            ctx.log(`${f.path}: ${size} bytes, SHA-256 verified`);
          }
          await this.deps.records.link(repo.id, oid);
          delete failures[oid];
          bytesDone += size;
          filesDone++;
          ctx.progress({ bytesDone, filesDone });
        } catch (err) {
          if (ctx.signal.aborted) return;
          const message = (err as Error).message;
          failures[oid] = { path: f.path, error: message, at: new Date().toISOString() };
          failed.push(`${f.path}: ${message}`);
          ctx.log(`${f.path}: FAILED: ${message}`);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.deps.config?.concurrency ?? 4, Math.max(todo.length, 1)) }, worker));
    } finally {
      clearInterval(ticker);
      await this.rows.update(repo.id, { failures });
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (failed.length) throw new Error(`${failed.length} of ${lfsFiles.length} files failed: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; ...' : ''}`);
    ctx.log(`done: ${filesDone} files, ${bytesDone} bytes`);
  }

  /**
   * An object already stored and linked to a public repository is public content: linking it to a
   * mirror reveals nothing. Anything else must be downloaded from the upstream (its bytes are the
   * proof that the upstream has it), never linked because the upstream named its hash.
   */
  private async publiclyHeld(oid: string): Promise<boolean> {
    if ((await this.deps.records.objectSize(oid)) === null) return false;
    for (const id of await this.deps.records.reposLinking(oid, 20)) {
      const r = await this.deps.db.repos.findById(id);
      if (r && !r.private) return true;
    }
    return false;
  }
}
