import { GitFormatError } from '../core/errors.js';
import { DELIM, FLUSH, pktLine, pktText, type PktReader } from '../git/protocol/pkt-line.js';
import { AGENT } from '../git/protocol/refs-advertisement.js';

/**
 * The client side of git's upload-pack protocol, as bytes in and out (no I/O): what packhub sends
 * to an upstream it mirrors and how it reads the answers. v2 when the upstream offers it, else v0.
 * Never asks for thin packs, shallow or filtered fetches, so every delta base is in the pack.
 */

export interface UpstreamRef {
  name: string;
  oid: string;
  /** For an annotated tag: the object it finally names, as the upstream advertised it. */
  peeled: string | null;
}

export interface RefListing {
  /** HEAD's symref target ('refs/heads/main'), also for an unborn HEAD; null when not advertised. */
  headTarget: string | null;
  headOid: string | null;
  refs: UpstreamRef[];
}

/** What the first answer (`GET info/refs?service=git-upload-pack`) said. */
export type Advertisement =
  | { protocol: 2; caps: Map<string, string> }
  | { protocol: 0; caps: Set<string>; listing: RefListing };

const OID = /^[0-9a-f]{40}$/;
const ZERO = '0'.repeat(40);

function tooMany(max: number): GitFormatError {
  return new GitFormatError(`the upstream advertises more than ${max} refs`);
}

/** Reads the advertisement: `version 2` and its capabilities, or a v0 ref list with capabilities after the first ref. */
export async function readAdvertisement(reader: PktReader, maxRefs: number): Promise<Advertisement> {
  let first = await reader.read();
  if (first?.kind === 'data' && pktText(first.data).startsWith('# service=')) {
    if (pktText(first.data) !== '# service=git-upload-pack') throw new GitFormatError(`unexpected service line '${pktText(first.data).slice(0, 100)}'`);
    const flush = await reader.read();
    if (flush?.kind !== 'flush') throw new GitFormatError('no flush after the service line');
    first = await reader.read();
  }
  if (first?.kind === 'data' && pktText(first.data) === 'version 2') {
    const caps = new Map<string, string>();
    for (;;) {
      const p = await reader.read();
      if (p === null) throw new GitFormatError('truncated capability advertisement');
      if (p.kind === 'flush') break;
      if (p.kind !== 'data') continue;
      const line = pktText(p.data);
      const eq = line.indexOf('=');
      caps.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1));
      if (caps.size > 1000) throw new GitFormatError('more than 1000 capabilities advertised');
    }
    return { protocol: 2, caps };
  }
  if (first?.kind === 'data' && pktText(first.data) === 'version 1') first = await reader.read();
  // v0: refs, the first carrying the capabilities after a NUL; an empty repository sends only a
  // flush, or a 'capabilities^{}' line with the zero id.
  let caps = new Set<string>();
  const listing: RefListing = { headTarget: null, headOid: null, refs: [] };
  const byName = new Map<string, UpstreamRef>();
  let isFirst = true;
  for (let p = first; ; p = await reader.read()) {
    if (p === null) throw new GitFormatError('truncated ref advertisement');
    if (p.kind === 'flush') break;
    if (p.kind !== 'data') continue;
    let line = pktText(p.data);
    if (line.startsWith('ERR ')) throw new GitFormatError(`the upstream reported an error: ${line.slice(4, 1004)}`);
    if (isFirst) {
      const nul = line.indexOf('\0');
      if (nul >= 0) {
        caps = new Set(line.slice(nul + 1).split(' ').filter(Boolean));
        line = line.slice(0, nul);
      }
      isFirst = false;
    }
    const sp = line.indexOf(' ');
    const oid = line.slice(0, sp);
    const name = line.slice(sp + 1);
    if (sp !== 40 || !OID.test(oid) || !name) throw new GitFormatError(`bad ref advertisement line '${line.slice(0, 200)}'`);
    if (name === 'capabilities^{}' && oid === ZERO) continue;
    if (name === 'HEAD') {
      listing.headOid = oid;
      continue;
    }
    if (name.endsWith('^{}')) {
      const tag = byName.get(name.slice(0, -3));
      if (tag) tag.peeled = oid;
      continue;
    }
    if (byName.size >= maxRefs) throw tooMany(maxRefs);
    const ref = { name, oid, peeled: null };
    byName.set(name, ref);
    listing.refs.push(ref);
  }
  for (const c of caps) if (c.startsWith('symref=HEAD:')) listing.headTarget = c.slice(12);
  return { protocol: 0, caps, listing };
}

/** The capability lines a v2 command request carries (only what the upstream advertised). */
function v2Preamble(command: string, caps: Map<string, string>): Buffer[] {
  const out = [pktLine(`command=${command}\n`)];
  if (caps.has('agent')) out.push(pktLine(`agent=${AGENT}\n`));
  if (caps.has('object-format')) out.push(pktLine('object-format=sha1\n'));
  return out;
}

/** The object format must be SHA-1 (packhub stores SHA-1 repositories). */
export function checkObjectFormat(ad: Advertisement): void {
  const format = ad.protocol === 2 ? ad.caps.get('object-format') : [...ad.caps].find((c) => c.startsWith('object-format='))?.slice(14);
  if (format !== undefined && format !== 'sha1') throw new GitFormatError(`the upstream uses object format ${format.slice(0, 40)}; packhub mirrors sha1 repositories only`);
}

