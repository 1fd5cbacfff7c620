import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { AppError, GitFormatError, conflict, notFound } from '../core/errors.js';
import { normalizeRepoPath } from '../core/paths.js';
import type { RefUpdate, RefUpdateResult, RepoRecord } from '../db/types.js';
import { hashObject } from '../git/objects/hash.js';
import { serializeCommit } from '../git/objects/commit.js';
import { fsckObject } from '../git/objects/fsck.js';
import { checkGitmodules } from '../git/objects/gitmodules.js';
import { serializeTree, type TreeEntry } from '../git/objects/tree.js';
import { TYPE_CODE, type ObjectType } from '../git/objects/types.js';
import { encodeEntryHeader } from '../git/pack/entry-header.js';
import { writeIndex } from '../git/pack/idx.js';
import { deflateObject, PackWriter } from '../git/pack/pack-writer.js';
import type { GitStore } from '../git/store/git-store.js';
import type { RepoObjects } from '../git/store/repo-objects.js';
import { externalNames } from '../git/store/object-names.js';

export type CommitChange =
  | { kind: 'put'; path: string; content: Buffer; mode?: '100644' | '100755' }
  /** A file whose blob the repository stores already (a merge takes the other side's files so). */
  | { kind: 'blob'; path: string; oid: string; mode: string }
  | { kind: 'delete'; path: string }
  | { kind: 'deleteFolder'; path: string }
  | { kind: 'copy'; from: string; to: string };

export interface Identity {
  name: string;
  email: string;
}

export interface CommitRequest {
  /** Full ref name the commit goes to, e.g. refs/heads/main. */
  ref: string;
  changes: CommitChange[];
  message: string;
  author: Identity;
  /** When given, the ref must still point here (optimistic concurrency, HF `parentCommit`). */
  expectedHead?: string;
  /** Start a new ref (refs/pr/N, a new branch) from this commit instead of the ref's own head. */
  startFrom?: string | null;
  /** Allow a commit that changes nothing. */
  allowEmpty?: boolean;
  /** More parents after the ref's head: a merge commit names the merged commit so. */
  mergeParents?: string[];
}

type Node = { kind: 'tree'; oid: string | null; children: Map<string, Node> | null } | { kind: 'file'; oid: string; mode: string };

/**
 * The single write path of the API and the UI: changes -> blobs, trees and one commit in a small
 * pack -> stored -> the ref moved by compare-and-swap. What the API writes, git reads.
 */
export class CommitService {
  constructor(
    private readonly store: GitStore,
    private readonly tmpDir: string,
    private readonly opts: { maxObjectBytes?: number } = {},
  ) {}

