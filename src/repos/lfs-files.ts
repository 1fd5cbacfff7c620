import { AppError, conflict } from '../core/errors.js';
import type { Db, RefRecord, RefUpdate, RepoRecord } from '../db/db.js';
import { serializeCommit } from '../git/objects/commit.js';
import { hashObject } from '../git/objects/hash.js';
import { serializeTag } from '../git/objects/tag.js';
import { serializeTree, type TreeEntry } from '../git/objects/tree.js';
import type { ObjectType } from '../git/objects/types.js';
import type { GitStore } from '../git/store/git-store.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { MAX_POINTER_SIZE, parsePointer } from '../lfs/pointer.js';
import type { CommitService } from './commit-service.js';

/** Commits one look at the history walks at most (listing stops there; a rewrite of a longer history is refused). */
export const MAX_HISTORY_COMMITS = 50_000;
/** Commits listed per object (the ones that added it). */
const MAX_COMMITS_PER_FILE = 100;
/** Objects one deletion request may name (as the Hub). */
export const MAX_DELETIONS = 1000;

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbce4904';
/** Signatures no longer match a rewritten commit; they are dropped with it. */
const SIGNATURE_HEADERS = new Set(['gpgsig', 'gpgsig-sha256']);

/** One LFS object of a repository, as `lfs-files` lists it. */
export interface LfsFile {
  oid: string;
  size: number;
  /** When it was pushed to (linked to) the repository. */
  pushedAt: Date;
  /** A path that points at it (in the newest commit of the first ref that does), or null when no ref's history does. */
  filename: string | null;
  /** The full name of that ref. */
  ref: string | null;
  /** The commits that added a pointer to it (newest first, at most MAX_COMMITS_PER_FILE). */
  commits: string[];
}

