import fs from 'node:fs';
import { AppError, GitFormatError } from '../core/errors.js';
import type { RefRecord } from '../db/types.js';
import { DELIM, FLUSH, PktReader, pktLine, pktText } from './protocol/pkt-line.js';
import { visibleRefs } from './protocol/refs-advertisement.js';
import { SidebandWriter, type Sink } from './protocol/sideband.js';
import { enumerateObjects, parseFilter, type EnumerateRequest } from './store/enumerate.js';
import { cloneKey, packAnswering } from './store/clone-key.js';
import { writePack } from './store/pack-builder.js';
import type { RepoObjects } from './store/repo-objects.js';
import type { ResponseCache } from './store/response-cache.js';

export interface UploadPackRepo {
  refs: RefRecord[];
  head: { target: string; oid: string | null };
  objects(): Promise<RepoObjects>;
  /** Where responses to filtered clones are kept, if anywhere. */
  responses?: ResponseCache;
}

const OID_RE = /^[0-9a-f]{40}$/;

/**
 * What one upload-pack request may ask for (the body is bounded too, after decompression, in
 * http.ts). Far above what git sends: haves go in rounds of at most a few thousand, and a lazy
 * fetch of a partial clone wants one line per missing blob.
 */
export const UPLOAD_PACK_LIMITS = {
  /** pkt-lines of any kind in one request. */
  packets: 1_000_000,
  wants: 500_000,
  haves: 500_000,
  /** `shallow <oid>` lines: the client's current shallow boundary. */
  shallows: 100_000,
  /** `deepen-not` refs, ls-refs arguments (`ref-prefix` ...). */
  names: 10_000,
};

function tooMany(what: string, max: number): GitFormatError {
  return new GitFormatError(`protocol error: more than ${max} ${what} in one request`);
}

/**
 * An error already sent to the client on the side-band's error channel (band 3): the pack had
 * started, so an ERR pkt-line would be read as a band number ('bad band #69').
 */
export class ReportedError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ReportedError';
  }
}

/** Runs the pack-sending part; a failure is reported on band 3 when the side-band is on, then rethrown as a ReportedError. */
async function reportingOnBand3<T>(out: SidebandWriter, sideband: boolean, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!sideband) throw err;
    const message = err instanceof AppError && err.kind !== 'internal' ? err.message : 'internal server error';
    await out.fatal(`${message.slice(0, 1000)}\n`).catch(() => undefined);
    throw new ReportedError(err);
  }
}

function oidArg(line: string, prefix: string): string {
  const oid = line.slice(prefix.length, prefix.length + 40);
  if (!OID_RE.test(oid)) throw new GitFormatError(`protocol error: bad object id in '${line.slice(0, 100)}'`);
  return oid;
}

function parseDepth(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new GitFormatError(`protocol error: invalid depth '${text}'`);
  return n;
}

interface FetchArgs extends EnumerateRequest {
  haves: string[];
  done: boolean;
  thin: boolean;
  ofsDelta: boolean;
  noProgress: boolean;
  includeTag: boolean;
  sideband: 'none' | 'small' | '64k';
  multiAck: 0 | 1 | 2;
  noDone: boolean;
  sawFlushAfterWants: boolean;
}

/** Shared argument parsing for one fetch line (v0 and v2 spell these the same way). */
function applyFetchLine(args: FetchArgs, line: string, deepenNotRefs: string[]): boolean {
  if (line.startsWith('want ')) {
    if (args.wants.push(oidArg(line, 'want ')) > UPLOAD_PACK_LIMITS.wants) throw tooMany('wants', UPLOAD_PACK_LIMITS.wants);
  } else if (line.startsWith('have ')) {
    if (args.haves.push(oidArg(line, 'have ')) > UPLOAD_PACK_LIMITS.haves) throw tooMany('haves', UPLOAD_PACK_LIMITS.haves);
  } else if (line.startsWith('shallow ')) {
    if (args.clientShallow.push(oidArg(line, 'shallow ')) > UPLOAD_PACK_LIMITS.shallows) throw tooMany('shallow lines', UPLOAD_PACK_LIMITS.shallows);
  }
  else if (line.startsWith('deepen ')) args.depth = parseDepth(line.slice(7));
  else if (line === 'deepen-relative') args.deepenRelative = true;
  else if (line.startsWith('deepen-since ')) args.deepenSince = parseDepth(line.slice(13));
  else if (line.startsWith('deepen-not ')) {
    if (deepenNotRefs.push(line.slice(11)) > UPLOAD_PACK_LIMITS.names) throw tooMany('deepen-not lines', UPLOAD_PACK_LIMITS.names);
  }
  else if (line.startsWith('filter ')) args.filter = parseFilter(line.slice(7));
  else if (line === 'done') args.done = true;
  else if (line === 'thin-pack') args.thin = true;
  else if (line === 'ofs-delta') args.ofsDelta = true;
  else if (line === 'no-progress') args.noProgress = true;
  else if (line === 'include-tag') args.includeTag = true;
  else return false;
  return true;
}

