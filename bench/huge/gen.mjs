#!/usr/bin/env node
// Deterministic `git fast-import` stream of the `huge` benchmark repo, and its LFS objects.
//
//   node bench/huge/gen.mjs FILES COMMITS LFS LFS_DIR | git -C <bare-repo> fast-import --quiet
//
// Everything (content, author, dates) derives from fixed seeds: the same commit ids on every run.
//   - commit 1: FILES small text files (100..1,000 bytes) in nested folders
//     data/pNNN/qNN/rNNN.txt (100 files a folder, 20 folders a parent), a README.md, a .gitattributes
//     sending *.bin to LFS, and LFS pointers lfs/blob-NNN.bin for LFS objects of 64 KiB..1 MiB of
//     pseudo-random bytes (written to LFS_DIR/<sha256>, the pointer's oid);
//   - commits 2..COMMITS: each rewrites 1..3 of the text files.
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [FILES, COMMITS, LFS] = process.argv.slice(2, 5).map(Number);
const LFS_DIR = process.argv[5];
if (!(FILES > 0 && COMMITS > 0 && LFS >= 0 && LFS_DIR)) {
  console.error('usage: gen.mjs FILES COMMITS LFS LFS_DIR');
  process.exit(2);
}
const out = process.stdout;
const chunks = [];
let pending = 0;
function w(s) {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  chunks.push(b);
  pending += b.length;
  if (pending > 4 << 20) flush();
}
function flush() {
  if (chunks.length) out.write(Buffer.concat(chunks));
  chunks.length = 0;
  pending = 0;
}
function data(buf) {
  const b = typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf;
  w(`data ${b.length}\n`);
  w(b);
  w('\n');
}
// mulberry32: small deterministic PRNG
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore ' +
  'magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat ' +
  'dataset split train test validation shard row column parquet json label token image audio').split(' ');
function textOfSize(r, size) {
  let s = '';
  while (s.length < size) {
    const n = 4 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) s += (i ? ' ' : '') + WORDS[Math.floor(r() * WORDS.length)];
    s += '\n';
  }
  return s;
}
function randomBytes(seedStr, size) {
  const key = createHash('sha256').update(seedStr).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16, 0)).update(Buffer.alloc(size));
}
const filePath = (i) =>
  `data/p${String(Math.floor(i / 2000)).padStart(3, '0')}/q${String(Math.floor(i / 100) % 20).padStart(2, '0')}/r${String(i % 100).padStart(3, '0')}.txt`;

const BASE_TIME = 1700000000;
let mark = 0;
function commit(time, msg, files) {
  mark += 1;
  w(`commit refs/heads/main\nmark :${mark}\n`);
  w(`author Bench Author <author@bench.invalid> ${time} +0000\n`);
  w(`committer Bench Committer <committer@bench.invalid> ${time} +0000\n`);
  data(msg);
  for (const [p, content] of files) {
    w(`M 100644 inline ${p}\n`);
    data(content);
  }
  w('\n');
}

const r = rng(14);
const first = [
  ['README.md', `# huge\n${FILES} small text files, ${COMMITS} commits, ${LFS} LFS files.\n`],
  ['.gitattributes', '*.bin filter=lfs diff=lfs merge=lfs -text\n'],
];
fs.mkdirSync(LFS_DIR, { recursive: true });
for (let i = 0; i < LFS; i++) {
  const size = (64 << 10) + Math.floor(r() * ((1 << 20) - (64 << 10)));
  const bytes = randomBytes(`huge-lfs-${i}`, size);
  const oid = createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(path.join(LFS_DIR, oid), bytes);
  first.push([`lfs/blob-${String(i).padStart(3, '0')}.bin`, `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`]);
}
for (let i = 0; i < FILES; i++) {
  first.push([filePath(i), textOfSize(r, 100 + Math.floor(r() * 900))]);
  if (first.length >= 5000) {
    // one commit, streamed: fast-import takes any number of M lines
    if (mark === 0) {
      mark += 1;
      w(`commit refs/heads/main\nmark :${mark}\n`);
      w(`author Bench Author <author@bench.invalid> ${BASE_TIME} +0000\n`);
      w(`committer Bench Committer <committer@bench.invalid> ${BASE_TIME} +0000\n`);
      data('huge: initial import\n');
    }
    for (const [p, content] of first) {
      w(`M 100644 inline ${p}\n`);
      data(content);
    }
    first.length = 0;
  }
}
if (mark === 0) commit(BASE_TIME, 'huge: initial import\n', first);
else {
  for (const [p, content] of first) {
    w(`M 100644 inline ${p}\n`);
    data(content);
  }
  w('\n');
}
for (let c = 1; c < COMMITS; c++) {
  const files = [];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) files.push([filePath(Math.floor(r() * FILES)), textOfSize(r, 100 + Math.floor(r() * 900))]);
  commit(BASE_TIME + c * 60, `huge: commit ${c}\n`, files);
}
w('done\n');
flush();
