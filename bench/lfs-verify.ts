/**
 * LFS verify benchmark on S3 (s3rver): how long the verify step of a presigned upload takes for one
 * large object (default 1 GiB), by read-back (s3rver keeps no checksum, so packhub reads the staged
 * object back and hashes it) and by checksum HEAD (s3rver behind a small proxy that checks and
 * reports `x-amz-checksum-sha256`, as AWS S3 and MinIO do). Each twice: for an object new to the hub
 * (verify then promotes the staged copy to its key) and for one the hub holds already (the staged
 * copy is only a proof and is dropped). Not a test: it prints figures, and stops everything it started.
 *
 *   npx tsx bench/lfs-verify.ts [--size-mib 1024]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { startChecksumProxy, type ChecksumProxy } from '../test/helpers/checksum-proxy.js';
import { startS3, type S3 } from '../test/helpers/s3.js';
import { startHub, type Hub } from '../test/helpers/server.js';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' } } });
const sizeMiB = Number(values['size-mib']);
const size = sizeMiB * 1024 * 1024;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-bench-verify-'));
/** A fresh random object per run (each hub must see a new oid). */
function makeObject(name: string): { file: string; oid: string } {
  const file = path.join(dir, name);
  const hash = crypto.createHash('sha256');
  const out = fs.openSync(file, 'w');
  const chunk = crypto.randomBytes(8 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    chunk[0] = (chunk[0]! + 1) & 0xff;
    hash.update(part);
    fs.writeSync(out, part);
  }
  fs.closeSync(out);
  return { file, oid: hash.digest('hex') };
}

type Actions = Record<string, { href: string; header?: Record<string, string> }>;

/** Upload through the batch API as `user` into `repo`; returns the verify call's seconds. */
async function uploadAndVerify(hub: Hub, user: { name: string; token: string }, repo: string, obj: { file: string; oid: string }): Promise<number> {
  const auth = `Basic ${Buffer.from(`${user.name}:${user.token}`).toString('base64')}`;
  const r = await fetch(`${hub.url}/${repo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.git-lfs+json', Accept: 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', objects: [{ oid: obj.oid, size }], transfers: ['basic'] }),
  });
  const actions = ((await r.json()) as { objects: { actions?: Actions }[] }).objects[0]!.actions;
  if (!actions?.upload || !actions.verify) throw new Error('expected upload and verify actions');
  const put = await fetch(actions.upload.href, {
    method: 'PUT',
    headers: { ...(actions.upload.header ?? {}), 'Content-Length': String(size) },
    body: Readable.toWeb(fs.createReadStream(obj.file, { highWaterMark: 1 << 20 })) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit);
  if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  const t = performance.now();
  const v = await fetch(actions.verify.href, { method: 'POST', headers: { 'Content-Type': 'application/vnd.git-lfs+json' }, body: JSON.stringify({ oid: obj.oid, size }) });
  const secs = (performance.now() - t) / 1000;
  if (!v.ok) throw new Error(`verify failed: ${v.status} ${await v.text()}`);
  return secs;
}

async function measure(label: string, env: NodeJS.ProcessEnv, proxy: ChecksumProxy | null): Promise<void> {
  const hub = await startHub({ backend: 's3', env });
  try {
    const alice = await hub.user('alice');
    const bob = await hub.user('bob');
    await hub.repo('alice/bench', { private: true });
    await hub.repo('bob/bench', { private: true });
    const obj = makeObject(`${label}.bin`);
    if (proxy) proxy.gets.length = 0;
    const fresh = await uploadAndVerify(hub, alice, 'alice/bench', obj);
    const readBack = proxy ? proxy.gets.filter((k) => k.includes('lfs-staging/')).length : null;
    const stored = await uploadAndVerify(hub, bob, 'bob/bench', obj);
    fs.rmSync(obj.file, { force: true });
    console.log(`${label.padEnd(16)} new object ${fresh.toFixed(2)} s   already stored ${stored.toFixed(2)} s${readBack === null ? '' : `   (GETs of the staged object: ${readBack})`}`);
  } finally {
    await hub.stop();
  }
}

let s3: S3 | null = null;
let proxy: ChecksumProxy | null = null;
try {
  console.log(`verify of one ${sizeMiB} MiB object uploaded by presigned PUT (s3rver on local disk)`);
  await measure('read-back', {}, null);
  s3 = await startS3();
  proxy = await startChecksumProxy(s3.endpoint);
  await measure('checksum HEAD', { PACKHUB_S3_ENDPOINT: proxy.url }, proxy);
} finally {
  await proxy?.close();
  await s3?.release();
  fs.rmSync(dir, { recursive: true, force: true });
}
