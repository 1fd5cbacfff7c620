import crypto from 'node:crypto';

/**
 * Hand-built smart-HTTP requests and a decoder for the answers, for inputs no well-behaved client
 * sends (gitprotocol-common: pkt-line; gitprotocol-pack: report-status inside side-band-64k).
 */

export const FLUSH = Buffer.from('0000');
export const ZERO = '0'.repeat(40);

/** One pkt-line: 4 hex digits of length (itself included), then the payload. */
export function pkt(line: string | Buffer): Buffer {
  const body = typeof line === 'string' ? Buffer.from(line) : line;
  if (body.length > 65516) throw new Error(`pkt-line payload of ${body.length} bytes is over 65516`);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/**
 * A pkt-line stream: payloads, with `null` for each flush (0000), delim (0001) or response-end (0002).
 * Stops where the bytes are no longer pkt-lines (e.g. the pack after a push's commands): `rest`.
 */
export function decodePkts(buf: Buffer): { pkts: (Buffer | null)[]; rest: Buffer } {
  const pkts: (Buffer | null)[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const hex = buf.toString('latin1', pos, pos + 4);
    if (!/^[0-9a-f]{4}$/.test(hex)) break;
    const len = parseInt(hex, 16);
    if (len < 4) {
      pkts.push(null);
      pos += 4;
      continue;
    }
    if (pos + len > buf.length) break;
    pkts.push(buf.subarray(pos + 4, pos + len));
    pos += len;
  }
  return { pkts, rest: buf.subarray(pos) };
}

/** The payloads of a pkt-line stream, flushes dropped. Throws on a truncated stream. */
export function splitPkts(buf: Buffer): Buffer[] {
  const { pkts, rest } = decodePkts(buf);
  if (rest.length) {
    const what = /^[0-9a-f]{4}/.test(rest.toString('latin1', 0, 4)) ? 'ends in the middle of a packet' : `has a bad pkt-line length '${rest.toString('latin1', 0, 4)}'`;
    throw new Error(`pkt-line stream ${what} (${rest.length} bytes left)`);
  }
  return pkts.filter((p): p is Buffer => p !== null);
}

/** Side-band demultiplexing: band 1 data, band 2 progress, band 3 fatal error. */
export function demuxSideband(body: Buffer): { data: Buffer; progress: string; fatal: string } {
  const band1: Buffer[] = [];
  let progress = '';
  let fatal = '';
  for (const p of splitPkts(body)) {
    if (p[0] === 1) band1.push(p.subarray(1));
    else if (p[0] === 2) progress += p.subarray(1).toString();
    else if (p[0] === 3) fatal += p.subarray(1).toString();
    else throw new Error(`unknown side-band ${p[0]}`);
  }
  return { data: Buffer.concat(band1), progress, fatal };
}

/**
 * A receive-pack report (`unpack ok|<error>`, then `ok <ref>` / `ng <ref> <reason>` lines): with
 * side-band the report is itself pkt-lines inside band 1.
 */
export function parseReport(body: Buffer, sideband = true): { lines: string[]; progress: string; fatal: string } {
  if (!sideband) return { lines: splitPkts(body).map((b) => b.toString().replace(/\n$/, '')), progress: '', fatal: '' };
  const { data, progress, fatal } = demuxSideband(body);
  return { lines: splitPkts(data).map((b) => b.toString().replace(/\n$/, '')), progress, fatal };
}

export interface RefCommand {
  old: string;
  new: string;
  ref: string;
}

/** `<old> <new> <ref>\0<caps>` + more commands + flush + pack (none for delete-only pushes). */
export function receivePackRequest(commands: RefCommand[], pack: Buffer | null, caps = 'report-status side-band-64k'): Buffer {
  const lines = commands.map((c, i) => pkt(`${c.old} ${c.new} ${c.ref}${i === 0 ? `\0${caps}` : ''}\n`));
  return Buffer.concat([...lines, FLUSH, ...(pack ? [pack] : [])]);
}

export function basicAuth(user: { name: string; token: string }): string {
  return `Basic ${Buffer.from(`${user.name}:${user.token}`).toString('base64')}`;
}

/** POST a receive-pack request body to `<repoUrl>/git-receive-pack`. */
export async function postReceivePack(repoUrl: string, body: Buffer, auth?: { name: string; token: string }) {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-git-receive-pack-request' };
  if (auth) headers.Authorization = basicAuth(auth);
  const res = await fetch(`${repoUrl}/git-receive-pack`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Replace a pack's trailing SHA-1 by the right one for its (possibly edited) content. */
export function withPackTrailer(pack: Buffer): Buffer {
  const content = pack.subarray(0, pack.length - 20);
  return Buffer.concat([content, crypto.createHash('sha1').update(content).digest()]);
}

/** Where the first entry's zlib stream starts (after the 12-byte header and the entry's size varint). */
export function firstEntryDataOffset(pack: Buffer): number {
  let pos = 12;
  while (pack[pos]! & 0x80) pos++;
  return pos + 1;
}
