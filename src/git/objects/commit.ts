import { GitFormatError } from '../../core/errors.js';
import { formatIdent, parseIdent, type Ident } from './ident.js';
import { OID_RE } from './types.js';

export interface Commit {
  tree: string;
  parents: string[];
  author: Ident;
  committer: Ident;
  /** Other headers (gpgsig, encoding, mergetag...), raw, in order. */
  extraHeaders: [string, string][];
  message: string;
}

/** Split an object body into headers (with continuation lines) and the message. */
export function splitHeaders(data: Buffer, what: string): { headers: [string, string][]; message: string } {
  const text = data.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text.replace(/\n$/, '') : text.slice(0, end);
  const message = end < 0 ? '' : text.slice(end + 2);
  if (end < 0 && !text.endsWith('\n') && text.length > 0) throw new GitFormatError(`${what}: unterminated header`);
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) {
      const last = headers[headers.length - 1];
      if (!last) throw new GitFormatError(`${what}: continuation line without a header`);
      last[1] += `\n${line.slice(1)}`;
      continue;
    }
    const sp = line.indexOf(' ');
    if (sp <= 0) throw new GitFormatError(`${what}: malformed header line '${line.slice(0, 100)}'`);
    headers.push([line.slice(0, sp), line.slice(sp + 1)]);
  }
  return { headers, message };
}

export function parseCommit(data: Buffer): Commit {
  const { headers, message } = splitHeaders(data, 'commit');
  let i = 0;
  const next = (key: string) => (headers[i]?.[0] === key ? headers[i++]![1] : null);
  const tree = next('tree');
  if (tree === null || !OID_RE.test(tree)) throw new GitFormatError(`commit: missing or invalid tree header`);
  const parents: string[] = [];
  for (let p = next('parent'); p !== null; p = next('parent')) {
    if (!OID_RE.test(p)) throw new GitFormatError(`commit: invalid parent '${p.slice(0, 80)}'`);
    parents.push(p);
  }
  const author = next('author');
  if (author === null) throw new GitFormatError('commit: missing author');
  const committer = next('committer');
  if (committer === null) throw new GitFormatError('commit: missing committer');
  const extraHeaders = headers.slice(i);
  for (const [k] of extraHeaders) {
    if (k === 'tree' || k === 'parent' || k === 'author' || k === 'committer') throw new GitFormatError(`commit: header '${k}' out of order`);
  }
  return { tree, parents, author: parseIdent(author, 'author'), committer: parseIdent(committer, 'committer'), extraHeaders, message };
}

export function serializeCommit(c: Omit<Commit, 'extraHeaders'> & { extraHeaders?: [string, string][] }): Buffer {
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${formatIdent(c.author)}`, `committer ${formatIdent(c.committer)}`];
  for (const [k, v] of c.extraHeaders ?? []) lines.push(`${k} ${v.replace(/\n/g, '\n ')}`);
  return Buffer.from(`${lines.join('\n')}\n\n${c.message}`);
}