function newArgs(): FetchArgs {
  return {
    wants: [],
    haves: [],
    commonHaves: [],
    clientShallow: [],
    done: false,
    thin: false,
    ofsDelta: false,
    noProgress: false,
    includeTag: false,
    sideband: 'none',
    multiAck: 0,
    noDone: false,
    sawFlushAfterWants: false,
  };
}

function resolveDeepenNot(repo: UploadPackRepo, names: string[]): string[] {
  return names.map((n) => {
    const r = repo.refs.find((x) => x.name === n || x.name === `refs/heads/${n}` || x.name === `refs/tags/${n}`);
    if (!r) throw new GitFormatError(`deepen-not is not a ref: ${n}`);
    return r.peeled ?? r.oid;
  });
}

function tagsForInclude(refs: RefRecord[]): string[] {
  return refs.filter((r) => r.name.startsWith('refs/tags/') && r.peeled).map((r) => r.oid);
}

/** What kind of transfer a pack answered: a clone (no haves) or a fetch. */
export type FetchKind = 'clone' | 'fetch';

/** Stream a stored pack file as it is: header, entries and trailer are already what the client needs. */
async function streamPackFile(packPath: string, out: SidebandWriter): Promise<void> {
  const fh = await fs.promises.open(packPath, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      await out.data(Buffer.from(buf.subarray(0, bytesRead)));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function sendPack(objects: RepoObjects, args: FetchArgs, out: SidebandWriter, responses?: ResponseCache): Promise<FetchKind> {
  // A full clone that one stored pack answers exactly: once a clone with these wants was found to
  // need exactly that pack (src/git/store/clone-key.ts), it is streamed verbatim without walking
  // anything. What a clone needs depends on its wants alone, so other live packs (an initial commit a
  // force push left unreachable, say) do not change the answer.
  const single = objects.packs.length === 1 ? objects.packs[0]! : null;
  // include-tag adds nothing when every tag it could add is wanted anyway; else the answer may be more
  // than what the wants reach, and no key applies.
  const wanted = new Set(args.wants);
  const plain =
    args.commonHaves.length === 0 &&
    !args.filter &&
    args.depth === undefined &&
    args.deepenSince === undefined &&
    !args.deepenNot?.length &&
    args.clientShallow.length === 0 &&
    args.ofsDelta &&
    (!args.includeTag || (args.includeTags ?? []).every((t) => wanted.has(t))) &&
    // A clone wants commits and tags (the first want says which kind of request this is: a partial
    // clone's lazy fetch wants blobs, up to every one of the repository, and needs no key).
    args.wants.length > 0 &&
    ['commit', 'tag'].includes(objects.type(args.wants[0]!) ?? '');
  const key = plain ? cloneKey(wanted) : '';
  const keyed = plain ? objects.packs.find((p) => p.fullCloneKey === key) : undefined;
  if (keyed) {
    if (!args.noProgress) await out.progress(`Sending the stored pack: ${keyed.index.count} objects\n`);
    await streamPackFile(keyed.file.path, out);
    await out.flush();
    return 'clone';
  }
  // A filtered clone (no haves, no shallow) is answered from the response cache when the same
  // request met the same pack before.
  const filtered = !!single && !!args.filter && args.commonHaves.length === 0 && args.depth === undefined && args.deepenSince === undefined && !args.deepenNot?.length && args.clientShallow.length === 0;
  const responseKey = filtered ? `${[...new Set(args.wants)].sort().join(',')}|${args.includeTag ? (args.includeTags ?? []).join(',') : '-'}|${JSON.stringify(args.filter)}|${args.ofsDelta}` : '';
  const cached = filtered && responses ? responses.find(single!.name, responseKey) : null;
  if (cached) {
    if (!args.noProgress) await out.progress('Sending a cached pack\n');
    await streamPackFile(cached, out);
    await out.flush();
    return 'clone';
  }
  const plan = enumerateObjects(objects, args);
  const home = plain ? packAnswering(objects, plan.objects) : null;
  if (home) {
    home.fullCloneKey = key;
    if (!args.noProgress) await out.progress(`Enumerating objects: ${plan.objects.length}, done.\nSending the stored pack: ${home.index.count} objects\n`);
    await streamPackFile(home.file.path, out);
    await out.flush();
    return 'clone';
  }
  if (!args.noProgress) await out.progress(`Enumerating objects: ${plan.objects.length}, done.\n`);
  const recording = filtered && responses ? responses.record(single!.name, responseKey) : null;
  try {
    await writePack(
      objects,
      plan.objects,
      (chunk) => {
        recording?.write(chunk);
        return out.data(chunk);
      },
      {
        ofsDelta: args.ofsDelta,
        // A shallow client may lack bases below its boundary; never send it thin deltas.
        thin: args.thin && !plan.deepening && args.clientShallow.length === 0,
        clientHas: plan.clientHas,
      },
    );
    recording?.commit();
  } catch (err) {
    recording?.abort();
    throw err;
  }
  await out.flush();
  if (!args.noProgress) await out.progress(`Total ${plan.objects.length} (reused by packhub)\n`);
  return args.commonHaves.length === 0 ? 'clone' : 'fetch';
}

/** Commits looked at, at most, to decide whether a negotiation may end ('ready'). */
const READY_WALK_LIMIT = 10_000;

/**
 * Whether every wanted commit reaches a common have, walking no further back than the oldest of
 * them (git's ok_to_give_up): then what the client lacks is bounded and the pack can be sent now.
 * A walk past READY_WALK_LIMIT commits says no (the client goes on negotiating, as before).
 */
function okToGiveUp(objects: RepoObjects, wants: readonly string[], commonHaves: readonly string[]): boolean {
  const haves = new Set<string>();
  let cutoff = Infinity;
  for (const h of commonHaves) {
    if (objects.type(h) !== 'commit') continue;
    haves.add(h);
    cutoff = Math.min(cutoff, objects.commit(h).committer.timestamp);
  }
  if (haves.size === 0) return false;
  const reaching = new Set<string>(); // commits known to reach a have
  let budget = READY_WALK_LIMIT;
  for (const want of new Set(wants)) {
    let tip: string;
    try {
      tip = objects.peel(want).oid;
    } catch {
      return false;
    }
    if (objects.type(tip) !== 'commit') return false;
    const seen = new Set<string>();
    const stack = [tip];
    let found = false;
    while (stack.length && !found) {
      const c = stack.pop()!;
      if (haves.has(c) || reaching.has(c)) found = true;
      else if (!seen.has(c)) {
        seen.add(c);
        if (--budget < 0) return false;
        const commit = objects.commit(c);
        if (commit.committer.timestamp >= cutoff) stack.push(...commit.parents);
      }
    }
    if (!found) return false;
    reaching.add(tip);
  }
  return true;
}

/** Protocol v2: one command per request (ls-refs or fetch). */
export async function uploadPackV2(full: UploadPackRepo, body: AsyncIterable<Buffer>, sink: Sink): Promise<FetchKind | null> {
  // Hidden refs are neither listed nor usable as names (deepen-not, include-tag); their objects stay reachable by id.
  const repo = { ...full, refs: visibleRefs(full.refs) };
  const reader = new PktReader(body, { maxPackets: UPLOAD_PACK_LIMITS.packets });
  let command: string | null = null;
  for (;;) {
    const p = await reader.read();
    if (p === null || p.kind === 'flush') break;
    if (p.kind === 'delim') break;
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line.startsWith('command=')) command = line.slice(8);
    else if (line.startsWith('object-format=') && line !== 'object-format=sha1') {
      throw new GitFormatError(`unsupported object format '${line.slice(14)}'`);
    }
    // agent=, server-option=, session-id=: accepted and ignored.
  }
  if (command === null) return null; // empty request (probe)
  if (command === 'ls-refs') {
    const argLines: string[] = [];
    for (;;) {
      const p = await reader.read();
      if (p === null || p.kind === 'flush') break;
      if (p.kind === 'data' && argLines.push(pktText(p.data)) > UPLOAD_PACK_LIMITS.names) throw tooMany('ls-refs arguments', UPLOAD_PACK_LIMITS.names);
    }
    await lsRefs(repo, argLines, sink);
    return null;
  }
  if (command === 'fetch') return fetchV2(repo, reader, sink);
  throw new GitFormatError(`unknown command '${command.slice(0, 100)}'`);
}

async function lsRefs(repo: UploadPackRepo, args: string[], sink: Sink): Promise<void> {
  const peel = args.includes('peel');
  const symrefs = args.includes('symrefs');
  const unborn = args.includes('unborn');
  const prefixes = args.filter((a) => a.startsWith('ref-prefix ')).map((a) => a.slice(11));
  const match = (name: string) => prefixes.length === 0 || prefixes.some((p) => name.startsWith(p));
  const lines: Buffer[] = [];
  if (match('HEAD')) {
    if (repo.head.oid) lines.push(pktLine(`${repo.head.oid} HEAD${symrefs ? ` symref-target:${repo.head.target}` : ''}\n`));
    else if (unborn) lines.push(pktLine(`unborn HEAD symref-target:${repo.head.target}\n`));
  }
  for (const r of [...repo.refs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!match(r.name)) continue;
    lines.push(pktLine(`${r.oid} ${r.name}${peel && r.peeled ? ` peeled:${r.peeled}` : ''}\n`));
  }
  lines.push(FLUSH);
  await sink(Buffer.concat(lines));
}

async function fetchV2(repo: UploadPackRepo, reader: PktReader, sink: Sink): Promise<FetchKind | null> {
  const args = newArgs();
  const deepenNot: string[] = [];
  const objects = await repo.objects();
  let haves = 0;
  let waitForDone = false;
  // Arguments are applied as they arrive (never all kept as text); of the haves only those we have are kept.
  for (;;) {
    const p = await reader.read();
    if (p === null || p.kind === 'flush') break;
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line.startsWith('have ')) {
      if (++haves > UPLOAD_PACK_LIMITS.haves) throw tooMany('haves', UPLOAD_PACK_LIMITS.haves);
      const oid = oidArg(line, 'have ');
      if (objects.has(oid)) args.commonHaves.push(oid);
      continue;
    }
    if (!applyFetchLine(args, line, deepenNot)) {
      if (line.startsWith('want-ref ') || line.startsWith('packfile-uris ') || line === 'sideband-all') {
        throw new GitFormatError(`fetch argument not supported: ${line.slice(0, 200)}`);
      }
      else if (line === 'wait-for-done') waitForDone = true;
      // Unknown arguments: ignored.
    }
  }
  if (deepenNot.length) args.deepenNot = resolveDeepenNot(repo, deepenNot);
  for (const w of args.wants) if (!objects.has(w)) throw new GitFormatError(`not our ref ${w}`);
  if (args.includeTag) args.includeTags = tagsForInclude(repo.refs);

  if (!args.done) {
    const lines = [pktLine('acknowledgments\n')];
    if (args.commonHaves.length === 0) lines.push(pktLine('NAK\n'));
    for (const c of args.commonHaves) lines.push(pktLine(`ACK ${c}\n`));
    // 'ready' when the common haves already bound what to send, as git's upload-pack does: the pack
    // follows in this answer, sparing the client the round that would only say 'done'.
    const ready = !waitForDone && okToGiveUp(objects, args.wants, args.commonHaves);
    if (!ready) {
      lines.push(FLUSH);
      await sink(Buffer.concat(lines));
      return null; // the client comes back with more haves, or with 'done'
    }
    lines.push(pktLine('ready\n'), DELIM);
    await sink(Buffer.concat(lines));
  }
  const plan = args.depth !== undefined || args.deepenSince !== undefined || deepenNot.length > 0;
  const out = new SidebandWriter(sink, true);
  if (plan) {
    const preview = enumerateObjects(objects, { ...args, shallowOnly: true });
    const lines = [pktLine('shallow-info\n')];
    for (const s of preview.shallow) lines.push(pktLine(`shallow ${s}\n`));
    for (const u of preview.unshallow) lines.push(pktLine(`unshallow ${u}\n`));
    lines.push(DELIM);
    await sink(Buffer.concat(lines));
  }
  await sink(pktLine('packfile\n'));
  const kind = await reportingOnBand3(out, true, () => sendPack(objects, args, out, repo.responses));
  await sink(FLUSH);
  return kind;
}

