import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../core/errors.js';
import { normalizeRepoPath } from '../core/paths.js';
import type { RepoType } from '../db/types.js';

/** One file of a repository found on disk: its path in the repository and the real file to read. */
export interface FoundFile {
  path: string;
  /** The file's real path (a symlink resolved; always inside the scanned folder). */
  real: string;
  size: number;
}

/** A repository recognised by its layout. */
export interface FoundRepo {
  type: RepoType;
  /** The id the layout gives (`vendor/name`, or `vendor/name` of `models--vendor--name`). */
  namespace: string | null;
  name: string;
  /** The folder, relative to the scanned folder (for log lines). */
  where: string;
  files: FoundFile[];
  /** Paths that were skipped and why (reported in the job log, never committed). */
  skipped: { path: string; reason: string }[];
  /** A Hugging Face cache folder: the snapshot imported (refs/main). */
  cache: { commit: string } | null;
}

/** Files that make a `vendor/name` folder a model repository. */
const MARKER_NAMES = new Set(['config.json', 'model_index.json', 'readme.md', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'adapter_config.json', 'modules.json', 'params.json']);
const MARKER_EXT = ['.safetensors', '.gguf', '.ggml', '.bin', '.pt', '.pth', '.ckpt', '.onnx', '.h5', '.msgpack', '.tflite', '.mlmodel', '.npz'];
const CACHE_DIR = /^(models|datasets|spaces)--(.+)$/;
const TYPE_OF: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };
const SHA1 = /^[0-9a-f]{40}$/;

/** Bounds of one scan: the folder is read by the server, so a huge or deep tree cannot exhaust it. */
export const SCAN_LIMITS = { maxDepth: 32, maxFilesPerRepo: 100_000, maxRepos: 10_000, maxEntries: 2_000_000 };

const isInside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * `dir` resolved (realpath) and checked against the allowed roots (each resolved too). Empty roots:
 * importing is off.
 */
export async function resolveImportDir(dir: string, roots: string[]): Promise<string> {
  if (roots.length === 0) throw new AppError('forbidden', 'ImportDisabled', 'importing from disk is off on this hub: set PACKHUB_IMPORT_ROOTS to the folders it may read (absolute paths, comma-separated)');
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) throw new AppError('invalid', 'BadImportDir', `the folder to import must be an absolute path, not '${String(dir)}'`);
  let real: string;
  try {
    real = await fsp.realpath(dir);
  } catch (err) {
    throw new AppError('invalid', 'BadImportDir', `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const st = await fsp.stat(real);
  if (!st.isDirectory()) throw new AppError('invalid', 'BadImportDir', `${dir} is not a folder`);
  for (const root of roots) {
    const r = await fsp.realpath(root).catch(() => null);
    if (r && isInside(r, real)) return real;
  }
  throw new AppError('forbidden', 'ImportDirRefused', `${dir} is not inside PACKHUB_IMPORT_ROOTS (${roots.join(', ')})`);
}

/**
 * Walks `root` (a resolved folder) and recognises repositories: `vendor/name/` folders holding
 * model files (config.json, *.safetensors, ...) and Hugging Face cache folders
 * (`models--vendor--name` with `snapshots/<commit>/` and `refs/main`). Symlinks are followed only to
 * files inside `root`; folders behind symlinks are never entered.
 */
export async function discoverRepos(root: string, log: (line: string) => void): Promise<FoundRepo[]> {
  const found: FoundRepo[] = [];
  let entries = 0;
  const rel = (p: string) => path.relative(root, p) || '.';

  const visit = async (dir: string, depth: number): Promise<void> => {
    if (found.length >= SCAN_LIMITS.maxRepos) return;
    if (depth > SCAN_LIMITS.maxDepth) return log(`${rel(dir)}: deeper than ${SCAN_LIMITS.maxDepth} folders, not scanned`);
    let list: fs.Dirent[];
    try {
      list = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      return log(`${rel(dir)}: skipped, unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    entries += list.length;
    if (entries > SCAN_LIMITS.maxEntries) throw new AppError('too_large', 'ImportTooLarge', `more than ${SCAN_LIMITS.maxEntries} entries under ${root}: import a smaller folder`);
    const base = path.basename(dir);
    const cache = CACHE_DIR.exec(base);
    if (cache && list.some((e) => e.isDirectory() && e.name === 'snapshots')) {
      const repo = await cacheRepo(root, dir, TYPE_OF[cache[1]!]!, cache[2]!, log);
      if (repo) found.push(repo);
      return;
    }
    if (list.some((e) => (e.isFile() || e.isSymbolicLink()) && isMarker(e.name))) {
      const files = await collectFiles(root, dir);
      found.push({ type: 'model', namespace: path.basename(path.dirname(dir)), name: base, where: rel(dir), files: files.files, skipped: files.skipped, cache: null });
      return;
    }
    for (const e of list.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && e.name !== '.git') await visit(path.join(dir, e.name), depth + 1);
    }
  };
  await visit(root, 0);
  return found;
}

