/** .gitattributes handling for the HF facade: the default file of a new repo, and LFS patterns. */
const MODEL_LFS = [
  '*.7z', '*.arrow', '*.bin', '*.bz2', '*.ckpt', '*.ftz', '*.gz', '*.h5', '*.joblib', '*.lfs.*', '*.mlmodel', '*.model', '*.msgpack',
  '*.npy', '*.npz', '*.onnx', '*.ot', '*.parquet', '*.pb', '*.pickle', '*.pkl', '*.pt', '*.pth', '*.rar', '*.safetensors',
  'saved_model/**/*', '*.tar.*', '*.tar', '*.tflite', '*.tgz', '*.wasm', '*.xz', '*.zip', '*.zst', '*tfevents*',
];
const DATASET_EXTRA = ['*.lz4', '*.mds', '*.wav', '*.mp3', '*.flac', '*.ogg', '*.png', '*.jpg', '*.jpeg', '*.webp', '*.gif', '*.mp4', '*.webm'];

export function defaultGitattributes(type: 'model' | 'dataset' | 'space'): string {
  const patterns = type === 'dataset' ? [...MODEL_LFS, ...DATASET_EXTRA] : MODEL_LFS;
  return patterns.map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join('');
}

/** Patterns whose attributes set filter=lfs (later lines win, as in git). */
export function lfsPatterns(text: string): { pattern: string; lfs: boolean }[] {
  const out: { pattern: string; lfs: boolean }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [pattern, ...attrs] = line.split(/\s+/);
    if (attrs.includes('filter=lfs')) out.push({ pattern: pattern!, lfs: true });
    else if (attrs.includes('-filter') || attrs.some((a) => a.startsWith('filter=') && a !== 'filter=lfs')) out.push({ pattern: pattern!, lfs: false });
  }
  return out;
}

type Token = { t: 'lit'; c: string } | { t: 'one' } | { t: 'star' } | { t: 'any' } | { t: 'anyDir' };
interface Glob {
  anchored: boolean;
  /** `*.ext` and plain names: a suffix test. */
  suffix: string | null;
  tokens: Token[];
  /** The longest run of literal characters: a path without it cannot match. */
  literal: string;
}

/** Compiled patterns (bounded: a request may bring many patterns of its own). */
const cache = new Map<string, Glob>();
const CACHE_MAX = 4096;

function compile(pattern: string): Glob {
  let g = cache.get(pattern);
  if (g) return g;
  const anchored = pattern.includes('/');
  const p = pattern.replace(/^\//, '');
  const tokens: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      tokens.push({ t: p[i + 2] === '/' ? 'anyDir' : 'any' });
      i += p[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') tokens.push({ t: 'star' });
    else if (c === '?') tokens.push({ t: 'one' });
    else tokens.push({ t: 'lit', c });
  }
  const rest = p.startsWith('*') && !p.startsWith('**') ? p.slice(1) : null;
  const suffix = !anchored && rest !== null && !/[*?/]/.test(rest) ? rest : null;
  let literal = '';
  let run = '';
  for (const tok of tokens) {
    run = tok.t === 'lit' ? run + tok.c : '';
    if (run.length > literal.length) literal = run;
  }
  g = { anchored, suffix, tokens, literal };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(pattern, g);
  return g;
}

/** What matching `pattern` against `path` costs at most (steps), for callers that bound their work. */
export function matchCost(pattern: string, path: string): number {
  const g = compile(pattern);
  return g.suffix !== null ? 1 : g.tokens.length * (path.length + 1);
}

/**
 * gitattributes glob: a pattern without '/' matches the basename anywhere; with '/', the whole path.
 * `*` stays within a folder, `**` crosses folders, `?` is one character. Matching runs the pattern as
 * a set of positions over the path, in at most (pattern length x path length) steps: no pattern can
 * make it backtrack for long, whatever a request brings.
 */
export function globMatch(pattern: string, path: string): boolean {
  const g = compile(pattern);
  if (g.suffix !== null) {
    const slash = path.lastIndexOf('/');
    return path.length - slash - 1 >= g.suffix.length && path.endsWith(g.suffix);
  }
  if (!path.includes(g.literal)) return false;
  const n = path.length;
  let cur = new Uint8Array(n + 1);
  cur[0] = 1;
  // Unanchored: the match may start after any '/'.
  if (!g.anchored) for (let i = 0; i < n; i++) if (path[i] === '/') cur[i + 1] = 1;
  for (const tok of g.tokens) {
    const next = new Uint8Array(n + 1);
    let any = false;
    if (tok.t === 'lit' || tok.t === 'one') {
      for (let i = 0; i < n; i++) {
        if (cur[i] && (tok.t === 'lit' ? path[i] === tok.c : path[i] !== '/')) next[i + 1] = 1;
      }
    } else if (tok.t === 'star' || tok.t === 'any') {
      let on = false;
      for (let j = 0; j <= n; j++) {
        if (cur[j]) on = true;
        if (on) next[j] = 1;
        if (tok.t === 'star' && j < n && path[j] === '/') on = false;
      }
    } else {
      // (?:.*/)? : stay, or end just after any '/' further on.
      let seen = false;
      for (let j = 0; j <= n; j++) {
        if (cur[j] || (seen && path[j - 1] === '/')) next[j] = 1;
        if (cur[j]) seen = true;
      }
    }
    for (let j = 0; j <= n && !any; j++) if (next[j]) any = true;
    if (!any) return false;
    cur = next;
  }
  return cur[n] === 1;
}

export function isLfsPath(patterns: { pattern: string; lfs: boolean }[], path: string): boolean {
  let lfs = false;
  for (const p of patterns) if (globMatch(p.pattern, path)) lfs = p.lfs;
  return lfs;
}
