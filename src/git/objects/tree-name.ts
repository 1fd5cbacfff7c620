/**
 * Tree entry names git refuses under `fsck --strict` (fsck_tree with path.c and utf8.c rules):
 * empty, '.', '..', containing '/', and every spelling of '.git' that some filesystem would treat as
 * the .git directory: any case, HFS+ ignorable code points ('.g\u200cit'), NTFS trailing dots and
 * spaces, alternate data streams ('.git::$INDEX_ALLOCATION'), the short name 'git~1', and the same
 * after a backslash. A symbolic link named like .gitmodules is refused too.
 */
const SLASH = 0x2f;
const BACKSLASH = 0x5c;

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

/** One code point of UTF-8 as git's pick_one_utf8_char reads it; -1 for an invalid sequence. */
function utf8At(b: Buffer, i: number): [cp: number, len: number] {
  const s0 = b[i]!;
  const s1 = b[i + 1] ?? 0;
  const s2 = b[i + 2] ?? 0;
  const s3 = b[i + 3] ?? 0;
  const cont = (x: number) => (x & 0xc0) === 0x80;
  if (s0 < 0x80) return [s0, 1];
  if ((s0 & 0xe0) === 0xc0) {
    if (!cont(s1) || (s0 & 0xfe) === 0xc0) return [-1, 0];
    return [((s0 & 0x1f) << 6) | (s1 & 0x3f), 2];
  }
  if ((s0 & 0xf0) === 0xe0) {
    if (!cont(s1) || !cont(s2)) return [-1, 0];
    if ((s0 === 0xe0 && (s1 & 0xe0) === 0x80) || (s0 === 0xed && (s1 & 0xe0) === 0xa0)) return [-1, 0];
    if (s0 === 0xef && s1 === 0xbf && (s2 & 0xfe) === 0xbe) return [-1, 0];
    return [((s0 & 0x0f) << 12) | ((s1 & 0x3f) << 6) | (s2 & 0x3f), 3];
  }
  if ((s0 & 0xf8) === 0xf0) {
    if (!cont(s1) || !cont(s2) || !cont(s3)) return [-1, 0];
    if ((s0 === 0xf0 && (s1 & 0xf0) === 0x80) || (s0 === 0xf4 && s1 > 0x8f) || s0 > 0xf4) return [-1, 0];
    return [((s0 & 0x07) << 18) | ((s1 & 0x3f) << 12) | ((s2 & 0x3f) << 6) | (s3 & 0x3f), 4];
  }
  return [-1, 0];
}

const HFS_IGNORED = new Set([0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, 0xfeff]);

/**
 * The next code point HFS+ does not ignore, from byte `at`: [code point, next position]. Like git,
 * the end of the name and an invalid UTF-8 sequence both read as 0 (and end the walk).
 */
function nextHfsChar(name: Buffer, at: number): [cp: number, next: number] {
  let i = at;
  while (i < name.length) {
    const [cp, len] = utf8At(name, i);
    if (cp < 0) break;
    i += len;
    if (!HFS_IGNORED.has(cp)) return [cp, i];
  }
  return [0, name.length];
}

/** Is `name` '.' + needle to HFS+ (ASCII case-insensitive, ignorable code points skipped)? */
function isHfsDot(name: Buffer, needle: string): boolean {
  let [c, i] = nextHfsChar(name, 0);
  if (c !== 0x2e) return false;
  for (let k = 0; k < needle.length; k++) {
    [c, i] = nextHfsChar(name, i);
    if (c > 127 || lower(c) !== needle.charCodeAt(k)) return false;
  }
  [c] = nextHfsChar(name, i);
  return c === 0 || c === SLASH;
}

