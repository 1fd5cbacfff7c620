import { GitFormatError } from '../../core/errors.js';
import { splitHeaders } from './commit.js';
import { formatIdent, parseIdent, type Ident } from './ident.js';
import { OID_RE, type ObjectType } from './types.js';

export interface Tag {
  object: string;
  type: ObjectType;
  tag: string;
  tagger: Ident | null;
  message: string;
}

export function parseTag(data: Buffer): Tag {
  const { headers, message } = splitHeaders(data, 'tag');
  const get = (i: number, key: string) => {
    if (headers[i]?.[0] !== key) throw new GitFormatError(`tag: missing '${key}' header`);
    return headers[i]![1];
  };
  const object = get(0, 'object');
  if (!OID_RE.test(object)) throw new GitFormatError('tag: invalid object id');
  const type = get(1, 'type');
  if (!['commit', 'tree', 'blob', 'tag'].includes(type)) throw new GitFormatError(`tag: invalid type '${type}'`);
  const tag = get(2, 'tag');
  if (!tag) throw new GitFormatError('tag: empty tag name');
  const tagger = headers[3]?.[0] === 'tagger' ? parseIdent(headers[3][1], 'tagger') : null;
  return { object, type: type as ObjectType, tag, tagger, message };
}

export function serializeTag(t: Tag): Buffer {
  const lines = [`object ${t.object}`, `type ${t.type}`, `tag ${t.tag}`];
  if (t.tagger) lines.push(`tagger ${formatIdent(t.tagger)}`);
  return Buffer.from(`${lines.join('\n')}\n\n${t.message}`);
}
