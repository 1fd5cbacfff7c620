/**
 * Shell-style patterns as the Hub's clients use them (`allow_patterns`, `ignore_patterns`): `*`
 * matches any run of characters, `/` included; `?` one character; `[...]` a class. A pattern ending
 * in `/` means everything under that folder. Matching is whole-string.
 */
export function globToRegExp(glob: string, flags = ''): RegExp {
  const g = glob.endsWith('/') ? `${glob}*` : glob;
  let out = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = g.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        const body = g.slice(i + 1, close).replace(/\\/g, '\\\\');
        out += body.startsWith('!') ? `[^${body.slice(1)}]` : `[${body}]`;
        i = close;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, flags);
}

/** A path filter from include and exclude patterns: no include pattern means everything. */
export function pathFilter(include: readonly string[], exclude: readonly string[]): (path: string) => boolean {
  const inc = include.map((g) => globToRegExp(g));
  const exc = exclude.map((g) => globToRegExp(g));
  return (p) => (inc.length === 0 || inc.some((r) => r.test(p))) && !exc.some((r) => r.test(p));
}

/**
 * Which upstream repositories may be mirrored: a repo id (`ns/name` for models, `datasets/ns/name`,
 * `spaces/ns/name`) is allowed when an allow pattern matches it and no deny pattern does. Ids are
 * case-insensitive, as on the Hub, so the patterns are too.
 */
export function repoRules(allow: readonly string[], deny: readonly string[]): (id: string) => boolean {
  const a = allow.map((g) => globToRegExp(g, 'i'));
  const d = deny.map((g) => globToRegExp(g, 'i'));
  return (id) => a.some((r) => r.test(id)) && !d.some((r) => r.test(id));
}
