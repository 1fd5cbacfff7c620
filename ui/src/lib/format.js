// Numbers, sizes and dates as people read them.

export function size(n) {
  if (n == null || !Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** 7.24B, 110M, 66.4K: parameter counts and the like. */
export function count(n) {
  if (n == null || !Number.isFinite(n)) return '';
  const abs = Math.abs(n);
  for (const [d, s] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']]) {
    if (abs >= d) {
      const v = n / d;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${s}`;
    }
  }
  return String(n);
}

export const exact = (n) => Number(n).toLocaleString('en-US');

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const s = (Date.now() - d.getTime()) / 1000;
  if (s < 0 || s > 30 * 86400) return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  if (s < 60) return 'just now';
  const [n, unit] = s < 3600 ? [Math.floor(s / 60), 'minute'] : s < 86400 ? [Math.floor(s / 3600), 'hour'] : [Math.floor(s / 86400), 'day'];
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

export const fullDate = (iso) => (iso ? new Date(iso).toLocaleString() : '');
export const shortSha = (sha) => (sha ? sha.slice(0, 7) : '');
