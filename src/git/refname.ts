/**
 * git check-ref-format rules for names that a push may create: under refs/, at least two
 * components, no component starting with '.' or ending with '.lock', no '..', '@{', control
 * characters, space, ~ ^ : ? * [ \, not ending with '/' or '.', and not the single '@'. Like git's
 * branch and tag name checks, no component may start with '-' (it would read as an option on a
 * command line) and neither refs/heads/HEAD nor refs/tags/HEAD may exist (they shadow HEAD).
 */
export function isValidRefName(name: string): boolean {
  return refNameProblem(name) === null;
}

/** Why a ref name is refused ('funny refname' for check-ref-format's rules), or null if it is fine. */
export function refNameProblem(name: string): string | null {
  if (!name.startsWith('refs/') || name.length > 1024) return 'funny refname';
  if (name.endsWith('/') || name.endsWith('.') || name.includes('..') || name.includes('@{') || name.includes('//')) return 'funny refname';
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'funny refname';
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '' || p.startsWith('.') || p.endsWith('.lock') || p === '@') return 'funny refname';
  }
  if (parts.length < 2 || parts[1] === '') return 'funny refname';
  if (parts.some((p) => p.startsWith('-'))) return "funny refname (a name component starts with '-')";
  if (name === 'refs/heads/HEAD' || name === 'refs/tags/HEAD') return `funny refname (${name} would shadow HEAD)`;
  return null;
}
