/**
 * LFS transfer benchmark: uploads and downloads one large object (default 1 GiB) through the
 * batch API and prints throughput and the server's peak RSS. Not a test: it prints figures.
 *
 *   npx tsx bench/lfs-transfer.ts [--size-mib 1024] [--backend fs|s3]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { startHub, type Backend } from '../test/helpers/server.js';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, backend: { type: 'string', default: 'fs' } } });
const sizeMiB = Number(values['size-mib']);
const size = sizeMiB * 1024 * 1024;
const backend = values.backend as Backend;

function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-bench-'));
const file = path.join(dir, 'object.bin');
process.stdout.write(`writing ${sizeMiB} MiB of random data... `);
const hash = crypto.createHash('sha256');
{
  const out = fs.openSync(file, 'w');
  const chunk = crypto.randomBytes(8 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    chunk[0] = (chunk[0]! + 1) & 0xff; // vary the chunks
    hash.update(part);
    fs.writeSync(out, part);
  }
  fs.closeSync(out);
}
const oid = hash.digest('hex');
console.log('done');

const hub = await startHub({ backend });
try {
  const alice = await hub.user('alice');
  await hub.repo('alice/bench');
  const auth = `Basic ${Buffer.from(`alice:${alice.token}`).toString('base64')}`;
  const batch = async (operation: string) => {
    const r = await fetch(`${hub.url}/alice/bench.git/info/lfs/objects/batch`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.git-lfs+json', Accept: 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation, objects: [{ oid, size }], transfers: ['basic'] }),
    });
    return ((await r.json()) as { objects: { actions: Record<string, { href: string; header?: Record<string, string> }> }[] }).objects[0]!.actions;
  };
  const rssBefore = peakRss(hub.pid);

  const up = await batch('upload');
  let t = performance.now();
  const put = await fetch(up.upload!.href, {
    method: 'PUT',
    headers: { ...(up.upload!.header ?? {}), 'Content-Length': String(size) },
    body: Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 })) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit);
  if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  if (up.verify) await fetch(up.verify.href, { method: 'POST', headers: { 'Content-Type': 'application/vnd.git-lfs+json' }, body: JSON.stringify({ oid, size }) });
  const upSecs = (performance.now() - t) / 1000;

  const down = await batch('download');
  t = performance.now();
  const get = await fetch(down.download!.href);
  const check = crypto.createHash('sha256');
  let got = 0;
  await pipeline(Readable.fromWeb(get.body as never), async function* (src) {
    for await (const c of src as AsyncIterable<Buffer>) {
      check.update(c);
      got += c.length;
    }
    yield* [];
  });
  const downSecs = (performance.now() - t) / 1000;
  if (got !== size || check.digest('hex') !== oid) throw new Error('download mismatch');

  const mibs = (s: number) => (sizeMiB / s).toFixed(0);
  console.log(`backend        ${backend}`);
  console.log(`object         ${sizeMiB} MiB`);
  console.log(`upload         ${upSecs.toFixed(2)} s  ${mibs(upSecs)} MiB/s (hash-verified while streaming)`);
  console.log(`download       ${downSecs.toFixed(2)} s  ${mibs(downSecs)} MiB/s`);
  console.log(`server RSS     peak ${(peakRss(hub.pid) / 2 ** 20).toFixed(0)} MiB (${(rssBefore / 2 ** 20).toFixed(0)} MiB before the transfers)`);
} finally {
  await hub.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
