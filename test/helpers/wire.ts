/** Hand-built smart-HTTP requests, for inputs no well-behaved client sends. */
export function pkt(line: string | Buffer): Buffer {
  const body = typeof line === 'string' ? Buffer.from(line) : line;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

export const FLUSH = Buffer.from('0000');
export const ZERO = '0'.repeat(40);

export function receivePackRequest(commands: { old: string; new: string; ref: string }[], pack: Buffer | null, caps = 'report-status side-band-64k'): Buffer {
  const lines = commands.map((c, i) => pkt(`${c.old} ${c.new} ${c.ref}${i === 0 ? `\0${caps}` : ''}\n`));
  return Buffer.concat([...lines, FLUSH, ...(pack ? [pack] : [])]);
}

/** Parse pkt-lines; with sideband, join band 1 and parse the pkt-lines inside it. */
export function parseReport(body: Buffer, sideband = true): { lines: string[]; progress: string; fatal: string } {
  const outer = splitPkts(body);
  if (!sideband) return { lines: outer.map((b) => b.toString().replace(/\n$/, '')), progress: '', fatal: '' };
  const band1: Buffer[] = [];
  let progress = '';
  let fatal = '';
  for (const p of outer) {
    if (p[0] === 1) band1.push(p.subarray(1));
    else if (p[0] === 2) progress += p.subarray(1).toString();
    else if (p[0] === 3) fatal += p.subarray(1).toString();
  }
  return { lines: splitPkts(Buffer.concat(band1)).map((b) => b.toString().replace(/\n$/, '')), progress, fatal };
}

export function splitPkts(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const len = parseInt(buf.toString('ascii', pos, pos + 4), 16);
    if (len === 0) {
      pos += 4;
      continue;
    }
    out.push(buf.subarray(pos + 4, pos + len));
    pos += len;
  }
  return out;
}

export async function postReceivePack(url: string, body: Buffer, auth?: { name: string; token: string }) {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-git-receive-pack-request' };
  if (auth) headers.Authorization = `Basic ${Buffer.from(`${auth.name}:${auth.token}`).toString('base64')}`;
  const res = await fetch(`${url}/git-receive-pack`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
