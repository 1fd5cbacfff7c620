/**
 * Test support for the pack and object tests (imported only by *.test.ts): repositories built
 * with the real git binary in temp directories, and git itself as the oracle.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ObjectType } from '../objects/types.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-git-home-'));

export const gitEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Packhub Test',
  GIT_AUTHOR_EMAIL: 'test@packhub.invalid',
  GIT_COMMITTER_NAME: 'Packhub Test',
  GIT_COMMITTER_EMAIL: 'test@packhub.invalid',
};

/** Runs git and returns stdout; throws (with stderr in the message) on a non-zero exit. */
export function git(cwd: string, args: string[], input?: Buffer | string): Buffer {
  return execFileSync('git', args, { cwd, env: gitEnv, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs git and reports its exit status and stderr instead of throwing. */
export function gitStatus(cwd: string, args: string[], input?: Buffer | string): { ok: boolean; stderr: string } {
  try {
    git(cwd, args, input);
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: Buffer }).stderr ?? err) };
  }
}

const dirs: string[] = [];

export function tempDir(prefix = 'packhub-pack-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Removes every temp directory made by this module (call from `after`). */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

process.on('exit', () => {
  removeTempDirs();
  fs.rmSync(home, { recursive: true, force: true });
});

/** Deterministic bytes (xorshift32), so every run builds the same repository. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let s = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.writeUInt32LE(s >>> 0, i);
  }
  for (; i < n; i++) out[i] = (s = (s * 31 + 7) >>> 0) & 0xff;
  return out;
}

export interface FixtureRepo {
  /** Bare repository. */
  dir: string;
  /** Its single pack (after `git repack -adf --depth=50`) and idx. */
  packPath: string;
  idxPath: string;
}

export interface HistoryOptions {
  commits?: number;
  /** Add a 30 MiB binary file, in two versions that differ in a few bytes. */
  bigFile?: boolean;
}

/**
 * A repository with many commits editing text files in nested directories (long delta chains),
 * a binary file edited in place, an executable, a symlink, a merge, an annotated tag, and optionally
 * a 30 MiB file; fully repacked into one pack with deltas.
 */
export function buildHistoryRepo(opts: HistoryOptions = {}): FixtureRepo {
  const commits = opts.commits ?? 120;
  const dir = path.join(tempDir(), 'repo.git');
  git(os.tmpdir(), ['init', '-q', '--bare', dir]);
  const parts: Buffer[] = [];
  const add = (s: string | Buffer) => parts.push(typeof s === 'string' ? Buffer.from(s) : s);
  const data = (content: Buffer | string) => {
    const b = typeof content === 'string' ? Buffer.from(content) : content;
    add(`data ${b.length}\n`);
    add(b);
    add('\n');
  };
  const texts = Array.from({ length: 6 }, (_, f) => Array.from({ length: 150 + f * 40 }, (_, j) => `line ${j} of file ${f}: ${pseudoRandomBytes(12, f * 1000 + j).toString('hex')}`));
  const binary = pseudoRandomBytes(200_000, 7);
  let mark = 0;
  let lastMain = 0;
  let lastSide = 0;
  for (let c = 0; c < commits; c++) {
    const f = c % texts.length;
    const lines = texts[f]!;
    for (let k = 0; k < 4; k++) lines[(c * 7 + k * 13) % lines.length] = `edited in commit ${c} (${k})`;
    if (c % 10 === 3) lines.push(`appended in commit ${c}`);
    const side = c === commits - 4 || c === commits - 3;
    add(`commit refs/heads/${side ? 'side' : 'main'}\nmark :${++mark}\n`);
    add(`author A U Thor <author@example.com> ${1_600_000_000 + c * 3600} +0200\n`);
    add(`committer C O Mitter <committer@example.com> ${1_600_000_000 + c * 3600} -0130\n`);
    data(`commit ${c}\n\nbody of commit ${c}\n`);
    if (c === commits - 4) add(`from :${lastMain}\n`);
    if (c === commits - 1) add(`merge :${lastSide}\n`);
    if (side) lastSide = mark;
    else lastMain = mark;
    add(`M 100644 inline dir${f % 3}/sub${f}/file-${f}.txt\n`);
    data(`${lines.join('\n')}\n`);
    if (c === 0) {
      add('M 100755 inline bin/run.sh\n');
      data('#!/bin/sh\necho hi\n');
      add('M 120000 inline link\n');
      data('dir0/sub0/file-0.txt');
    }
    if (c % 25 === 0) {
      binary.writeUInt32LE(c * 2654435761 >>> 0, (c * 4099) % (binary.length - 4));
      add('M 100644 inline assets/data.bin\n');
      data(binary);
    }
    if (opts.bigFile && (c === 1 || c === 2)) {
      const big = pseudoRandomBytes(30 << 20, 99);
      if (c === 2) big.write('second version', 12345);
      add('M 100644 inline assets/big.bin\n');
      data(big);
    }
  }
  add('tag v1\nfrom refs/heads/main\ntagger T A Gger <tagger@example.com> 1700000000 +0000\n');
  data('release 1\n');
  git(dir, ['fast-import', '--quiet'], Buffer.concat(parts));
  git(dir, ['repack', '-adfq', '--depth=50', '--window=50']);
  const packDir = path.join(dir, 'objects', 'pack');
  const name = fs.readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
  return { dir, packPath: path.join(packDir, name), idxPath: path.join(packDir, name.replace(/\.pack$/, '.idx')) };
}

