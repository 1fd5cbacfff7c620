import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './run.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-git-home-'));
fs.writeFileSync(
  path.join(home, '.gitconfig'),
  `[user]\n\tname = Packhub Test\n\temail = test@packhub.invalid\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n[protocol]\n\tversion = 2\n[filter "lfs"]\n\tclean = git-lfs clean -- %f\n\tsmudge = git-lfs smudge -- %f\n\tprocess = git-lfs filter-process\n\trequired = true\n`,
);

/** The environment every git (and git-lfs) run gets: isolated config, no prompts, no helpers. */
export const gitEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '/bin/false',
  LANG: 'C',
};

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(`git ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
}

/** Run git; throws GitError with stderr on failure. */
export async function git(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string } = {}): Promise<string> {
  const r = await run('git', args, { cwd: opts.cwd, env: { ...gitEnv, ...opts.env }, input: opts.input, timeoutMs: 300_000 });
  if (r.code !== 0) throw new GitError(args, r);
  return r.stdout;
}

/** Run git and return the whole result, failing or not. */
export function gitResult(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string } = {}): Promise<RunResult> {
  return run('git', args, { cwd: opts.cwd, env: { ...gitEnv, ...opts.env }, input: opts.input, timeoutMs: 300_000 });
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `packhub-${prefix}-`));
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

/** All refs of a local repository (heads, tags, peeled tags excluded). */
export async function localRefs(dir: string): Promise<Map<string, string>> {
  return parseRefs(await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir }));
}

export async function remoteRefs(url: string): Promise<Map<string, string>> {
  const refs = parseRefs(await git(['ls-remote', url]));
  for (const k of [...refs.keys()]) if (k.endsWith('^{}') || k === 'HEAD') refs.delete(k);
  return refs;
}
