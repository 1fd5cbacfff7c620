import type { RefRecord } from '../../db/types.js';
import { ZERO_OID } from '../objects/types.js';
import { FLUSH, pktLine } from './pkt-line.js';

export const AGENT = 'packhub/0.1';

export const UPLOAD_PACK_CAPS = [
  'multi_ack',
  'thin-pack',
  'side-band-64k',
  'ofs-delta',
  'shallow',
  'deepen-since',
  'deepen-not',
  'deepen-relative',
  'no-progress',
  'include-tag',
  'multi_ack_detailed',
  'allow-tip-sha1-in-want',
  'allow-reachable-sha1-in-want',
  'no-done',
  'filter',
  'object-format=sha1',
];

export const RECEIVE_PACK_CAPS = [
  'report-status',
  'report-status-v2',
  'delete-refs',
  'side-band-64k',
  'quiet',
  'atomic',
  'ofs-delta',
  'push-options',
  'object-format=sha1',
];

export const V2_CAPS = ['version 2', `agent=${AGENT}`, 'ls-refs=unborn', 'fetch=shallow filter', 'server-option', 'object-format=sha1'];

/**
 * Namespaces kept from git clients: never advertised (v0 and v2, upload-pack and receive-pack),
 * never updated by a push (as C git's transfer.hideRefs). The mirror keeps the old tips of
 * upstream history rewrites under refs/mirror-archive/, so pinned commit ids keep resolving.
 */
export const HIDDEN_REF_PREFIXES = ['refs/mirror-archive/'];

export function isHiddenRef(name: string): boolean {
  return HIDDEN_REF_PREFIXES.some((p) => name.startsWith(p));
}

/** The refs git clients may see. */
export function visibleRefs(refs: RefRecord[]): RefRecord[] {
  return refs.some((r) => isHiddenRef(r.name)) ? refs.filter((r) => !isHiddenRef(r.name)) : refs;
}

/** The symbolic HEAD: the default branch if it exists, else main/master/first branch; null if no branch. */
export function resolveHead(refs: RefRecord[], defaultBranch: string): { target: string; oid: string | null } {
  const byName = new Map(refs.map((r) => [r.name, r]));
  const preferred = `refs/heads/${defaultBranch}`;
  for (const name of [preferred, 'refs/heads/main', 'refs/heads/master']) {
    const r = byName.get(name);
    if (r) return { target: name, oid: r.oid };
  }
  const first = refs.filter((r) => r.name.startsWith('refs/heads/')).sort((a, b) => (a.name < b.name ? -1 : 1))[0];
  return first ? { target: first.name, oid: first.oid } : { target: preferred, oid: null };
}

const byName = (a: RefRecord, b: RefRecord) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Protocol v0 ref advertisement (also the format of every push). */
export function advertiseRefsV0(
  service: 'git-upload-pack' | 'git-receive-pack',
  refs: RefRecord[],
  head: { target: string; oid: string | null },
  withServiceHeader: boolean,
): Buffer {
  const parts: Buffer[] = [];
  if (withServiceHeader) parts.push(pktLine(`# service=${service}\n`), FLUSH);
  const caps = service === 'git-upload-pack' ? [...UPLOAD_PACK_CAPS] : [...RECEIVE_PACK_CAPS];
  if (service === 'git-upload-pack' && head.oid) caps.push(`symref=HEAD:${head.target}`);
  caps.push(`agent=${AGENT}`);
  const lines: string[] = [];
  if (head.oid) lines.push(`${head.oid} HEAD`);
  for (const r of [...visibleRefs(refs)].sort(byName)) {
    lines.push(`${r.oid} ${r.name}`);
    if (r.peeled && service === 'git-upload-pack') lines.push(`${r.peeled} ${r.name}^{}`);
  }
  if (lines.length === 0) {
    // An empty repository still negotiates capabilities for the first push.
    if (service === 'git-receive-pack') lines.push(`${ZERO_OID} capabilities^{}`);
  }
  lines.forEach((l, i) => parts.push(pktLine(i === 0 ? `${l}\0${caps.join(' ')}\n` : `${l}\n`)));
  parts.push(FLUSH);
  return Buffer.concat(parts);
}

export function advertiseV2(): Buffer {
  return Buffer.concat([...V2_CAPS.map((c) => pktLine(`${c}\n`)), FLUSH]);
}
