import { GitFormatError } from '../../core/errors.js';

/** `Name <email> 1234567890 +0000` */
export interface Ident {
  name: string;
  email: string;
  timestamp: number;
  timezone: string;
}

const IDENT_RE = /^([^<>\n]*?) ?<([^<>\n]*)> (\d+) ([+-]\d{4})$/;

export function parseIdent(text: string, what: string): Ident {
  const m = IDENT_RE.exec(text);
  if (!m) throw new GitFormatError(`bad ${what} line: '${text.slice(0, 200)}'`);
  return { name: m[1]!, email: m[2]!, timestamp: Number(m[3]), timezone: m[4]! };
}

export function formatIdent(i: Ident): string {
  return `${i.name} <${i.email}> ${i.timestamp} ${i.timezone}`;
}
