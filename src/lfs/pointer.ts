/** Git LFS pointer files (spec v1): `version`, then `oid sha256:<hex>`, then `size <n>`, sorted keys. */
export interface LfsPointer {
  oid: string;
  size: number;
}

export const LFS_VERSION = 'https://git-lfs.github.com/spec/v1';
export const MAX_POINTER_SIZE = 1024;
const OID_RE = /^[0-9a-f]{64}$/;

export function isValidOid(oid: string): boolean {
  return OID_RE.test(oid);
}

export function formatPointer(p: LfsPointer): Buffer {
  return Buffer.from(`version ${LFS_VERSION}\noid sha256:${p.oid}\nsize ${p.size}\n`);
}

/** The pointer a blob encodes, or null if the blob is not a valid LFS pointer. */
export function parsePointer(data: Buffer): LfsPointer | null {
  if (data.length === 0 || data.length >= MAX_POINTER_SIZE) return null;
  if (!data.subarray(0, 8).equals(Buffer.from('version '))) return null;
  const text = data.toString('utf8');
  if (!text.endsWith('\n')) return null;
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== `version ${LFS_VERSION}` && lines[0] !== 'version https://hawser.github.com/spec/v1') return null;
  let oid: string | null = null;
  let size: number | null = null;
  let prevKey = '';
  for (const line of lines.slice(1)) {
    const sp = line.indexOf(' ');
    if (sp <= 0) return null;
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (!/^[a-z0-9.-]+$/.test(key) || key <= prevKey) return null;
    prevKey = key;
    if (key === 'oid') {
      if (!value.startsWith('sha256:') || !isValidOid(value.slice(7))) return null;
      oid = value.slice(7);
    } else if (key === 'size') {
      if (!/^\d{1,16}$/.test(value)) return null;
      size = Number(value);
    }
  }
  return oid !== null && size !== null ? { oid, size } : null;
}
