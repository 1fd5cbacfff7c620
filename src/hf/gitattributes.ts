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

const cache = new Map<string, RegExp>();

/** gitattributes glob: a pattern without '/' matches the basename anywhere; with '/', the whole path. */
export function globMatch(pattern: string, path: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    const anchored = pattern.includes('/');
    const p = pattern.replace(/^\//, '');
    let src = '';
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c === '*' && p[i + 1] === '*') {
        src += p[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += p[i + 2] === '/' ? 2 : 1;
      } else if (c === '*') src += '[^/]*';
      else if (c === '?') src += '[^/]';
      else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    re = new RegExp(anchored ? `^${src}$` : `(?:^|/)${src}$`);
    cache.set(pattern, re);
  }
  return re.test(path);
}

export function isLfsPath(patterns: { pattern: string; lfs: boolean }[], path: string): boolean {
  let lfs = false;
  for (const p of patterns) if (globMatch(p.pattern, path)) lfs = p.lfs;
  return lfs;
}
