import { GitFormatError } from '../../core/errors.js';

/**
 * The checks `git fsck` (and so every client with transfer.fsckObjects) makes of a blob that a tree
 * names '.gitmodules' (gitmodulesName, gitmodulesUrl, gitmodulesPath, gitmodulesUpdate): submodule
 * names that climb out of .git/modules, URLs and paths that a command line would read as options,
 * URLs that smuggle a newline or lose their host, '!command' update settings. The file is read with
 * git's config syntax. Unlike git (which only notes it), a .gitmodules that does not parse is refused.
 */
export function checkGitmodules(data: Buffer): void {
  for (const { section, key, value } of parseConfig(data)) {
    // git's parse_config_key(var, "submodule", &subsection, ...): the subsection is what lies between the first and the last dot.
    const variable = `${section}.${key}`;
    if (!variable.startsWith('submodule.')) continue;
    const rest = variable.slice('submodule.'.length);
    const dot = rest.lastIndexOf('.');
    if (dot < 0) continue;
    const name = rest.slice(0, dot);
    const k = rest.slice(dot + 1);
    if (!submoduleNameOk(name)) throw new GitFormatError(`.gitmodules: disallowed submodule name: ${show(name)} (gitmodulesName)`);
    if (value === null) continue;
    if (k === 'url' && !submoduleUrlOk(value)) throw new GitFormatError(`.gitmodules: disallowed submodule url: ${show(value)} (gitmodulesUrl)`);
    if (k === 'path' && value.startsWith('-')) throw new GitFormatError(`.gitmodules: disallowed submodule path: ${show(value)} (gitmodulesPath)`);
    if (k === 'update' && value.startsWith('!')) throw new GitFormatError(`.gitmodules: disallowed submodule update setting: ${show(value)} (gitmodulesUpdate)`);
  }
}

const show = (s: string) => JSON.stringify(s.slice(0, 200));

const isDirSep = (c: string | undefined) => c === '/' || c === '\\';

/** Not empty, and no '..' path component ('/' and '\' both separate: the name becomes a path under .git/modules). */
export function submoduleNameOk(name: string): boolean {
  if (name === '') return false;
  for (let i = 0; i <= name.length; i++) {
    if (i > 0 && !isDirSep(name[i - 1])) continue;
    if (name[i] === '.' && name[i + 1] === '.' && (i + 2 === name.length || isDirSep(name[i + 2]))) return false;
  }
  return true;
}

