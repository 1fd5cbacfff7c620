import { GitFormatError } from '../../core/errors.js';
import { splitHeaders } from './headers.js';
import { formatIdent, parseIdent, type Ident } from './ident.js';
import { isObjectType, OID_RE, type ObjectType } from './types.js';

export interface Tag {
  object: string;
  type: ObjectType;
  tag: string;
  /** Very old tags have none. */
  tagger: Ident | null;
  message: string;
}

/**
 * Parses an annotated tag as `git fsck --strict` does: object, type, tag, optional tagger, in that
 * order. git only reports odd tag names and headers after the tagger (info level), so they pass.
 */
export function parseTag(data: Buffer): Tag {
  const { headers, message } = splitHeaders(data, 'tag');
  const at = (i: number, key: string): string => {
    if (headers[i]?.[0] !== key) throw new GitFormatError(`tag: missing '${key}' header (line ${i + 1})`);
    return headers[i]![1];
  };
  const object = at(0, 'object');
  if (!OID_RE.test(object)) throw new GitFormatError(`tag: bad object id '${object.slice(0, 80)}'`);
  const type = at(1, 'type');
  if (!isObjectType(type)) throw new GitFormatError(`tag: bad object type '${type.slice(0, 80)}'`);
  const tag = at(2, 'tag');
  const tagger = headers[3]?.[0] === 'tagger' ? parseIdent(headers[3][1], 'tag tagger') : null;
  return { object, type, tag, tagger, message };
}

export function serializeTag(t: Tag): Buffer {
  if (!OID_RE.test(t.object)) throw new GitFormatError(`tag: bad object id '${t.object.slice(0, 80)}'`);
  if (!isObjectType(t.type)) throw new GitFormatError(`tag: bad object type '${String(t.type).slice(0, 80)}'`);
  if (/[\n\0]/.test(t.tag)) throw new GitFormatError('tag: the name contains a line break or NUL');
  const lines = [`object ${t.object}`, `type ${t.type}`, `tag ${t.tag}`];
  if (t.tagger) lines.push(`tagger ${formatIdent(t.tagger)}`);
  return Buffer.from(`${lines.join('\n')}\n\n${t.message}`);
}
