import { GitFormatError } from '../../core/errors.js';

/** An author, committer or tagger: `Name <email> 1234567890 +0000`. */
export interface Ident {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** `+hhmm` or `-hhmm`. */
  timezone: string;
}

const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}...` : s);
const MAX_DATE = 2n ** 63n;

/**
 * Parses an ident header value with the rules of git's fsck_ident: a space before `<`, no `<` or
 * `>` in the name or email, one space after `>` (then blanks), a decimal date without leading
 * zeros that fits 63 bits, one space, and a `[+-]hhmm` time zone ending the line.
 */
export function parseIdent(text: string, what: string): Ident {
  const bad = (why: string) => new GitFormatError(`bad ${what} line (${why}): '${clip(text)}'`);
  if (text.includes('\n') || text.includes('\0')) throw bad('line break or NUL inside');
  if (text[0] === '<') throw bad('missing name before email');
  const lt = text.search(/[<>]/);
  if (lt < 0) throw bad('missing email');
  if (text[lt] === '>') throw bad('bad name');
  if (text[lt - 1] !== ' ') throw bad('missing space before email');
  const gt = text.slice(lt + 1).search(/[<>]/) + lt + 1;
  if (gt === lt || text[gt] !== '>') throw bad('bad email');
  let p = gt + 1;
  if (text[p] !== ' ') throw bad('missing space before date');
  p++;
  while (text[p] === ' ' || text[p] === '\t') p++;
  const digits = /^\d+/.exec(text.slice(p))?.[0];
  if (!digits) throw bad('bad date');
  if (digits[0] === '0' && digits.length > 1) throw bad('zero-padded date');
  if (digits.length > 19 || BigInt(digits) >= MAX_DATE) throw bad('date overflows');
  p += digits.length;
  if (text[p] !== ' ') throw bad('bad date');
  const timezone = text.slice(p + 1);
  if (!/^[+-]\d{4}$/.test(timezone)) throw bad('bad time zone');
  return { name: text.slice(0, lt - 1), email: text.slice(lt + 1, gt), timestamp: Number(digits), timezone };
}

/** The header value for an ident; refuses names and emails that would break the line. */
export function formatIdent(i: Ident): string {
  for (const [field, v] of [['name', i.name], ['email', i.email]] as const) {
    if (/[<>\n\0]/.test(v)) throw new GitFormatError(`ident ${field} '${clip(v)}' contains '<', '>', a line break or NUL`);
  }
  if (!Number.isSafeInteger(i.timestamp) || i.timestamp < 0) throw new GitFormatError(`ident timestamp ${i.timestamp} is not a whole number of seconds`);
  if (!/^[+-]\d{4}$/.test(i.timezone)) throw new GitFormatError(`ident time zone '${clip(i.timezone)}' is not +hhmm or -hhmm`);
  return `${i.name} <${i.email}> ${i.timestamp} ${i.timezone}`;
}
