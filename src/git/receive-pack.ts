import { AppError, GitFormatError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RefUpdate, RefUpdateResult } from '../db/types.js';
import { ingestPack, peeledOf, type IngestedPack } from './ingest-pack.js';
import { ZERO_OID, type ObjectType } from './objects/types.js';
import { FLUSH, PktReader, pktLine, pktText } from './protocol/pkt-line.js';
import { SidebandWriter, type Sink } from './protocol/sideband.js';
import { isHiddenRef } from './protocol/refs-advertisement.js';
import { refNameProblem } from './refname.js';
import type { RepoObjects } from './store/repo-objects.js';
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
  let ingested: IngestedPack | null = null;
  let stored: StoredPack | null = null;
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
      else if (isHiddenRef(c.ref)) results.set(c.ref, 'deny updating a hidden ref');
      else if (c.oldOid === ZERO_OID && c.newOid === ZERO_OID) results.set(c.ref, 'nothing to do');
      else if (c.newOid === ZERO_OID && deps.defaultBranch && c.ref === `refs/heads/${deps.defaultBranch}`) {
        results.set(c.ref, 'refusing to delete the default branch; make another branch the default first');
      }
    }
    const existing = await deps.store.objects(repoId);
    let objects = existing;
    const received = new Map<string, ObjectType>();
    if (needsPack) {
      // The quota is charged by inflated size (below); the pack as sent is at most a little larger than that.
      const quotaEarly = deps.quotaBytes + deps.quotaBytes / 64 + 65536;
      ingested = await ingestPack({
        repoId,
        source: reader.rest(),
        tmpDir: deps.tmpDir,
        sender: 'the push',
        existing,
        maxObjectBytes: deps.maxObjectBytes,
        checkSize: (total) => {
          if (total > deps.maxPushBytes) throw new AppError('too_large', 'PushTooLarge', `pack exceeds the maximum push size of ${deps.maxPushBytes} bytes`);
          if (total > quotaEarly) throw quotaError(deps.quotaBytes);
        },
        observers: checks.map((c) => c.observe).filter((o): o is NonNullable<typeof o> => !!o),
        onReceived: async (total) => {
          lap('receive');
          await progress(`Received ${total} bytes, indexing\n`);
        },
        onIndexed: (indexed) => {
          lap('index');
          // Charged by what the objects are, not by how well they compress (a delta can be 1000 times smaller).
          if (indexed.inflatedBytes > deps.quotaBytes) throw quotaError(deps.quotaBytes);
        },
      });
      for (const [oid, type] of ingested.received) received.set(oid, type);
      objects = ingested.objects;
      stored = ingested.stored;
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
      const needs = () => (ingested ? ingested.needs() : []);
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
    await ingested?.release();
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
