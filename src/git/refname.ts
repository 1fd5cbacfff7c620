/**
 * git check-ref-format rules for names that a push may create: under refs/, at least two
 * components, no component starting with '.' or ending with '.lock', no '..', '@{', control
 * characters, space, ~ ^ : ? * [ \, not ending with '/' or '.', and not the single '@'.
 */
export function isValidRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.length > 1024) return false;
  if (name.endsWith('/') || name.endsWith('.') || name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  const parts = name.split('/');
  if (parts.length < 3 && !name.startsWith('refs/')) return false;
  for (const p of parts) {
    if (p === '' || p.startsWith('.') || p.endsWith('.lock') || p === '@') return false;
  }
  return parts.length >= 2 && parts[1] !== '';
}