  /**
   * Commit on top of the ref's current head. With `expectedHead`, a head that moved is a 412;
   * without it, a commit that loses a race is rebuilt on the new head and tried again.
   */
  async commit(repo: RepoRecord, req: CommitRequest): Promise<{ commitOid: string; parent: string | null }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.commitOnce(repo, req);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'ConcurrentCommit') throw err;
        if (req.expectedHead) throw new AppError('precondition', 'ParentCommitMismatch', 'The branch was updated since you opened this page. Please refresh and try again.');
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
      }
    }
  }

  private async commitOnce(repo: RepoRecord, req: CommitRequest): Promise<{ commitOid: string; parent: string | null }> {
    const refs = await this.store.refs(repo.id);
    const current = refs.find((r) => r.name === req.ref)?.oid ?? null;
    if (req.expectedHead && current && req.expectedHead !== current) {
      throw new AppError('precondition', 'ParentCommitMismatch', 'The branch was updated since you opened this page. Please refresh and try again.');
    }
    const parent = req.startFrom !== undefined && !current ? req.startFrom : current;
    const objects = await this.store.objects(repo.id);
    const newObjects = new Map<string, { type: ObjectType; data: Buffer }>();
    const rootTree = parent ? objects.commit(parent).tree : null;
    const root: Node = { kind: 'tree', oid: rootTree, children: null };

    for (const change of req.changes) this.apply(objects, root, change, newObjects);
    const treeOid = this.writeTree(root, newObjects);
    if (!req.allowEmpty && treeOid === rootTree) throw new AppError('invalid', 'EmptyCommit', 'No files have been modified since last commit');

    const now = Math.floor(Date.now() / 1000);
    const ident = { name: req.author.name, email: req.author.email, timestamp: now, timezone: '+0000' };
    const parents = [...(parent ? [parent] : []), ...(req.mergeParents ?? [])];
    const commitData = serializeCommit({ tree: treeOid, parents, author: ident, committer: ident, message: req.message.endsWith('\n') ? req.message : `${req.message}\n` });
    const commitOid = hashObject('commit', commitData);
    newObjects.set(commitOid, { type: 'commit', data: commitData });

    const [result] = await this.storeObjects(repo, newObjects, [{ name: req.ref, oldOid: current, newOid: commitOid, peeled: null }]);
    if (!result!.ok) throw conflict('ConcurrentCommit', `${req.ref} moved while committing (${result!.reason}); retry`);
    return { commitOid, parent };
  }

  /**
   * Store objects as one small pack (skipping those the repository has), then apply the ref
   * updates atomically by compare-and-swap.
   */
  async writeObjects(repo: RepoRecord, objectsToStore: { type: ObjectType; data: Buffer }[], updates: RefUpdate[]): Promise<RefUpdateResult[]> {
    const byId = new Map<string, { type: ObjectType; data: Buffer }>();
    for (const o of objectsToStore) byId.set(hashObject(o.type, o.data), o);
    return this.storeObjects(repo, byId, updates);
  }

  /** writeObjects for objects already keyed by their ids. */
  private async storeObjects(repo: RepoRecord, byId: Map<string, { type: ObjectType; data: Buffer }>, updates: RefUpdate[]): Promise<RefUpdateResult[]> {
    const objects = await this.store.objects(repo.id);
    const unique = new Map<string, { type: ObjectType; data: Buffer }>();
    for (const [oid, o] of byId) if (!objects.has(oid)) unique.set(oid, o);
    // What the new objects name must be in the snapshot their commit point is checked against (a
    // compaction may have dropped unreachable objects since the trees were built on another one).
    // (Blobs name nothing: only the others are read, and what they name among the new blobs is here.)
    const needs = externalNames([...unique].flatMap(([oid, o]) => (o.type === 'blob' ? [] : [{ oid, ...o }])));
    for (const oid of needs) if (unique.has(oid)) needs.delete(oid);
    for (const oid of needs) if (!objects.has(oid)) throw conflict('ConcurrentCommit', `${oid} is no longer stored; retry`);
    const basis = { objects, needs: () => needs };
    if (unique.size === 0) return this.store.commit(repo.id, null, updates, true, basis);
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const packPath = path.join(this.tmpDir, `insert-${crypto.randomUUID()}.pack`);
    try {
      const { checksum, idx, size, gitmodules } = await this.writePack(packPath, unique);
      // Every '.gitmodules' a new tree names, new or already stored, must pass git's fsck.
      for (const oid of new Set(gitmodules)) {
        const o = unique.get(oid) ?? objects.tryRead(oid);
        if (!o) continue;
        if (o.type !== 'blob') throw new GitFormatError('.gitmodules must be a file (gitmodulesBlob)');
        checkGitmodules(o.data);
      }
      const stored = { name: checksum, objectCount: unique.size, sizeBytes: size, idx, packPath };
      await this.store.storePack(repo.id, stored, { thenCommit: true });
      const results = await this.store.commit(repo.id, stored, updates, true, basis);
      // A lost compare-and-swap (412, or a retry on the new head): nothing names this pack.
      if (!results.some((r) => r.ok)) await this.store.discardPack(repo.id, stored.name);
      return results;
    } finally {
      await fsp.rm(packPath, { force: true });
    }
  }

  /**
   * Writes the objects as a pack at `packPath` and its index from what was written: the objects
   * are at hand with their ids, so the pack is not read back. They pass the checks index-pack
   * applies to a pushed pack (size limit, fsck of commits, trees and tags), with its messages.
   */
  private async writePack(packPath: string, unique: Map<string, { type: ObjectType; data: Buffer }>): Promise<{ checksum: string; idx: Buffer; size: number; gitmodules: string[] }> {
    const maxObject = this.opts.maxObjectBytes ?? Infinity;
    const gitmodules: string[] = [];
    const entries: { oid: string; offset: number; crc: number }[] = [];
    const out = fs.createWriteStream(packPath);
    try {
      const writer = new PackWriter(async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      });
      await writer.begin(unique.size);
      for (const [oid, o] of unique) {
        const offset = writer.position;
        if (o.data.length > maxObject) {
          throw new GitFormatError(`${o.type} at offset ${offset} is ${o.data.length} bytes, over the limit of ${maxObject} bytes per object (large files belong in LFS)`);
        }
        if (o.type !== 'blob') {
          try {
            fsckObject(o.type, o.data, gitmodules);
          } catch (err) {
            if (err instanceof GitFormatError) throw new GitFormatError(`${o.type} ${oid} at offset ${offset}: ${err.message}`, err);
            throw err;
          }
        }
        const typeCode = TYPE_CODE[o.type];
        const compressed = deflateObject(o.data);
        entries.push({ oid, offset, crc: zlib.crc32(compressed, zlib.crc32(encodeEntryHeader(typeCode, o.data.length))) });
        await writer.writeRaw(typeCode, o.data.length, compressed);
      }
      const checksum = await writer.finish();
      out.end();
      await once(out, 'close');
      // Sorted by hex id here (string comparison), so writeIndex finds them in order.
      entries.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
      const idx = writeIndex(
        entries.map((e) => ({ oid: Buffer.from(e.oid, 'hex'), offset: e.offset, crc: e.crc })),
        checksum,
      );
      return { checksum: checksum.toString('hex'), idx, size: writer.position, gitmodules };
    } finally {
      out.destroy();
    }
  }

  private children(objects: RepoObjects, node: Extract<Node, { kind: 'tree' }>): Map<string, Node> {
    if (!node.children) {
      node.children = new Map();
      if (node.oid) {
        for (const e of objects.tree(node.oid)) {
          node.children.set(e.name, e.mode === '40000' ? { kind: 'tree', oid: e.oid, children: null } : { kind: 'file', oid: e.oid, mode: e.mode });
        }
      }
    }
    return node.children;
  }

  /** Find a node by path; with `create`, make the directories on the way. */
  private lookup(objects: RepoObjects, root: Node, p: string): { parent: Extract<Node, { kind: 'tree' }>; name: string } | null {
    const parts = p.split('/');
    let node = root as Extract<Node, { kind: 'tree' }>;
    for (const part of parts.slice(0, -1)) {
      const next = this.children(objects, node).get(part);
      if (!next || next.kind !== 'tree') return null;
      node = next;
    }
    return { parent: node, name: parts[parts.length - 1]! };
  }

  private apply(objects: RepoObjects, root: Node, change: CommitChange, out: Map<string, { type: ObjectType; data: Buffer }>): void {
    if (change.kind === 'put' || change.kind === 'copy' || change.kind === 'blob') {
      const target = normalizeRepoPath(change.kind === 'copy' ? change.to : change.path);
      let oid: string;
      let mode: string;
      if (change.kind === 'put') {
        oid = hashObject('blob', change.content);
        out.set(oid, { type: 'blob', data: change.content });
        mode = change.mode ?? '100644';
      } else if (change.kind === 'blob') {
        if (objects.type(change.oid) !== 'blob') throw notFound('EntryNotFound', `${change.path}: blob ${change.oid} is not stored`);
        oid = change.oid;
        mode = change.mode;
      } else {
        const src = this.lookup(objects, root, normalizeRepoPath(change.from));
        const node = src && this.children(objects, src.parent).get(src.name);
        if (!node || node.kind !== 'file') throw notFound('EntryNotFound', `copy source ${change.from} does not exist`);
        oid = node.oid;
        mode = node.mode;
      }
      const parts = target.split('/');
      let node = root as Extract<Node, { kind: 'tree' }>;
      for (const part of parts.slice(0, -1)) {
        const kids = this.children(objects, node);
        let next = kids.get(part);
        if (next && next.kind === 'file') throw new AppError('invalid', 'PathConflict', `cannot create ${target}: ${part} is a file`);
        if (!next) {
          next = { kind: 'tree', oid: null, children: new Map() };
          kids.set(part, next);
        }
        node.oid = null; // modified: re-serialized later
        node = next;
      }
      const kids = this.children(objects, node);
      if (kids.get(parts[parts.length - 1]!)?.kind === 'tree') throw new AppError('invalid', 'PathConflict', `cannot write ${target}: it is a directory`);
      kids.set(parts[parts.length - 1]!, { kind: 'file', oid, mode });
      node.oid = null;
      return;
    }
    const p = normalizeRepoPath(change.path.replace(/\/+$/, ''));
    const parts = p.split('/');
    const chain: Extract<Node, { kind: 'tree' }>[] = [root as Extract<Node, { kind: 'tree' }>];
    for (const part of parts.slice(0, -1)) {
      const next = this.children(objects, chain[chain.length - 1]!).get(part);
      if (!next || next.kind !== 'tree') throw notFound('EntryNotFound', `${change.path} does not exist`);
      chain.push(next);
    }
    const parent = chain[chain.length - 1]!;
    const kids = this.children(objects, parent);
    const existing = kids.get(parts[parts.length - 1]!);
    if (!existing) throw notFound('EntryNotFound', `${change.path} does not exist`);
    if (change.kind === 'delete' && existing.kind === 'tree') throw new AppError('invalid', 'IsADirectory', `${change.path} is a folder: delete it as a folder`);
    if (change.kind === 'deleteFolder' && existing.kind !== 'tree') throw new AppError('invalid', 'NotADirectory', `${change.path} is a file, not a folder`);
    kids.delete(parts[parts.length - 1]!);
    for (const n of chain) n.oid = null;
  }

  /** Serialize modified trees bottom-up; unmodified subtrees keep their oid. Empty trees vanish. */
  private writeTree(node: Extract<Node, { kind: 'tree' }>, out: Map<string, { type: ObjectType; data: Buffer }>): string {
    // Every change clears the oid of the trees on its path, so a tree with an oid is unchanged.
    if (node.oid) return node.oid;
    const entries: TreeEntry[] = [];
    for (const [name, child] of node.children ?? new Map<string, Node>()) {
      if (child.kind === 'file') entries.push({ mode: child.mode, name, oid: child.oid });
      else {
        const sub = this.writeTree(child, out);
        if (sub !== EMPTY_TREE) entries.push({ mode: '40000', name, oid: sub });
      }
    }
    const data = serializeTree(entries);
    const oid = hashObject('tree', data);
    node.oid = oid;
    out.set(oid, { type: 'tree', data });
    return oid;
  }
}

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbce4904';