/** Default branch first, then branches, tags and the rest, each by name. */
function refOrder(refs: RefRecord[], defaultBranch: string): RefRecord[] {
  const rank = (n: string) => (n === `refs/heads/${defaultBranch}` ? 0 : n.startsWith('refs/heads/') ? 1 : n.startsWith('refs/tags/') ? 2 : 3);
  return [...refs].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * LFS file management of a repository: its LFS objects with where its history points at them, and
 * their permanent deletion (the objects leave the repository; with `rewriteHistory` the pointers
 * leave every ref's history too). Storage is freed by garbage collection once no repository links
 * an object (src/repos/storage-sweep.ts).
 */
export class LfsFilesService {
  constructor(private readonly deps: { db: Db; store: GitStore; commits: CommitService }) {}

  /** The repository's LFS objects, newest push first. */
  async list(repo: RepoRecord): Promise<LfsFile[]> {
    const [links, refs, objects] = await Promise.all([this.deps.db.lfsFiles.list(repo.id), this.deps.store.refs(repo.id), this.deps.store.objects(repo.id)]);
    const where = this.scan(objects, refOrder(refs, repo.defaultBranch));
    return links.map((l) => {
      const w = where.get(l.oid);
      return { oid: l.oid, size: l.size, pushedAt: l.linkedAt, filename: w?.filename ?? null, ref: w?.ref ?? null, commits: w?.commits ?? [] };
    });
  }

  /**
   * Permanently deletes these LFS objects from the repository: with `rewriteHistory`, every ref is
   * rewritten without the files that point at them first (commit ids change from the first commit
   * that named one); then the objects are unlinked, so downloads of pointers left behind answer
   * `EntryNotFound`. Oids the repository does not link are ignored. Returns the oids deleted.
   */
  async delete(repo: RepoRecord, oids: string[], opts: { rewriteHistory: boolean }): Promise<string[]> {
    const linked = await this.deps.db.lfsFiles.list(repo.id);
    const mine = new Set(linked.map((l) => l.oid));
    const targets = [...new Set(oids)].filter((o) => mine.has(o));
    if (!targets.length) return [];
    if (opts.rewriteHistory) await this.rewrite(repo, new Set(targets));
    return this.deps.db.lfsFiles.delete(repo.id, targets);
  }

  /** Where the history of `refs` points at LFS objects: a path, the ref and the commits that added it. */
  private scan(objects: RepoObjects, refs: RefRecord[]): Map<string, { filename: string; ref: string; commits: string[] }> {
    const out = new Map<string, { filename: string; ref: string; commits: string[] }>();
    const pointers = new TreePointers(objects);
    const seen = new Set<string>();
    for (const ref of refs) {
      const start = this.peelToCommit(objects, ref.oid);
      if (!start || seen.has(start)) continue;
      const queue = [start];
      seen.add(start);
      while (queue.length && seen.size <= MAX_HISTORY_COMMITS) {
        const oid = queue.shift()!;
        const c = objects.commit(oid);
        const mine = pointers.of(c.tree);
        const parents = c.parents.filter((p) => objects.type(p) === 'commit').map((p) => pointers.of(objects.commit(p).tree));
        for (const [lfs, path] of mine) {
          let w = out.get(lfs);
          if (!w) out.set(lfs, (w = { filename: path, ref: ref.name, commits: [] }));
          if (w.commits.length < MAX_COMMITS_PER_FILE && !parents.some((p) => p.has(lfs))) w.commits.push(oid);
        }
        for (const p of c.parents) {
          if (seen.has(p) || objects.type(p) !== 'commit') continue;
          seen.add(p);
          queue.push(p);
        }
      }
    }
    return out;
  }

  private peelToCommit(objects: RepoObjects, oid: string): string | null {
    if (!objects.has(oid)) return null;
    const p = objects.peel(oid);
    return p.type === 'commit' ? p.oid : null;
  }

  /** Rewrites every ref without the files that point at `deleted`, by compare-and-swap; retried when a ref moved meanwhile. */
  private async rewrite(repo: RepoRecord, deleted: Set<string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const [refs, objects] = await Promise.all([this.deps.store.refs(repo.id), this.deps.store.objects(repo.id)]);
      const rewriter = new HistoryRewriter(objects, deleted);
      const updates: RefUpdate[] = [];
      for (const ref of refs) {
        const next = rewriter.object(ref.oid);
        if (next === ref.oid) continue;
        updates.push({ name: ref.name, oldOid: ref.oid, newOid: next, peeled: rewriter.isTag(next) ? rewriter.peeled(next) : null });
      }
      if (!updates.length) return;
      const results = await this.deps.commits.writeObjects(repo, rewriter.written(), updates);
      if (results.every((r) => r.ok)) return;
      if (attempt >= 5) throw conflict('ConcurrentCommit', 'the repository changed while its history was rewritten; retry');
    }
  }
}

/** LFS pointers under a tree (oid -> first path in tree order), memoized per tree. */
class TreePointers {
  private readonly memo = new Map<string, Map<string, string>>();
  constructor(private readonly objects: RepoObjects) {}

  of(tree: string): Map<string, string> {
    let m = this.memo.get(tree);
    if (m) return m;
    m = new Map();
    for (const e of this.objects.tree(tree)) {
      if (e.mode === '40000') {
        for (const [oid, path] of this.of(e.oid)) if (!m.has(oid)) m.set(oid, `${e.name}/${path}`);
      } else if (e.mode.startsWith('100')) {
        const p = pointerIn(this.objects, e.oid);
        if (p && !m.has(p)) m.set(p, e.name);
      }
    }
    this.memo.set(tree, m);
    return m;
  }
}

/** The LFS oid a blob points at, if it is a pointer. */
function pointerIn(objects: RepoObjects, blob: string): string | null {
  if (objects.type(blob) !== 'blob' || objects.size(blob) > MAX_POINTER_SIZE) return null;
  return parsePointer(objects.read(blob).data)?.oid ?? null;
}

/**
 * History without the files that point at some LFS objects: trees without those entries (folders
 * left empty vanish), commits over the new trees and parents (signatures dropped), annotated tags
 * over the new targets. Objects that do not change keep their ids.
 */
class HistoryRewriter {
  private readonly map = new Map<string, string>();
  private readonly out = new Map<string, { type: ObjectType; data: Buffer }>();
  private commitsSeen = 0;
  constructor(
    private readonly objects: RepoObjects,
    private readonly deleted: Set<string>,
  ) {}

  written(): { type: ObjectType; data: Buffer }[] {
    return [...this.out.values()];
  }

  isTag(oid: string): boolean {
    return (this.out.get(oid)?.type ?? this.objects.type(oid)) === 'tag';
  }

  peeled(oid: string): string {
    let cur = oid;
    for (let i = 0; i < 64 && this.isTag(cur); i++) {
      const o = this.out.get(cur);
      cur = o ? /^object ([0-9a-f]{40})/.exec(o.data.toString('latin1'))![1]! : this.objects.tag(cur).object;
    }
    return cur;
  }

  /** The rewritten id of any object a ref may name. */
  object(oid: string): string {
    const type = this.objects.type(oid);
    if (type === 'commit') return this.commit(oid);
    if (type === 'tree') return this.tree(oid);
    if (type === 'tag') return this.tag(oid);
    return oid;
  }

  private put(type: ObjectType, data: Buffer): string {
    const oid = hashObject(type, data);
    if (!this.objects.has(oid)) this.out.set(oid, { type, data });
    return oid;
  }

  private tag(oid: string): string {
    const done = this.map.get(oid);
    if (done) return done;
    const t = this.objects.tag(oid);
    const target = this.object(t.object);
    const next = target === t.object ? oid : this.put('tag', serializeTag({ ...t, object: target }));
    this.map.set(oid, next);
    return next;
  }

  private tree(oid: string): string {
    const done = this.map.get(oid);
    if (done) return done;
    const entries: TreeEntry[] = [];
    let changed = false;
    for (const e of this.objects.tree(oid)) {
      if (e.mode === '40000') {
        const sub = this.tree(e.oid);
        if (sub !== e.oid) changed = true;
        if (sub !== EMPTY_TREE) entries.push({ ...e, oid: sub });
      } else if (e.mode.startsWith('100') && this.deleted.has(pointerIn(this.objects, e.oid) ?? '')) {
        changed = true;
      } else entries.push(e);
    }
    const next = changed ? this.put('tree', serializeTree(entries)) : oid;
    this.map.set(oid, next);
    return next;
  }

  /** Commits in an order where parents come first (no recursion: histories are long). */
  private commit(start: string): string {
    const stack: { oid: string; expanded: boolean }[] = [{ oid: start, expanded: false }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (this.map.has(top.oid)) {
        stack.pop();
        continue;
      }
      const c = this.objects.commit(top.oid);
      if (!top.expanded) {
        top.expanded = true;
        if (++this.commitsSeen > MAX_HISTORY_COMMITS) {
          throw new AppError('invalid', 'HistoryTooLong', `the history has more than ${MAX_HISTORY_COMMITS} commits: delete with rewriteHistory false`);
        }
        for (const p of c.parents) if (!this.map.has(p) && this.objects.type(p) === 'commit') stack.push({ oid: p, expanded: false });
        continue;
      }
      stack.pop();
      const tree = this.tree(c.tree);
      const parents = c.parents.map((p) => this.map.get(p) ?? p);
      const same = tree === c.tree && parents.every((p, i) => p === c.parents[i]);
      const next = same
        ? top.oid
        : this.put('commit', serializeCommit({ ...c, tree, parents, extraHeaders: c.extraHeaders.filter(([k]) => !SIGNATURE_HEADERS.has(k)) }));
      this.map.set(top.oid, next);
    }
    return this.map.get(start)!;
  }
}
