import { GitFormatError } from '../../core/errors.js';

export type Header = [key: string, value: string];

/**
 * Splits a commit or tag into header lines and the message, with git's verify_headers rules: no
 * NUL before the blank line that ends the headers, and a header block that ends with a newline.
 * A line starting with a space continues the previous header's value (gpgsig, mergetag).
 */
export function splitHeaders(data: Buffer, what: string): { headers: Header[]; message: string } {
  let end = data.indexOf('\n\n');
  const headerEnd = end < 0 ? data.length : end + 1;
  const nul = data.subarray(0, headerEnd).indexOf(0);
  if (nul >= 0) throw new GitFormatError(`${what}: NUL byte in the header at offset ${nul}`);
  if (end < 0) {
    if (data.length === 0 || data[data.length - 1] !== 0x0a) throw new GitFormatError(`${what}: unterminated header`);
    end = data.length - 1;
  }
  const headers: Header[] = [];
  const text = data.toString('utf8', 0, end);
  for (const line of text === '' ? [] : text.split('\n')) {
    if (line.startsWith(' ')) {
      const last = headers[headers.length - 1];
      if (!last) throw new GitFormatError(`${what}: continuation line without a header`);
      last[1] += `\n${line.slice(1)}`;
      continue;
    }
    const sp = line.indexOf(' ');
    headers.push(sp < 0 ? [line, ''] : [line.slice(0, sp), line.slice(sp + 1)]);
  }
  const message = end + 2 <= data.length ? data.toString('utf8', end + 2) : '';
  return { headers, message };
}

/** Header lines as git writes them: multi-line values continue on lines starting with a space. */
export function formatHeader(key: string, value: string): string {
  if (!/^[^\s\0]+$/.test(key)) throw new GitFormatError(`header name '${key.slice(0, 80)}' is empty or contains blanks`);
  if (value.includes('\0')) throw new GitFormatError(`header '${key}' contains a NUL byte`);
  return value === '' ? key : `${key} ${value.replace(/\n/g, '\n ')}`;
}