export function lsRefsRequest(caps: Map<string, string>, prefixes: string[]): Buffer {
  const lines = [...v2Preamble('ls-refs', caps), DELIM, pktLine('symrefs\n'), pktLine('peel\n')];
  if ((caps.get('ls-refs') ?? '').split(' ').includes('unborn')) lines.push(pktLine('unborn\n'));
  for (const p of prefixes) lines.push(pktLine(`ref-prefix ${p}\n`));
  lines.push(FLUSH);
  return Buffer.concat(lines);
}

/** `<oid> <name>[ symref-target:<t>][ peeled:<oid>]` lines, or `unborn HEAD symref-target:<t>`, up to a flush. */
export async function readLsRefs(reader: PktReader, maxRefs: number): Promise<RefListing> {
  const listing: RefListing = { headTarget: null, headOid: null, refs: [] };
  for (;;) {
    const p = await reader.read();
    if (p === null) throw new GitFormatError('truncated ls-refs answer');
    if (p.kind === 'flush') break;
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line.startsWith('ERR ')) throw new GitFormatError(`the upstream reported an error: ${line.slice(4, 1004)}`);
    const [oid, name, ...attrs] = line.split(' ');
    if (!oid || !name || (oid !== 'unborn' && !OID.test(oid))) throw new GitFormatError(`bad ls-refs line '${line.slice(0, 200)}'`);
    let symref: string | null = null;
    let peeled: string | null = null;
    for (const a of attrs) {
      if (a.startsWith('symref-target:')) symref = a.slice(14);
      else if (a.startsWith('peeled:')) {
        peeled = a.slice(7);
        if (!OID.test(peeled)) throw new GitFormatError(`bad ls-refs line '${line.slice(0, 200)}'`);
      }
    }
    if (name === 'HEAD') {
      listing.headTarget = symref;
      listing.headOid = oid === 'unborn' ? null : oid;
      continue;
    }
    if (oid === 'unborn') continue;
    if (listing.refs.length >= maxRefs) throw tooMany(maxRefs);
    listing.refs.push({ name, oid, peeled });
  }
  return listing;
}

/** One v2 fetch: wants, the local tips as haves, done (one round: the answer is the pack). */
export function fetchRequestV2(caps: Map<string, string>, wants: string[], haves: string[]): Buffer {
  const lines = [...v2Preamble('fetch', caps), DELIM, pktLine('ofs-delta\n'), pktLine('include-tag\n')];
  for (const w of wants) lines.push(pktLine(`want ${w}\n`));
  for (const h of haves) lines.push(pktLine(`have ${h}\n`));
  lines.push(pktLine('done\n'), FLUSH);
  return Buffer.concat(lines);
}

/** The side-band the v0 request asks for: 64k, the old 1000-byte one, or none (the pack comes raw). */
export type Sideband = '64k' | 'small' | 'none';

export function v0Sideband(caps: Set<string>): Sideband {
  return caps.has('side-band-64k') ? '64k' : caps.has('side-band') ? 'small' : 'none';
}

/**
 * One stateless v0 request: wants (capabilities on the first), flush, haves, done. No multi_ack,
 * so the answer is one `ACK <oid>` or `NAK`, then the pack.
 */
export function fetchRequestV0(caps: Set<string>, wants: string[], haves: string[]): Buffer {
  const sideband = v0Sideband(caps);
  const ask = [sideband === '64k' ? 'side-band-64k' : sideband === 'small' ? 'side-band' : null, 'ofs-delta', 'include-tag'].filter((c): c is string => !!c && caps.has(c));
  if ([...caps].some((c) => c.startsWith('agent='))) ask.push(`agent=${AGENT}`);
  const lines = wants.map((w, i) => pktLine(i === 0 ? `want ${w} ${ask.join(' ')}\n` : `want ${w}\n`));
  lines.push(FLUSH);
  for (const h of haves) lines.push(pktLine(`have ${h}\n`));
  lines.push(pktLine('done\n'));
  return Buffer.concat(lines);
}

/** v2: skip to the `packfile` section (acknowledgments and other sections before it are read and checked). */
export async function readUntilPackfileV2(reader: PktReader): Promise<void> {
  for (let n = 0; ; n++) {
    if (n > 100_000) throw new GitFormatError('no packfile section in the fetch answer');
    const p = await reader.read();
    if (p === null) throw new GitFormatError('the fetch answer ended before the packfile section');
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line === 'packfile') return;
    if (line.startsWith('ERR ')) throw new GitFormatError(`the upstream reported an error: ${line.slice(4, 1004)}`);
    // acknowledgments / shallow-info / wanted-refs lines: nothing to keep (we sent done, no shallow, no want-ref).
  }
}

/** v0: the single `ACK <oid>` or `NAK` before the pack. */
export async function readAckV0(reader: PktReader): Promise<void> {
  for (let n = 0; ; n++) {
    if (n > 1_000_000) throw new GitFormatError('no pack in the fetch answer');
    const p = await reader.read();
    if (p === null) throw new GitFormatError('the fetch answer ended before the pack');
    if (p.kind !== 'data') continue;
    const line = pktText(p.data);
    if (line === 'NAK' || /^ACK [0-9a-f]{40}$/.test(line)) return;
    if (line.startsWith('ERR ')) throw new GitFormatError(`the upstream reported an error: ${line.slice(4, 1004)}`);
    if (line.startsWith('ACK ') || line.startsWith('shallow ') || line.startsWith('unshallow ')) continue;
    throw new GitFormatError(`unexpected line before the pack: '${line.slice(0, 200)}'`);
  }
}