/** %XX decoded (as git's url_decode: anything else is kept). */
function urlDecode(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const startsWithDotSlash = (s: string, at: number) => s[at] === '.' && isDirSep(s[at + 1]);
const startsWithDotDotSlash = (s: string, at: number) => s[at] === '.' && s[at + 1] === '.' && isDirSep(s[at + 2]);

/** git's check_submodule_url. */
export function submoduleUrlOk(url: string): boolean {
  if (url.startsWith('-')) return false;
  if (startsWithDotSlash(url, 0) || startsWithDotDotSlash(url, 0) || url.startsWith('git://')) {
    // Could be appended to an http URL and decoded: no newline, and no climbing above the host.
    if (urlDecode(url).includes('\n')) return false;
    let at = 0;
    let dotdots = 0;
    for (;;) {
      if (startsWithDotDotSlash(url, at)) {
        dotdots++;
        at += 3;
      } else if (startsWithDotSlash(url, at)) {
        at += 2;
      } else break;
    }
    return !(dotdots > 0 && (url[at] === ':' || url[at] === '/'));
  }
  // URLs handed to curl: they must parse as credential URLs with a host, and carry no newline.
  let curl: string | null = null;
  for (const p of ['http::', 'https::', 'ftp::', 'ftps::']) if (url.startsWith(p)) curl = url.slice(p.length);
  if (curl === null && /^(https?|ftps?):\/\//.test(url)) curl = url;
  if (curl === null) return true;
  const proto = curl.indexOf('://');
  if (proto < 0) return false;
  if (urlDecode(curl).includes('\n')) return false;
  const cp = proto + 3;
  let slash = curl.slice(cp).search(/[/?#]/);
  slash = slash < 0 ? curl.length : cp + slash;
  const atSign = curl.indexOf('@', cp);
  const hostStart = atSign >= 0 && atSign < slash ? atSign + 1 : cp;
  return urlDecode(curl.slice(hostStart, slash)) !== '';
}

interface ConfigEntry {
  /** Section as git builds it: the name lowercased, then '.' and the subsection as written. */
  section: string;
  /** Lowercased. */
  key: string;
  /** null: the key alone (a boolean true). */
  value: string | null;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isKeyChar = (c: string) => isAlpha(c) || (c >= '0' && c <= '9') || c === '-';

/** The entries of a file in git's config syntax (bytes read one to one, as latin1); throws where git's parser fails. */
export function parseConfig(data: Buffer): ConfigEntry[] {
  let text = data.toString('latin1').replace(/\r\n/g, '\n');
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  if (text.includes('\0')) throw parseError('a NUL byte');
  const entries: ConfigEntry[] = [];
  let pos = 0;
  let line = 1;
  // End of input reads as a newline, as in git.
  const next = () => (pos < text.length ? text[pos++]! : (pos++, '\n'));
  const eof = () => pos > text.length;
  let section: string | null = null;
  let comment = false;
  for (;;) {
    const c = next();
    if (c === '\n') {
      if (eof()) return entries;
      line++;
      comment = false;
      continue;
    }
    if (comment || isSpace(c)) continue;
    if (c === '#' || c === ';') {
      comment = true;
      continue;
    }
    if (c === '[') {
      section = readSection();
      continue;
    }
    if (!isAlpha(c)) throw parseError(`unexpected ${JSON.stringify(c)} on line ${line}`);
    let key = c.toLowerCase();
    let d = next();
    while (!eof() && isKeyChar(d)) {
      key += d.toLowerCase();
      d = next();
    }
    while (d === ' ' || d === '\t') d = next();
    let value: string | null = null;
    if (d !== '\n') {
      if (d !== '=') throw parseError(`bad key on line ${line}`);
      value = readValue();
    }
    if (section !== null) entries.push({ section, key, value });
    if (eof()) return entries;
    line++;
  }

  function readSection(): string {
    let name = '';
    for (;;) {
      const c = next();
      if (eof()) throw parseError(`unterminated section header on line ${line}`);
      if (c === ']') break;
      if (isSpace(c)) {
        // [section "subsection"]
        let d = c;
        do {
          if (d === '\n') throw parseError(`unterminated section header on line ${line}`);
          d = next();
        } while (isSpace(d));
        if (d !== '"') throw parseError(`bad section header on line ${line}`);
        name += '.';
        for (;;) {
          let e = next();
          if (e === '\n') throw parseError(`unterminated section header on line ${line}`);
          if (e === '"') break;
          if (e === '\\') {
            e = next();
            if (e === '\n') throw parseError(`unterminated section header on line ${line}`);
          }
          name += e;
        }
        if (next() !== ']') throw parseError(`bad section header on line ${line}`);
        break;
      }
      if (!isKeyChar(c) && c !== '.') throw parseError(`bad section name on line ${line}`);
      name += c.toLowerCase();
    }
    if (name === '') throw parseError(`empty section name on line ${line}`);
    return name;
  }

  function readValue(): string {
    let value = '';
    let quote = false;
    let inComment = false;
    let spaces = 0;
    for (;;) {
      let c = next();
      if (c === '\n') {
        if (quote) throw parseError(`unterminated quote on line ${line}`);
        return value;
      }
      if (inComment) continue;
      if (isSpace(c) && !quote) {
        if (value.length) spaces++;
        continue;
      }
      if (!quote && (c === ';' || c === '#')) {
        inComment = true;
        continue;
      }
      value += ' '.repeat(spaces);
      spaces = 0;
      if (c === '\\') {
        c = next();
        if (c === '\n') {
          if (!eof()) line++;
          continue;
        }
        if (c === 't') c = '\t';
        else if (c === 'b') c = '\b';
        else if (c === 'n') c = '\n';
        else if (c !== '\\' && c !== '"') throw parseError(`unknown escape \\${c} on line ${line}`);
        value += c;
        continue;
      }
      if (c === '"') {
        quote = !quote;
        continue;
      }
      value += c;
    }
  }
}

function parseError(what: string): GitFormatError {
  return new GitFormatError(`.gitmodules cannot be parsed as git config: ${what} (gitmodulesParse)`);
}
