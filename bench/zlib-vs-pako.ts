/**
 * Why packhub inflates and deflates git objects with node:zlib rather than pako (the pure-JS zlib
 * that isomorphic-git uses): the same objects, many small ones and a few large ones as in a model
 * repository's packs, through both; prints MB/s side by side. Ends by itself.
 *   npx tsx bench/zlib-vs-pako.ts
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
// pako comes with isomorphic-git (a test dependency); it is not a dependency of packhub itself.
const pako = require('pako') as { deflate(b: Uint8Array): Uint8Array; inflate(b: Uint8Array): Uint8Array };

/** Text-like objects (source, configs, JSON) and binary-like ones (random bytes), as in real packs. */
function objects(): Buffer[] {
  const out: Buffer[] = [];
  const words = ['weight', 'bias', 'layer', 'attention', 'config', 'model', 'tokenizer', '0.125', '"dtype"', '\n'];
  for (let i = 0; i < 4000; i++) {
    const n = 200 + (i % 50) * 60;
    let s = '';
    while (s.length < n) s += `${words[(i * 7 + s.length) % words.length]} `;
    out.push(Buffer.from(s));
  }
  for (let i = 0; i < 8; i++) out.push(crypto.randomBytes(4 << 20));
  return out;
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const input = objects();
const total = input.reduce((n, b) => n + b.length, 0);
const deflated = input.map((b) => zlib.deflateSync(b));
const mb = total / 1e6;
const rows: [string, number, number][] = [];
for (let round = 0; round < 3; round++) {
  const zi = time(() => deflated.forEach((b) => zlib.inflateSync(b)));
  const pi = time(() => deflated.forEach((b) => pako.inflate(b)));
  const zd = time(() => input.forEach((b) => zlib.deflateSync(b)));
  const pd = time(() => input.forEach((b) => pako.deflate(b)));
  rows.push(['inflate', zi, pi], ['deflate', zd, pd]);
}
const best = (op: string, i: 1 | 2) => Math.min(...rows.filter((r) => r[0] === op).map((r) => r[i]));
console.log(`${input.length} objects, ${mb.toFixed(1)} MB (best of 3)`);
console.log('op       node:zlib MB/s   pako MB/s   pako time / node:zlib time');
for (const op of ['inflate', 'deflate']) {
  const z = best(op, 1);
  const p = best(op, 2);
  console.log(`${op.padEnd(8)} ${(mb / z).toFixed(0).padStart(14)} ${(mb / p).toFixed(0).padStart(11)} ${(p / z).toFixed(2).padStart(12)}`);
}