/** git's is_ntfs_dotgit from byte `at`: '.git' or 'git~1', then only '.' and ' ' up to the end, a separator or ':'. */
function isNtfsDotGit(name: Buffer, at: number): boolean {
  const word = name[at] === 0x2e ? '.git' : 'git~1';
  for (let k = 0; k < word.length; k++) if (lower(name[at + k] ?? 0) !== word.charCodeAt(k)) return false;
  for (let i = at + word.length; ; i++) {
    const c = name[i] ?? 0;
    if (c === 0 || c === SLASH || c === BACKSLASH || c === 0x3a) return true;
    if (c !== 0x2e && c !== 0x20) return false;
  }
}

/** From byte `i`: only spaces and periods up to the end or an NTFS stream (':')? */
function onlySpacesAndPeriods(name: Buffer, i: number): boolean {
  for (; ; i++) {
    const c = name[i] ?? 0;
    if (c === 0 || c === 0x3a) return true;
    if (c !== 0x20 && c !== 0x2e) return false;
  }
}

function startsWithCaseless(name: Buffer, from: number, word: string, len: number): boolean {
  for (let k = 0; k < len; k++) if (lower(name[from + k] ?? 0) !== word.charCodeAt(k)) return false;
  return true;
}

/** git's is_ntfs_dot_generic from byte `at`: '.'+name, its 6-letter ~1..~4 short name, or the hashed fallback short name. */
function isNtfsDot(name: Buffer, at: number, dotName: string, shortPrefix: string): boolean {
  if (name[at] === 0x2e && startsWithCaseless(name, at + 1, dotName, dotName.length)) return onlySpacesAndPeriods(name, at + dotName.length + 1);
  if (startsWithCaseless(name, at, dotName, 6) && name[at + 6] === 0x7e && (name[at + 7] ?? 0) >= 0x31 && (name[at + 7] ?? 0) <= 0x34) {
    return onlySpacesAndPeriods(name, at + 8);
  }
  let sawTilde = false;
  let i = 0;
  for (; i < 8; i++) {
    const c = name[at + i] ?? 0;
    if (c === 0) return false;
    if (sawTilde) {
      if (c < 0x30 || c > 0x39) return false;
    } else if (c === 0x7e) {
      i++;
      const d = name[at + i] ?? 0;
      if (d < 0x31 || d > 0x39) return false;
      sawTilde = true;
    } else if (i >= 6 || c & 0x80 || lower(c) !== shortPrefix.charCodeAt(i)) {
      return false;
    }
  }
  return onlySpacesAndPeriods(name, at + i);
}

/** git's is_hfs_dotgitmodules || is_ntfs_dotgitmodules: a name some filesystem reads as '.gitmodules'. */
export function isDotGitmodules(name: Buffer): boolean {
  return isHfsDot(name, 'gitmodules') || isNtfsDot(name, 0, 'gitmodules', 'gi7eba');
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/** Why git fsck --strict refuses this tree entry name (with this mode), or null if it is fine. */
export function treeNameProblem(name: Buffer, mode: string): string | null {
  if (name.length === 0) return 'an empty name';
  if (name.includes(0)) return 'a NUL byte';
  if (name.includes(SLASH)) return "a '/' (a path, not a name)";
  if (name.equals(DOT) || name.equals(DOTDOT)) return 'a relative path component';
  const first = name[0]!;
  const backslash = name.indexOf(BACKSLASH);
  // Every .git spelling starts with '.', 'g', 'G' or (HFS+) a non-ASCII ignorable code point.
  if (first !== 0x2e && (first | 0x20) !== 0x67 && first < 0x80 && backslash < 0) return null;
  const parts = [0];
  for (let i = backslash; i >= 0; i = name.indexOf(BACKSLASH, i + 1)) parts.push(i + 1);
  if (isHfsDot(name, 'git') || parts.some((at) => isNtfsDotGit(name, at))) {
    return 'the .git directory on a case-insensitive, HFS+ or NTFS filesystem';
  }
  if (mode === '120000' && (isHfsDot(name, 'gitmodules') || parts.some((at) => isNtfsDot(name, at, 'gitmodules', 'gi7eba')))) {
    return 'a symbolic link named .gitmodules';
  }
  return null;
}