/** Protocol v0 (stateless HTTP): wants, optional shallow/deepen, haves, flush or done. */
export async function uploadPackV0(full: UploadPackRepo, body: AsyncIterable<Buffer>, sink: Sink): Promise<FetchKind | null> {
  const repo = { ...full, refs: visibleRefs(full.refs) };
  const reader = new PktReader(body, { maxPackets: UPLOAD_PACK_LIMITS.packets });
  const args = newArgs();
  const deepenNot: string[] = [];
  let first = true;
  // Section 1: wants (+ capabilities on the first), shallow, deepen, filter; ends with a flush.
  for (;;) {
    const p = await reader.read();
    if (p === null) return null; // probe or empty body
    if (p.kind !== 'data') break;
    let line = pktText(p.data);
    if (first && line.startsWith('want ')) {
      const caps = line.slice(46).split(' ').filter(Boolean);
      line = line.slice(0, 45);
      args.multiAck = caps.includes('multi_ack_detailed') ? 2 : caps.includes('multi_ack') ? 1 : 0;
      args.sideband = caps.includes('side-band-64k') ? '64k' : caps.includes('side-band') ? 'small' : 'none';
      args.noDone = caps.includes('no-done');
      args.thin = caps.includes('thin-pack');
      args.ofsDelta = caps.includes('ofs-delta');
      args.noProgress = caps.includes('no-progress');
      args.includeTag = caps.includes('include-tag');
      args.deepenRelative = caps.includes('deepen-relative');
      first = false;
    }
    if (!applyFetchLine(args, line, deepenNot)) throw new GitFormatError(`protocol error: unexpected '${line.slice(0, 200)}'`);
  }
  if (args.wants.length === 0) return null;
  const objects = await repo.objects();
  for (const w of args.wants) if (!objects.has(w)) throw new GitFormatError(`not our ref ${w}`);
  if (deepenNot.length) args.deepenNot = resolveDeepenNot(repo, deepenNot);
  if (args.includeTag) args.includeTags = tagsForInclude(repo.refs);
  const deepening = args.depth !== undefined || args.deepenSince !== undefined || deepenNot.length > 0;
  if (deepening) {
    const preview = enumerateObjects(objects, { ...args, shallowOnly: true });
    const lines: Buffer[] = [];
    for (const s of preview.shallow) lines.push(pktLine(`shallow ${s}\n`));
    for (const u of preview.unshallow) lines.push(pktLine(`unshallow ${u}\n`));
    lines.push(FLUSH);
    await sink(Buffer.concat(lines));
  }
  // Section 2: haves, ending in flush (another round follows) or done.
  const common: string[] = [];
  let haves = 0;
  let lastCommon = '';
  const out: Buffer[] = [];
  for (;;) {
    const p = await reader.read();
    if (p === null) {
      // End of a stateless request without 'done' (e.g. the first round of a shallow clone).
      if (out.length) await sink(Buffer.concat(out));
      return null;
    }
    if (p.kind === 'flush') {
      if (common.length === 0 || args.multiAck) out.push(pktLine('NAK\n'));
      await sink(Buffer.concat(out));
      return null; // stateless: the client comes back with the next round
    }
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line === 'done') break;
    if (!line.startsWith('have ')) throw new GitFormatError(`protocol error: unexpected '${line.slice(0, 200)}'`);
    if (++haves > UPLOAD_PACK_LIMITS.haves) throw tooMany('haves', UPLOAD_PACK_LIMITS.haves);
    const oid = oidArg(line, 'have ');
    if (objects.has(oid)) {
      common.push(oid);
      lastCommon = oid;
      if (args.multiAck === 2) out.push(pktLine(`ACK ${oid} common\n`));
      else if (args.multiAck === 1) out.push(pktLine(`ACK ${oid} continue\n`));
      else if (common.length === 1) out.push(pktLine(`ACK ${oid}\n`));
    }
  }
  if (common.length > 0 && args.multiAck) out.push(pktLine(`ACK ${lastCommon}\n`));
  else if (common.length === 0) out.push(pktLine('NAK\n'));
  await sink(Buffer.concat(out));
  args.commonHaves = common;
  const sideband = new SidebandWriter(sink, args.sideband !== 'none');
  if (args.sideband === 'none') args.noProgress = true;
  const kind = await reportingOnBand3(sideband, args.sideband !== 'none', () => sendPack(objects, args, sideband, repo.responses));
  if (args.sideband !== 'none') await sink(FLUSH);
  return kind;
}