/** Copies a file into a fresh temp directory (tests may modify the copy). */
export function copyToTemp(file: string, name = path.basename(file)): string {
  const to = path.join(tempDir(), name);
  fs.copyFileSync(file, to);
  return to;
}

export interface GitObject {
  oid: string;
  type: ObjectType;
  data: Buffer;
}

/** Every object of a repository with its content, from one `git cat-file --batch-all-objects --batch`. */
export function allObjects(repo: string): GitObject[] {
  const out = git(repo, ['cat-file', '--batch-all-objects', '--batch']);
  const objects: GitObject[] = [];
  for (let pos = 0; pos < out.length; ) {
    const eol = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.toString('latin1', pos, eol).split(' ');
    const start = eol + 1;
    objects.push({ oid: oid!, type: type as ObjectType, data: out.subarray(start, start + Number(size)) });
    pos = start + Number(size) + 1;
  }
  return objects;
}

export interface VerifyPackLine {
  oid: string;
  type: ObjectType;
  /** Inflated size of the entry data (for deltas: of the delta). */
  size: number;
  sizeInPack: number;
  offset: number;
  depth?: number;
  baseOid?: string;
}

/** `git verify-pack -v` parsed: one line per object. */
export function verifyPack(idxPath: string): VerifyPackLine[] {
  const lines = git(path.dirname(idxPath), ['verify-pack', '-v', idxPath]).toString().split('\n');
  const result: VerifyPackLine[] = [];
  for (const line of lines) {
    const m = /^([0-9a-f]{40}) (\w+)\s+(\d+) (\d+) (\d+)(?: (\d+) ([0-9a-f]{40}))?$/.exec(line);
    if (!m) continue;
    result.push({
      oid: m[1]!,
      type: m[2] as ObjectType,
      size: Number(m[3]),
      sizeInPack: Number(m[4]),
      offset: Number(m[5]),
      ...(m[6] ? { depth: Number(m[6]), baseOid: m[7]! } : {}),
    });
  }
  return result;
}

/** `git show-index` parsed: offset, id and CRC of every entry of an idx. */
export function showIndex(idx: Buffer): { offset: number; oid: string; crc: number }[] {
  const out = git(os.tmpdir(), ['show-index'], idx).toString().trim().split('\n');
  return out.map((line) => {
    const m = /^(\d+) ([0-9a-f]{40}) \(([0-9a-f]{8})\)$/.exec(line);
    if (!m) throw new Error(`unexpected show-index line '${line}'`);
    return { offset: Number(m[1]), oid: m[2]!, crc: parseInt(m[3]!, 16) };
  });
}

/** A size as a delta header writes it: little-endian base-128. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
