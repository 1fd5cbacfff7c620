import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RefUpdate, RefUpdateResult } from '../db/types.js';
import { checkGitmodules } from './objects/gitmodules.js';
import { TYPE_CODE, TYPE_NAME, ZERO_OID, type ObjectType } from './objects/types.js';
import { parseCommit } from './objects/commit.js';
import { OidSet } from './objects/oid-set.js';
import { parseTag } from './objects/tag.js';
import { IncomingPack } from './pack/incoming-pack.js';
import { indexPack } from './pack/index-pack.js';
import { PackIndex } from './pack/idx.js';
import { PackFile } from './pack/pack-file.js';
import { FLUSH, PktReader, pktLine, pktText } from './protocol/pkt-line.js';
import { SidebandWriter, type Sink } from './protocol/sideband.js';
import { refNameProblem } from './refname.js';
import { LoadedPack } from './store/pack-cache.js';
import { RepoObjects } from './store/repo-objects.js';
import type { GitStore, StoredPack } from './store/git-store.js';

export interface PushCommand {
  oldOid: string;
  newOid: string;
  ref: string;
}

/** What a push hands to policy checks (LFS pointers, locks) before any ref moves. */
export interface PushContext {
  repoId: string;
  commands: PushCommand[];
  /** Objects of the repository plus the received pack. */
  objects: RepoObjects;
  /** The objects the push brought: id -> type. */
  received: ReadonlyMap<string, ObjectType>;
  pushOptions: string[];
  /** The pushing user's id. */
  pusherId: number;
}

/**
 * A policy hook, instantiated per push: it may observe each received object while index-pack has
 * its content at hand (no second read; null for blobs over 1 MiB, which are streamed), then returns
 * a rejection reason per ref it refuses.
 */
export type PushCheck = () => {
  observe?: (oid: string, type: ObjectType, data: Buffer | null) => void;
  check: (ctx: PushContext) => Promise<Map<string, string>>;
};

export interface ReceivePackDeps {
  store: GitStore;
  tmpDir: string;
  maxPushBytes: number;
  /** Storage the repository's namespace may still use (quota); Infinity when unlimited. */
  quotaBytes: number;
  checks: PushCheck[];
  log: Logger;
  /** Largest object (and delta result) a push may bring (PACKHUB_MAX_OBJECT_BYTES). */
  maxObjectBytes?: number;
  /** The repository's default branch (short name): a push may not delete it. */
  defaultBranch?: string;
}

/** What the command part of one push may hold (the pack after it is bounded by maxPushBytes). */
export const RECEIVE_PACK_LIMITS = { packets: 200_000, bytes: 64 << 20 };

interface Request {
  commands: PushCommand[];
  caps: Set<string>;
  pushOptions: string[];
}

async function readCommands(reader: PktReader): Promise<Request | null> {
  const commands: PushCommand[] = [];
  let caps = new Set<string>();
  for (;;) {
    const p = await reader.read();
    if (p === null || p.kind === 'flush') break;
    if (p.kind !== 'data') continue;
    let line = pktText(p.data);
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      caps = new Set(line.slice(nul + 1).split(' ').filter(Boolean));
      line = line.slice(0, nul);
    }
    if (line.startsWith('shallow ')) continue; // shallow pushes: the connectivity check decides
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.+)$/.exec(line);
    if (!m) throw new GitFormatError(`protocol error: bad push command '${line.slice(0, 200)}'`);
    commands.push({ oldOid: m[1]!, newOid: m[2]!, ref: m[3]! });
  }
  if (commands.length === 0) return null;
  const pushOptions: string[] = [];
  if (caps.has('push-options')) {
    for (;;) {
      const p = await reader.read();
      if (p === null || p.kind === 'flush') break;
      if (p.kind === 'data') pushOptions.push(pktText(p.data));
    }
  }
  return { commands, caps, pushOptions };
}

const quotaError = (left: number) =>
  new AppError('too_large', 'QuotaExceeded', `storage quota exceeded: this namespace may store ${(left / 2 ** 20).toFixed(1)} MiB more`);

/**
 * Collects what the received objects name, as index-pack hands them over (no second read), with the
 * type each link requires: a commit's tree a tree and its parents commits, a tree entry a tree
 * (mode 40000) or a blob (files, symlinks), a tag's object the type the tag states. As `git fsck`
 * does, an object of another type there is refused (no client could check such a commit out).
 */
