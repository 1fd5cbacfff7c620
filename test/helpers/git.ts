import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeOnExit } from './cleanup.js';
import { run, type RunResult } from './run.js';

/** A new temporary directory, removed when the test process exits (however its tests ended). */
export function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `packhub-${prefix}-`));
  removeOnExit(dir);
  return dir;
}

/**
 * Every git (and git-lfs) run gets an isolated HOME with its own .gitconfig, no system config, no
 * prompts and no credential helpers, so the developer's or CI machine's settings never leak in.
 */
const home = tmpDir('git-home');
fs.writeFileSync(
  path.join(home, '.gitconfig'),
  [
    '[user]',
    '\tname = Packhub Test',
    '\temail = test@packhub.invalid',
    '[init]',
    '\tdefaultBranch = main',
    '[advice]',
    '\tdetachedHead = false',
    '[gc]',
    '\tauto = 0',
    '[protocol]',
    '\tversion = 2',
    '[filter "lfs"]',
    '\tclean = git-lfs clean -- %f',
    '\tsmudge = git-lfs smudge -- %f',
    '\tprocess = git-lfs filter-process',
    '\trequired = true',
    '',
  ].join('\n'),
);

export const gitEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, '.config'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '/bin/false',
  LANG: 'C',
  LC_ALL: 'C',
  TZ: 'UTC',
};

export interface GitOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: Buffer | string;
  /** Wire protocol for this run (`-c protocol.version=N`); the isolated config defaults to 2. */
  protocol?: 0 | 2 | '0' | '2';
  timeoutMs?: number;
}

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(`git ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
}

function argv(args: string[], opts: GitOptions): string[] {
  return opts.protocol === undefined ? args : ['-c', `protocol.version=${opts.protocol}`, ...args];
}

/** Run git and return its stdout; throws GitError (with stderr) when it exits non-zero. */
export async function git(args: string[], opts: GitOptions = {}): Promise<string> {
  const full = argv(args, opts);
  const r = await gitResult(args, opts);
  if (r.code !== 0) throw new GitError(full, r);
  return r.stdout;
}

/** Run git and return code, stdout and stderr, whether it failed or not (for expected failures). */
export function gitResult(args: string[], opts: GitOptions = {}): Promise<RunResult> {
  return run('git', argv(args, opts), { cwd: opts.cwd, env: { ...gitEnv, ...opts.env }, input: opts.input, timeoutMs: opts.timeoutMs ?? 300_000 });
}

/** refname -> oid, as `git ls-remote` or `git show-ref` print it. */
export function parseRefs(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    if (!line) continue;
    const [oid, name] = line.split(/\s+/);
    m.set(name!, oid!);
  }
  return m;
}

/** All refs of a local repository (heads and tags; HEAD and peeled values excluded). */
export async function localRefs(dir: string): Promise<Map<string, string>> {
  return parseRefs(await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir }));
}

/** The refs a remote advertises (HEAD and peeled `^{}` lines excluded). */
export async function remoteRefs(url: string): Promise<Map<string, string>> {
  const refs = parseRefs(await git(['ls-remote', url]));
  for (const k of [...refs.keys()]) if (k.endsWith('^{}') || k === 'HEAD') refs.delete(k);
  return refs;
}

/** Objects in a local repository, loose and packed (`git count-objects -v`). */
export async function objectCount(dir: string): Promise<number> {
  const out = await git(['count-objects', '-v'], { cwd: dir });
  return Number(/^in-pack: (\d+)/m.exec(out)?.[1] ?? 0) + Number(/^count: (\d+)/m.exec(out)?.[1] ?? 0);
}

/** The object count in a pack's header, and its size (e.g. of a pack captured with GIT_TRACE_PACKFILE). */
export function packHeader(pack: Buffer): { objects: number; bytes: number } {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new Error(`not a pack (${pack.length} bytes)`);
  return { objects: pack.readUInt32BE(8), bytes: pack.length };
}

/** The pack `git pack-objects --revs` writes for these revisions (thin: with deltas against what they exclude). */
export function packOf(dir: string, revs: string[], thin = false): Buffer {
  const r = spawnSync('git', ['pack-objects', '--stdout', '--revs', ...(thin ? ['--thin'] : [])], { cwd: dir, env: gitEnv, input: `${revs.join('\n')}\n`, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

/** Writes any object, valid or not (`--literally`), into the repository at dir; returns its id. */
export function hashObject(dir: string, type: string, content: Buffer): string {
  const r = spawnSync('git', ['hash-object', '-t', type, '-w', '--literally', '--stdin'], { cwd: dir, env: gitEnv, input: content });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString().trim();
}

/** Raw tree bytes: `<mode> <name>\0<20-byte id>` per entry, in the order given. */
export function treeBytes(entries: [mode: string, name: string, oid: string][]): Buffer {
  return Buffer.concat(entries.flatMap(([mode, name, oid]) => [Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]));
}
