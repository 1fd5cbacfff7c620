import crypto from 'node:crypto';
import { git, tmpDir } from './git.js';

/**
 * A source repository with everything a hub must carry: 240 commits on main, two more branches,
 * annotated and lightweight tags, binary files, an empty file, nested folders, a symlink and an
 * executable file. Built with git fast-import, so it takes well under a second.
 */
export async function buildRichRepo(): Promise<string> {
  const dir = tmpDir('src');
  await git(['init', '-q', '-b', 'main', dir]);
  const parts: Buffer[] = [];
  const push = (s: string | Buffer) => parts.push(typeof s === 'string' ? Buffer.from(s) : s);
  const data = (b: Buffer) => {
    push(`data ${b.length}\n`);
    push(b);
    push('\n');
  };
  let mark = 0;
  let time = 1_700_000_000;
  const rnd = (seed: number, n: number) => crypto.createHash('sha256').update(String(seed)).digest().subarray(0, 32).toString('hex').repeat(Math.ceil(n / 64)).slice(0, n);
  const commit = (branch: string, msg: string, files: [string, string, Buffer | null][], from?: string) => {
    const m = ++mark;
    push(`commit refs/heads/${branch}\nmark :${m}\n`);
    push(`author Packhub Test <test@packhub.invalid> ${time} +0000\ncommitter Packhub Test <test@packhub.invalid> ${time++} +0000\n`);
    data(Buffer.from(`${msg}\n`));
    if (from) push(`from ${from}\n`);
    for (const [mode, p, content] of files) {
      if (content === null) push(`D ${p}\n`);
      else {
        push(`M ${mode} inline ${p}\n`);
        data(content);
      }
    }
    push('\n');
    return `:${m}`;
  };
  const binary = (seed: number, n: number) => crypto.createHash('sha512').update(String(seed)).digest().subarray(0, 64).toString('latin1').repeat(Math.ceil(n / 64)).slice(0, n);
  let first = commit('main', 'initial layout', [
    ['100644', 'README.md', Buffer.from('# rich repo\n')],
    ['100644', 'empty.txt', Buffer.alloc(0)],
    ['100755', 'bin/run.sh', Buffer.from('#!/bin/sh\necho run\n')],
    ['120000', 'link-to-readme', Buffer.from('README.md')],
    ['100644', 'a/b/c/d/deep.txt', Buffer.from('deep\n')],
    ['100644', 'data/blob.bin', Buffer.from(binary(1, 200_000), 'latin1')],
  ]);
  let v1 = '';
  for (let i = 1; i < 240; i++) {
    const files: [string, string, Buffer | null][] = [['100644', `src/file${i % 17}.txt`, Buffer.from(`${rnd(i, 2000)}\nrevision ${i}\n`)]];
    if (i % 40 === 0) files.push(['100644', `data/weights-${i}.bin`, Buffer.from(binary(i, 50_000 + i), 'latin1')]);
    if (i % 60 === 0) files.push(['100644', 'data/blob.bin', Buffer.from(binary(i, 200_000), 'latin1')]);
    const c = commit('main', `change ${i}`, files);
    if (i === 100) v1 = c;
  }
  commit('feature/x', 'feature work', [['100644', 'feature.txt', Buffer.from('feature\n')]], v1);
  commit('feature/x', 'more feature work', [['100644', 'feature.txt', Buffer.from('feature 2\n')]]);
  commit('release', 'release notes', [['100644', 'RELEASE.md', Buffer.from('release\n')]], v1);
  push(`tag v1.0\nfrom ${v1}\ntagger Packhub Test <test@packhub.invalid> ${time++} +0000\n`);
  data(Buffer.from('version 1.0\n'));
  push(`reset refs/tags/light\nfrom ${first}\n\n`);
  first = '';
  await git(['fast-import', '--quiet'], { cwd: dir, input: Buffer.concat(parts) });
  await git(['checkout', '-q', 'main'], { cwd: dir });
  return dir;
}
