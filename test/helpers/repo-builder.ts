import crypto from 'node:crypto';
import { git, tmpDir } from './git.js';

/** What the rich repository holds, for the tests that check it arrived whole. */
export const RICH = {
  /** Commits reachable from main. */
  mainCommits: 240,
  branches: ['main', 'feature/x', 'release'],
  annotatedTag: 'v1.0',
  lightweightTag: 'light',
  /** main's commit "change 100": the fork point of feature/x and release, and v1.0's target. */
  forkCommitMessage: 'change 100',
  /** Committer time of main's commit i (0-based) is BASE_TIME + i. */
  baseTime: 1_700_000_000,
} as const;

/** Deterministic pseudo-random bytes (a hash chain), so every build yields the same object ids. */
function bytes(seed: string, n: number): Buffer {
  const out: Buffer[] = [];
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let len = 0; len < n; len += block.length) {
    out.push(block);
    block = crypto.createHash('sha256').update(block).digest();
  }
  return Buffer.concat(out).subarray(0, n);
}

/**
 * Builds, with one `git fast-import` run (well under a second), a source repository with everything
 * a hub must carry: 240 commits on main, two more branches (feature/x and release, forked at change
 * 100), an annotated tag (v1.0) and a lightweight one (light), binary files (with NUL bytes, up to
 * 200 kB, rewritten in later commits), an empty file, nested folders, a symlink, an executable and a deleted file.
 */
async function build(): Promise<string> {
  const dir = tmpDir('src');
  await git(['init', '-q', '-b', 'main', dir]);
  const parts: Buffer[] = [];
  const emit = (s: string | Buffer) => parts.push(typeof s === 'string' ? Buffer.from(s) : s);
  const data = (b: Buffer) => {
    emit(`data ${b.length}\n`);
    emit(b);
    emit('\n');
  };
  let mark = 0;
  let time = RICH.baseTime;
  type Change = [mode: string, path: string, content: Buffer | null];
  const commit = (branch: string, msg: string, files: Change[], from?: string) => {
    const m = ++mark;
    emit(`commit refs/heads/${branch}\nmark :${m}\n`);
    emit(`author Packhub Test <test@packhub.invalid> ${time} +0000\ncommitter Packhub Test <test@packhub.invalid> ${time++} +0000\n`);
    data(Buffer.from(`${msg}\n`));
    if (from) emit(`from ${from}\n`);
    for (const [mode, p, content] of files) {
      if (content === null) emit(`D ${p}\n`);
      else {
        emit(`M ${mode} inline ${p}\n`);
        data(content);
      }
    }
    emit('\n');
    return `:${m}`;
  };

  const first = commit('main', 'initial layout', [
    ['100644', 'README.md', Buffer.from('# rich repo\n')],
    ['100644', 'empty.txt', Buffer.alloc(0)],
    ['100755', 'bin/run.sh', Buffer.from('#!/bin/sh\necho run\n')],
    ['120000', 'link-to-readme', Buffer.from('README.md')],
    ['100644', 'a/b/c/d/deep.txt', Buffer.from('deep\n')],
    ['100644', 'a/b/old.txt', Buffer.from('removed at change 150\n')],
    ['100644', 'data/blob.bin', bytes('blob-0', 200_000)],
  ]);
  let fork = '';
  for (let i = 1; i < RICH.mainCommits; i++) {
    const files: Change[] = [['100644', `src/file${i % 17}.txt`, Buffer.from(`${bytes(`text-${i}`, 1000).toString('hex')}\nrevision ${i}\n`)]];
    if (i % 40 === 0) files.push(['100644', `data/weights-${i}.bin`, bytes(`weights-${i}`, 50_000 + i)]);
    if (i % 60 === 0) files.push(['100644', 'data/blob.bin', bytes(`blob-${i}`, 200_000)]);
    if (i === 150) files.push(['100644', 'a/b/old.txt', null]);
    const c = commit('main', `change ${i}`, files);
    if (i === 100) fork = c;
  }
  commit('feature/x', 'feature work', [['100644', 'feature.txt', Buffer.from('feature\n')]], fork);
  commit('feature/x', 'more feature work', [['100644', 'feature.txt', Buffer.from('feature 2\n')]]);
  commit('release', 'release notes', [['100644', 'RELEASE.md', Buffer.from('release\n')]], fork);
  emit(`tag ${RICH.annotatedTag}\nfrom ${fork}\ntagger Packhub Test <test@packhub.invalid> ${time++} +0000\n`);
  data(Buffer.from('version 1.0\n'));
  emit(`reset refs/tags/${RICH.lightweightTag}\nfrom ${first}\n\n`);
  await git(['fast-import', '--quiet'], { cwd: dir, input: Buffer.concat(parts) });
  await git(['checkout', '-q', 'main'], { cwd: dir });
  return dir;
}

let built: Promise<string> | null = null;

/**
 * The rich source repository (built once per test process; callers must not change it — clone it
 * first to make commits). Returns its directory.
 */
export function buildRichRepo(): Promise<string> {
  built ??= build();
  return built;
}
