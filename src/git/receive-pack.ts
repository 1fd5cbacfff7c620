import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RefUpdate, RefUpdateResult } from '../db/types.js';
import { ZERO_OID, type ObjectType } from './objects/types.js';
import { parseCommit } from './objects/commit.js';
import { OidSet } from './objects/oid-set.js';
import { parseTag } from './objects/tag.js';
import { IncomingPack } from './pack/incoming-pack.js';
import { indexPack } from './pack/index-pack.js';
import { PackIndex } from './pack/idx.js';
import { PackFile } from './pack/pack-file.js';
import { FLUSH, PktReader, pktLine, pktText } from './protocol/pkt-line.js';
import { SidebandWriter, type Sink } from './protocol/sideband.js';
import { isValidRefName } from './refname.js';
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
  /** Oids of the objects the push brought. */
  received: Set<string>;
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
}

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

/** Collects what the received objects name, as index-pack hands them over (no second read). */
class Connectivity {
  /** Every object named by a received one -> the index in `referrers` of an object naming it. */
  private readonly named = new OidSet(4096);
  private readonly referrers: string[] = [];

  see = (oid: string, type: ObjectType, data: Buffer | null): void => {
    if (data === null) return; // a large blob
    if (type === 'tree') this.seeTree(oid, data);
    else if (type === 'commit') {
      const c = parseCommit(data);
      const by = this.referrers.push(oid) - 1;
      this.named.add(Buffer.from(c.tree, 'hex'), 0, by);
      for (const p of c.parents) this.named.add(Buffer.from(p, 'hex'), 0, by);
    } else if (type === 'tag') {
      this.named.add(Buffer.from(parseTag(data).object, 'hex'), 0, this.referrers.push(oid) - 1);
    }
  };

  /** The ids of a tree's entries, gitlinks (mode 160000: commits of another repository) left out. fsck has checked the modes. */
  private seeTree(oid: string, data: Buffer): void {
    const by = this.referrers.push(oid) - 1;
    for (let pos = 0; pos < data.length; ) {
      const nul = data.indexOf(0, pos);
      if (nul < 0 || nul + 21 > data.length) throw new GitFormatError(`tree ${oid} is truncated`);
      const gitlink = data[pos] === 0x31 && data[pos + 1] === 0x36 && data[pos + 6] === 0x20; // "160000 "
      if (!gitlink) this.named.add(data, nul + 1, by);
      pos = nul + 21;
    }
  }

  /** Every object the pack brings must have what it names (I1: the live object set stays closed). */
  check(received: Set<string>, existing: RepoObjects): void {
    for (const [oid, by] of this.named.entries()) {
      if (!received.has(oid) && !existing.has(oid)) throw new GitFormatError(`missing necessary objects: ${oid} (named by ${this.referrers[by]})`);
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
  const reader = new PktReader(body);
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
      if (!isValidRefName(c.ref)) results.set(c.ref, 'funny refname');
      else if (c.oldOid === ZERO_OID && c.newOid === ZERO_OID) results.set(c.ref, 'nothing to do');
    }
    const existing = await deps.store.objects(repoId);
    let objects = existing;
    const received = new Set<string>();
    if (needsPack) {
      await fsp.mkdir(deps.tmpDir, { recursive: true });
      tmpPack = path.join(deps.tmpDir, `incoming-${crypto.randomUUID()}.pack`);
      // Received and indexed at once: index-pack reads the file as it grows (as git index-pack --stdin).
      const incoming = await IncomingPack.create(tmpPack);
      const receiving = incoming.receive(reader.rest(), (total) => {
        if (total > deps.maxPushBytes) throw new AppError('too_large', 'PushTooLarge', `pack exceeds the maximum push size of ${deps.maxPushBytes} bytes`);
        if (total > deps.quotaBytes) throw quotaError(deps.quotaBytes);
      });
      const connectivity = new Connectivity();
      const observers = checks.map((c) => c.observe).filter((o): o is NonNullable<typeof o> => !!o);
      const onObject = (oid: string, type: ObjectType, data: Buffer | null) => {
        connectivity.see(oid, type, data);
        for (const o of observers) o(oid, type, data);
      };
      const indexing = indexPack(tmpPack, { incoming, lookupExternal: (oid) => existing.tryRead(oid), fsck: true, onObject });
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
      for (const o of indexed.objects) received.add(o.oid);
      if (indexed.objects.length > 0) {
        connectivity.check(received, existing);
        const index = PackIndex.fromBuffer(indexed.idx);
        newPackFile = await PackFile.open(tmpPack, index);
        const size = (await fsp.stat(tmpPack)).size;
        const loaded = new LoadedPack(repoId, indexed.checksum, newPackFile, index, size);
        objects = new RepoObjects([loaded, ...existing.packs]);
        // A completed thin pack is larger than what was sent: the quota counts what is stored.
        if (size > deps.quotaBytes) throw quotaError(deps.quotaBytes);
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
        await deps.store.storePack(repoId, stored);
        lap('store');
      }
      const updates: RefUpdate[] = pending.map((c) => ({
        name: c.ref,
        oldOid: c.oldOid === ZERO_OID ? null : c.oldOid,
        newOid: c.newOid === ZERO_OID ? null : c.newOid,
        peeled: c.newOid === ZERO_OID ? null : peeledOf(objects, c.newOid),
      }));
      const outcome: RefUpdateResult[] = await deps.store.commit(repoId, stored, updates, atomic);
      for (const r of outcome) results.set(r.name, r.ok ? null : r.reason);
      lap('commit');
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
