import { GitFormatError } from '../../core/errors.js';
import { formatHeader, splitHeaders, type Header } from './headers.js';
import { formatIdent, parseIdent, type Ident } from './ident.js';
import { OID_RE } from './types.js';

export interface Commit {
  tree: string;
  parents: string[];
  author: Ident;
  committer: Ident;
  /** Headers after committer (gpgsig, encoding, mergetag...), in order; multi-line values joined by '\n'. */
  extraHeaders: Header[];
  message: string;
}

/**
 * Parses a commit as strictly as `git fsck --strict`: headers tree, parent*, author, committer in
 * that order (anything may follow), full lowercase ids, valid idents, no NUL byte anywhere.
 */
export function parseCommit(data: Buffer): Commit {
  const { headers, message } = splitHeaders(data, 'commit');
  let i = 0;
  const take = (key: string): string | null => (headers[i]?.[0] === key ? headers[i++]![1] : null);
  const tree = take('tree');
  if (tree === null) throw new GitFormatError("commit: missing 'tree' header at the start");
  if (!OID_RE.test(tree)) throw new GitFormatError(`commit: bad tree id '${tree.slice(0, 80)}'`);
  const parents: string[] = [];
  for (let p = take('parent'); p !== null; p = take('parent')) {
    if (!OID_RE.test(p)) throw new GitFormatError(`commit: bad parent id '${p.slice(0, 80)}'`);
    parents.push(p);
  }
  const author = take('author');
  if (author === null) throw new GitFormatError("commit: missing 'author' header after tree and parents");
  if (headers[i]?.[0] === 'author') throw new GitFormatError("commit: more than one 'author' header");
  const committer = take('committer');
  if (committer === null) throw new GitFormatError("commit: missing 'committer' header after author");
  const nul = data.indexOf(0);
  if (nul >= 0) throw new GitFormatError(`commit: NUL byte in the message at offset ${nul}`);
  return {
    tree,
    parents,
    author: parseIdent(author, 'commit author'),
    committer: parseIdent(committer, 'commit committer'),
    extraHeaders: headers.slice(i),
    message,
  };
}

export function serializeCommit(c: Omit<Commit, 'extraHeaders'> & { extraHeaders?: Header[] }): Buffer {
  for (const oid of [c.tree, ...c.parents]) {
    if (!OID_RE.test(oid)) throw new GitFormatError(`commit: bad object id '${oid.slice(0, 80)}'`);
  }
  if (c.message.includes('\0')) throw new GitFormatError('commit: NUL byte in the message');
  const lines = [
    `tree ${c.tree}`,
    ...c.parents.map((p) => `parent ${p}`),
    `author ${formatIdent(c.author)}`,
    `committer ${formatIdent(c.committer)}`,
    ...(c.extraHeaders ?? []).map(([k, v]) => formatHeader(k, v)),
  ];
  return Buffer.from(`${lines.join('\n')}\n\n${c.message}`);
}