function isMarker(name: string): boolean {
  const n = name.toLowerCase();
  return MARKER_NAMES.has(n) || MARKER_EXT.some((x) => n.endsWith(x));
}

async function cacheRepo(root: string, dir: string, type: RepoType, id: string, log: (line: string) => void): Promise<FoundRepo | null> {
  const where = path.relative(root, dir);
  const parts = id.split('--');
  const namespace = parts.length >= 2 ? parts[0]! : null;
  const name = parts.length >= 2 ? parts.slice(1).join('--') : parts[0]!;
  let commit: string | null = null;
  try {
    const text = await readSmall(root, path.join(dir, 'refs', 'main'), 256);
    commit = text.trim();
    if (!SHA1.test(commit)) {
      log(`${where}: skipped, refs/main does not hold a commit id`);
      return null;
    }
  } catch (err) {
    // No refs/main: a single snapshot still says which commit it is.
    const snaps = (await fsp.readdir(path.join(dir, 'snapshots')).catch(() => [])).filter((s) => SHA1.test(s));
    if (snaps.length !== 1) {
      log(`${where}: skipped, no refs/main (${(err as Error).message}) and ${snaps.length} snapshots`);
      return null;
    }
    commit = snaps[0]!;
  }
  const snap = path.join(dir, 'snapshots', commit);
  const st = await fsp.lstat(snap).catch(() => null);
  if (!st?.isDirectory()) {
    log(`${where}: skipped, refs/main names ${commit} but snapshots/${commit} is not there`);
    return null;
  }
  const files = await collectFiles(root, snap);
  return { type, namespace, name, where, files: files.files, skipped: files.skipped, cache: { commit } };
}

/** A small file inside root (symlinks resolved and checked), at most `max` bytes. */
async function readSmall(root: string, p: string, max: number): Promise<string> {
  const real = await fsp.realpath(p);
  if (!isInside(root, real)) throw new Error(`${p} leads outside the folder`);
  const fh = await fsp.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Every file under `top` as repository paths; what cannot be imported is listed in `skipped`. */
async function collectFiles(root: string, top: string): Promise<{ files: FoundFile[]; skipped: { path: string; reason: string }[] }> {
  const files: FoundFile[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    if (depth > SCAN_LIMITS.maxDepth) {
      skipped.push({ path: prefix, reason: `deeper than ${SCAN_LIMITS.maxDepth} folders` });
      return;
    }
    let list: fs.Dirent[];
    try {
      list = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: prefix || '.', reason: `unreadable folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      return;
    }
    for (const e of list.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      const abs = path.join(dir, e.name);
      if (e.name === '.git' && e.isDirectory()) continue; // a working copy's own history is not content
      if (!prefix && e.name === '.cache' && e.isDirectory()) continue; // huggingface_hub's local-dir metadata
      if (files.length >= SCAN_LIMITS.maxFilesPerRepo) {
        skipped.push({ path: p, reason: `more than ${SCAN_LIMITS.maxFilesPerRepo} files in one repository` });
        return;
      }
      if (!validUtf8Name(e.name)) {
        skipped.push({ path: p, reason: 'name is not valid UTF-8' });
        continue;
      }
      try {
        normalizeRepoPath(p);
      } catch (err) {
        skipped.push({ path: p, reason: `name unsafe for git: ${(err as Error).message}` });
        continue;
      }
      if (e.isDirectory()) {
        await walk(abs, p, depth + 1);
        continue;
      }
      let real = abs;
      if (e.isSymbolicLink()) {
        try {
          real = await fsp.realpath(abs);
        } catch (err) {
          skipped.push({ path: p, reason: `broken symlink (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
          continue;
        }
        if (!isInside(root, real)) {
          skipped.push({ path: p, reason: 'symlink out of the imported folder, not followed' });
          continue;
        }
      }
      const st = await fsp.stat(real).catch(() => null);
      if (!st) {
        skipped.push({ path: p, reason: 'unreadable' });
        continue;
      }
      if (st.isDirectory()) {
        skipped.push({ path: p, reason: 'symlink to a folder, not followed' });
        continue;
      }
      if (!st.isFile()) {
        skipped.push({ path: p, reason: 'not a regular file' });
        continue;
      }
      files.push({ path: p, real, size: st.size });
    }
  };
  await walk(top, '', 0);
  return { files, skipped };
}

function validUtf8Name(name: string): boolean {
  // Node decodes names as UTF-8; bytes that were not come back as U+FFFD.
  return !name.includes('\uFFFD');
}
