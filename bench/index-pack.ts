/**
 * indexPack vs `git index-pack` on a ~10k-object pack with deep delta chains (not a test).
 *
 *   node --import tsx bench/index-pack.ts [commits=2500] [runs=5]
 *   PACKHUB_BENCH_KEEP=/tmp/bench.pack ...   also keeps a copy of the pack (for profiling)
 *
 * Builds a repository with git fast-import (each commit edits one file of a subdirectory: commit,
 * two trees and a blob per commit), repacks it with `git repack -adf --depth=50`, then times both
 * indexers on copies of the same pack and prints medians.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { indexPack } from '../src/git/pack/index-pack.js';

const commits = Number(process.argv[2] ?? 2500);
const runs = Number(process.argv[3] ?? 5);
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir() };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-bench-'));

/** A deterministic pseudo-random generator, so every run builds the same repository. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function fastImportStream(): Buffer {
  const rand = rng(42);
  const words = Array.from({ length: 4000 }, () => rand().toString(36));
  const files: string[][] = Array.from({ length: 40 }, () => Array.from({ length: 400 }, () => words[rand() % words.length]!));
  const parts: string[] = [];
  for (let c = 0; c < commits; c++) {
    const f = rand() % files.length;
    const lines = files[f]!;
    for (let k = 0; k < 130; k++) lines[rand() % lines.length] = `${rand().toString(36)} ${rand().toString(36)} ${c}`;
    const content = `${lines.join('\n')}\n`;
    const msg = `edit file ${f} (${c})\n`;
    parts.push(
      'commit refs/heads/main\n',
      `committer Bench <bench@example.com> ${1_700_000_000 + c * 60} +0000\n`,
      `data ${Buffer.byteLength(msg)}\n${msg}`,
      `M 100644 inline src/file-${f}.txt\n`,
      `data ${Buffer.byteLength(content)}\n${content}\n`,
    );
  }
  return Buffer.from(parts.join(''));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const repo = path.join(dir, 'repo.git');
  execFileSync('git', ['init', '-q', '--bare', repo], { env });
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env, input: fastImportStream() });
  execFileSync('git', ['repack', '-adfq', '--depth=50', '--window=50'], { cwd: repo, env });
  const packDir = path.join(repo, 'objects/pack');
  const packName = fs.readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
  const source = path.join(packDir, packName);
  const objects = fs.readFileSync(path.join(packDir, packName.replace(/\.pack$/, '.idx'))).readUInt32BE(8 + 255 * 4);
  if (process.env.PACKHUB_BENCH_KEEP) fs.copyFileSync(source, process.env.PACKHUB_BENCH_KEEP);
  console.log(`pack: ${objects} objects, ${(fs.statSync(source).size / 1e6).toFixed(1)} MB`);

  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const copy = path.join(dir, `run-${r}.pack`);
    fs.copyFileSync(source, copy);
    let t = process.hrtime.bigint();
    const result = await indexPack(copy, { fsck: true });
    ours.push(Number(process.hrtime.bigint() - t) / 1e9);
    if (result.objects.length !== objects) throw new Error(`indexPack found ${result.objects.length} objects, git ${objects}`);
    t = process.hrtime.bigint();
    execFileSync('git', ['index-pack', '--strict', '-o', path.join(dir, `run-${r}.idx`), copy], { cwd: repo, env });
    theirs.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  console.log(`indexPack (fsck on):       median ${median(ours).toFixed(3)} s  [${ours.map((x) => x.toFixed(3)).join(' ')}]`);
  console.log(`git index-pack --strict:   median ${median(theirs).toFixed(3)} s  [${theirs.map((x) => x.toFixed(3)).join(' ')}]`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

try {
  await main();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
