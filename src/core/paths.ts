import { invalid } from './errors.js';

/**
 * A file path inside a repository, as the API and UI accept it: relative, '/'-separated, no empty,
 * '.' or '..' segments, no '.git' segment (any case), no NUL, backslash or control characters.
 */
export function normalizeRepoPath(raw: string, what = 'path'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('InvalidPath', `${what} must be a non-empty string`);
  if (raw.length > 4096) throw invalid('InvalidPath', `${what} is too long`);
  if (/[\x00-\x1f\x7f\\]/.test(raw)) throw invalid('InvalidPath', `${what} '${printable(raw)}' contains a control character or backslash`);
  if (raw.startsWith('/')) throw invalid('InvalidPath', `${what} '${raw}' must be relative`);
  const parts = raw.split('/');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') throw invalid('InvalidPath', `${what} '${raw}' has an empty, '.' or '..' segment`);
    if (p.toLowerCase() === '.git') throw invalid('InvalidPath', `${what} '${raw}' has a '.git' segment`);
  }
  return parts.join('/');
}

const printable = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