class Connectivity {
  /** Every object named by a received one -> (index in `referrers` of an object naming it) * 8 + expected type code. */
  private readonly named = new OidSet(4096);
  private readonly referrers: string[] = [];
  private readonly hex = Buffer.alloc(20);

  see = (oid: string, type: ObjectType, data: Buffer | null): void => {
    if (data === null) return; // a large blob
    if (type === 'tree') this.seeTree(oid, data);
    else if (type === 'commit') {
      const c = parseCommit(data);
      const by = this.referrers.push(oid) - 1;
      this.link(c.tree, by, TYPE_CODE.tree);
      for (const p of c.parents) this.link(p, by, TYPE_CODE.commit);
    } else if (type === 'tag') {
      const t = parseTag(data);
      this.link(t.object, this.referrers.push(oid) - 1, TYPE_CODE[t.type]);
    }
  };

  private link(oid: string, by: number, type: number): void {
    this.hex.write(oid, 'hex');
    this.add(this.hex, 0, by, type);
  }

  private add(buf: Buffer, at: number, by: number, type: number): void {
    const prev = this.named.addOrGet(buf, at, by * 8 + type);
    if (prev >= 0 && (prev & 7) !== type) {
      const oid = buf.toString('hex', at, at + 20);
      throw new GitFormatError(`object ${oid} is named as a ${TYPE_NAME[prev & 7]} by ${this.referrers[prev >>> 3]} and as a ${TYPE_NAME[type]} by ${this.referrers[by]}`);
    }
  }

  /** The ids of a tree's entries, gitlinks (mode 160000: commits of another repository) left out. fsck has checked the modes. */
  private seeTree(oid: string, data: Buffer): void {
    const by = this.referrers.push(oid) - 1;
    for (let pos = 0; pos < data.length; ) {
      const nul = data.indexOf(0, pos);
      if (nul < 0 || nul + 21 > data.length) throw new GitFormatError(`tree ${oid} is truncated`);
      // "160000 " a gitlink, "40000 " a directory, anything else (1006xx, 100755, 120000) a blob.
      const gitlink = data[pos] === 0x31 && data[pos + 1] === 0x36 && data[pos + 6] === 0x20;
      if (!gitlink) this.add(data, nul + 1, by, data[pos] === 0x34 && data[pos + 5] === 0x20 ? TYPE_CODE.tree : TYPE_CODE.blob);
      pos = nul + 21;
    }
  }

  /** What the received objects name that they do not bring: what the push relies on the repository to have. */
  *external(received: ReadonlyMap<string, ObjectType>): Iterable<string> {
    for (const [oid] of this.named.entries()) if (!received.has(oid)) yield oid;
  }

  /** Every object the pack brings must have what it names, of the type named (I1: the live object set stays closed). */
  check(received: ReadonlyMap<string, ObjectType>, existing: RepoObjects): void {
    for (const [oid, value] of this.named.entries()) {
      const actual = received.get(oid) ?? existing.type(oid);
      const by = this.referrers[value >>> 3];
      if (actual === null) throw new GitFormatError(`missing necessary objects: ${oid} (named by ${by})`);
      const expected = value & 7;
      if (TYPE_CODE[actual] !== expected) {
        throw new GitFormatError(`object ${oid} is a ${actual}, but ${by} names it as a ${TYPE_NAME[expected]}`);
      }
    }
  }
}

/** The blobs trees of the push name '.gitmodules' must be blobs that git's fsck accepts (objects already stored were checked when they came). */
function checkGitmodulesOf(ids: string[], received: ReadonlyMap<string, ObjectType>, objects: RepoObjects): void {
  for (const oid of new Set(ids)) {
    const type = received.get(oid);
    if (type === undefined) continue;
    if (type !== 'blob') throw new GitFormatError(`.gitmodules ${oid} is a ${type}, not a blob (gitmodulesBlob)`);
    try {
      checkGitmodules(objects.read(oid).data);
    } catch (err) {
      if (err instanceof GitFormatError) throw new GitFormatError(`blob ${oid}: ${err.message}`, err);
      throw err;
    }
  }
}

/**
 * git-receive-pack over stateless HTTP: commands, then the pack streamed to a temp file, indexed
 * (thin packs completed, objects fsck'd), connectivity-checked, made durable, and only then the refs
 * swapped by compare-and-swap. The report says per ref what happened; nothing is claimed that was not done.
 */
export async function receivePack(
  deps: ReceivePackDeps,
  repoId: string,
  pusherId: number,
  body: AsyncIterable<Buffer>,
  start: () => void,
  sink: Sink,
): Promise<'ok' | 'rejected' | null> {
  const reader = new PktReader(body, { maxPackets: RECEIVE_PACK_LIMITS.packets, maxBytes: RECEIVE_PACK_LIMITS.bytes });
  const req = await readCommands(reader);
  start();
  if (!req) return null; // the '0000' probe before a chunked upload
  const sideband = req.caps.has('side-band-64k');
  const quiet = req.caps.has('quiet');
  const atomic = req.caps.has('atomic');
  const out = new SidebandWriter(sink, sideband);
  const progress = async (msg: string) => {
    if (!quiet) await out.progress(msg);
  };

  const results = new Map<string, string | null>(); // ref -> null ok / reason
  let unpackStatus = 'ok';
  const needsPack = req.commands.some((c) => c.newOid !== ZERO_OID);
  let tmpPack: string | null = null;
  let stored: StoredPack | null = null;
  let newPackFile: PackFile | null = null;
  const log = deps.log.child({ repoId });
  const checks = deps.checks.map((make) => make());
  // Milliseconds spent in each phase, logged with the push.
  const ms: Record<string, number> = {};
  let mark = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    ms[phase] = Math.round(now - mark);
    mark = now;
  };

  try {
    for (const c of req.commands) {
      const problem = refNameProblem(c.ref);
      if (problem) results.set(c.ref, problem);
      else if (c.oldOid === ZERO_OID && c.newOid === ZERO_OID) results.set(c.ref, 'nothing to do');
      else if (c.newOid === ZERO_OID && deps.defaultBranch && c.ref === `refs/heads/${deps.defaultBranch}`) {
        results.set(c.ref, 'refusing to delete the default branch; make another branch the default first');
      }
    }
    const existing = await deps.store.objects(repoId);
    let connectivity: Connectivity | null = null;
    let objects = existing;
    const received = new Map<string, ObjectType>();
    if (needsPack) {
      await fsp.mkdir(deps.tmpDir, { recursive: true });
      tmpPack = path.join(deps.tmpDir, `incoming-${crypto.randomUUID()}.pack`);
      // Received and indexed at once: index-pack reads the file as it grows (as git index-pack --stdin).
      const incoming = await IncomingPack.create(tmpPack);
      // The quota is charged by inflated size (below); the pack as sent is at most a little larger than that.
      const quotaEarly = deps.quotaBytes + deps.quotaBytes / 64 + 65536;
      const receiving = incoming.receive(reader.rest(), (total) => {
        if (total > deps.maxPushBytes) throw new AppError('too_large', 'PushTooLarge', `pack exceeds the maximum push size of ${deps.maxPushBytes} bytes`);
        if (total > quotaEarly) throw quotaError(deps.quotaBytes);
      });
      const seen = new Connectivity();
      connectivity = seen;
      const observers = checks.map((c) => c.observe).filter((o): o is NonNullable<typeof o> => !!o);
      const onObject = (oid: string, type: ObjectType, data: Buffer | null) => {
        seen.see(oid, type, data);
        for (const o of observers) o(oid, type, data);
      };
      const indexing = indexPack(tmpPack, { incoming, lookupExternal: (oid) => existing.tryRead(oid), fsck: true, onObject, maxObjectBytes: deps.maxObjectBytes });
      indexing.catch(() => undefined); // awaited below, after the receiving side has its say
      let total: number;
      try {
        total = await receiving;
      } catch (err) {
        // Size limits and a vanished client explain a failed index, not the other way round.
        await indexing.catch(() => undefined);
        throw err;
      }
      lap('receive');
      if (total === 0) {
        await indexing.catch(() => undefined);
        throw new GitFormatError('pack missing: the push sent no pack data');
      }
      await progress(`Received ${total} bytes, indexing\n`);
      const indexed = await indexing;
      lap('index');
      for (const o of indexed.objects) received.set(o.oid, o.type);
      // Charged by what the objects are, not by how well they compress (a delta can be 1000 times smaller).
      if (indexed.inflatedBytes > deps.quotaBytes) throw quotaError(deps.quotaBytes);
      if (indexed.objects.length > 0) {
        connectivity!.check(received, existing);
        const index = PackIndex.fromBuffer(indexed.idx);
        newPackFile = await PackFile.open(tmpPack, index);
        const size = (await fsp.stat(tmpPack)).size;
        const loaded = new LoadedPack(repoId, indexed.checksum, newPackFile, index, size);
        objects = new RepoObjects([loaded, ...existing.packs]);
        checkGitmodulesOf(indexed.gitmodules, received, objects);
        stored = { name: indexed.checksum, objectCount: indexed.objects.length, sizeBytes: size, idx: indexed.idx, packPath: tmpPack };
      }
    }

    // Per-ref checks: the new object must exist; branches must point at commits.
    for (const c of req.commands) {
      if (results.has(c.ref) || c.newOid === ZERO_OID) continue;
      const type = objects.type(c.newOid);
      if (type === null) results.set(c.ref, 'missing necessary objects');
      else if (c.ref.startsWith('refs/heads/') && type !== 'commit') results.set(c.ref, `branch must point to a commit, not a ${type}`);
    }
    const ctx: PushContext = { repoId, commands: req.commands.filter((c) => !results.has(c.ref)), objects, received, pushOptions: req.pushOptions, pusherId };
    for (const c of checks) {
      for (const [ref, reason] of await c.check(ctx)) if (!results.has(ref)) results.set(ref, reason);
    }
    lap('check');
    const pending = req.commands.filter((c) => !results.has(c.ref));
    if (atomic && pending.length !== req.commands.length) {
      for (const c of pending) results.set(c.ref, 'atomic push failed');
    } else if (pending.length > 0) {
      if (stored) {
        await progress('Storing pack\n');
        await deps.store.storePack(repoId, stored, { thenCommit: true });
        lap('store');
      }
      const updates: RefUpdate[] = pending.map((c) => ({
        name: c.ref,
        oldOid: c.oldOid === ZERO_OID ? null : c.oldOid,
        newOid: c.newOid === ZERO_OID ? null : c.newOid,
        peeled: c.newOid === ZERO_OID ? null : peeledOf(objects, c.newOid),
      }));
      // Checked against `existing`: if a compaction drops objects before the commit point, checked again there.
      const needs = () => (connectivity ? connectivity.external(received) : []);
      const outcome: RefUpdateResult[] = await deps.store.commit(repoId, stored, updates, atomic, { objects: existing, needs });
      for (const r of outcome) results.set(r.name, r.ok ? null : r.reason);
      lap('commit');
      // No ref moved: nothing names the pack just stored (best effort; a pack row of the same name is kept).
      if (stored && !outcome.some((r) => r.ok)) await deps.store.discardPack(repoId, stored.name, log);
    }
  } catch (err) {
    if (!(err instanceof AppError)) log.error({ err }, 'push failed');
    else log.info({ err: err.message }, 'push rejected');
    unpackStatus = err instanceof AppError ? err.message.replace(/\n/g, ' ') : 'internal error';
    for (const c of req.commands) {
      results.set(c.ref, err instanceof AppError && err.code === 'QuotaExceeded' ? 'storage quota exceeded' : err instanceof AppError && err.kind === 'too_large' ? 'pack too large' : 'unpacker error');
    }
  } finally {
    newPackFile?.close();
    if (tmpPack) await fsp.rm(tmpPack, { force: true });
  }

  const report: Buffer[] = [pktLine(`unpack ${unpackStatus}\n`)];
  for (const c of req.commands) {
    const reason = results.get(c.ref);
    report.push(pktLine(reason ? `ng ${c.ref} ${reason}\n` : `ok ${c.ref}\n`));
  }
  report.push(FLUSH);
  const bytes = Buffer.concat(report);
  if (sideband) {
    await out.data(bytes);
    await out.flush();
    await sink(FLUSH);
  } else {
    await sink(bytes);
  }
  log.info({ refs: req.commands.map((c) => ({ ref: c.ref, result: results.get(c.ref) ?? 'ok' })), unpack: unpackStatus, ms }, 'push');
  return [...results.values()].every((r) => r === null) && unpackStatus === 'ok' ? 'ok' : 'rejected';
}

function peeledOf(objects: RepoObjects, oid: string): string | null {
  const t = objects.type(oid);
  return t === 'tag' ? objects.peel(oid).oid : null;
}
