import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { git, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { parseCommit, serializeCommit, type Commit } from './commit.js';

const T = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const P1 = 'a'.repeat(40);
const P2 = 'b'.repeat(40);
const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);
const commit = (s: string) => Buffer.from(s);

describe('commit codec', () => {
  after(removeTempDirs);

  it('parses commits git writes and serializes them back byte for byte', () => {
    const dir = path.join(tempDir(), 'r');
    git(tempDir(), ['init', '-q', dir]);
    const c1 = git(dir, ['commit-tree', T, '-m', 'first\n\nbody'], undefined).toString().trim();
    const c1b = git(dir, ['commit-tree', T, '-m', 'other'], undefined).toString().trim();
    const c2 = git(dir, ['-c', 'i18n.commitEncoding=ISO-8859-1', 'commit-tree', T, '-p', c1, '-p', c1b, '-m', 'merge'], undefined).toString().trim();
    for (const oid of [c1, c1b, c2]) {
      const raw = git(dir, ['cat-file', 'commit', oid]);
      const c = parseCommit(raw);
      assert.equal(c.tree, T);
      assert.ok(serializeCommit(c).equals(raw), `round trip of ${oid}`);
    }
    const merge = parseCommit(git(dir, ['cat-file', 'commit', c2]));
    assert.deepEqual(merge.parents, [c1, c1b]);
    assert.deepEqual(merge.extraHeaders, [['encoding', 'ISO-8859-1']]);
    assert.equal(merge.author.email, 'test@packhub.invalid');
    assert.equal(merge.message, 'merge\n');
  });

  it('keeps multi-line headers (gpgsig) and messages', () => {
    const raw = commit(`tree ${T}\nparent ${P1}\nauthor A U Thor <a@example.com> 1700000000 +0130\ncommitter C <c@example.com> 1700000001 -0700\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsubject\n\nbody\n`);
    const c = parseCommit(raw);
    assert.deepEqual(c.parents, [P1]);
    assert.deepEqual(c.author, { name: 'A U Thor', email: 'a@example.com', timestamp: 1700000000, timezone: '+0130' });
    assert.deepEqual(c.committer, { name: 'C', email: 'c@example.com', timestamp: 1700000001, timezone: '-0700' });
    assert.deepEqual(c.extraHeaders, [['gpgsig', '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----']]);
    assert.equal(c.message, 'subject\n\nbody\n');
    assert.ok(serializeCommit(c).equals(raw));
  });

  it('accepts what git fsck --strict accepts', () => {
    const ok = [
      `tree ${T}\nauthor  <a@b> 0 +0000\ncommitter C <c@d> 1 +0000\n`, // empty name, no message
      `tree ${T}\nauthor A <> 1 +0000\ncommitter C <c@d>   \t 1 -1200\n\n`, // empty email, blanks before the date
      `tree ${T}\nparent ${P1}\nparent ${P2}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\nx-custom\ntree ${T}\n\n`,
    ];
    for (const s of ok) assert.doesNotThrow(() => parseCommit(commit(s)), s);
  });

  it('refuses malformed commits with a message saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      [`author A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /missing 'tree' header/],
      [`tree ${T.toUpperCase()}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad tree id/],
      [`tree ${T}\nparent ${P1.slice(1)}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad parent id/],
      [`tree ${T}\ncommitter C <c@d> 1 +0000\n\n`, /missing 'author' header/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /more than one 'author'/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\n\n`, /missing 'committer' header/],
      [`tree ${T}\ncommitter C <c@d> 1 +0000\nauthor A <a@b> 1 +0000\n\n`, /missing 'author' header/],
      [`tree ${T}\nauthor A<a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(missing space before email\): 'A<a@b> 1 \+0000'/],
      [`tree ${T}\nauthor <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(missing name before email\)/],
      [`tree ${T}\nauthor A a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(bad name\)/],
      [`tree ${T}\nauthor A a@b 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(missing email\)/],
      [`tree ${T}\nauthor A <a@b 1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(bad email\)/],
      [`tree ${T}\nauthor A <a@b>1 +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(missing space before date\)/],
      [`tree ${T}\nauthor A <a@b> 01 +0000\ncommitter C <c@d> 1 +0000\n\n`, /zero-padded date/],
      [`tree ${T}\nauthor A <a@b> x +0000\ncommitter C <c@d> 1 +0000\n\n`, /bad commit author line \(bad date\)/],
      [`tree ${T}\nauthor A <a@b> 99999999999999999999 +0000\ncommitter C <c@d> 1 +0000\n\n`, /date overflows/],
      [`tree ${T}\nauthor A <a@b> 1 +000\ncommitter C <c@d> 1 +0000\n\n`, /bad time zone/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 0000\n\n`, /bad commit committer line \(bad time zone\)/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000`, /unterminated header/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\0\ncommitter C <c@d> 1 +0000\n\n`, /NUL byte in the header at offset 68/],
      [`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 1 +0000\n\nmessage with \0 in it`, /NUL byte in the message/],
      [``, /unterminated header/],
    ];
    for (const [s, re] of cases) assert.throws(() => parseCommit(commit(s)), isFormatError(re), JSON.stringify(s));
  });

  it('refuses to serialize commits whose fields would break the format', () => {
    const base: Commit = {
      tree: T,
      parents: [],
      author: { name: 'A', email: 'a@b', timestamp: 1, timezone: '+0000' },
      committer: { name: 'C', email: 'c@d', timestamp: 1, timezone: '+0000' },
      extraHeaders: [],
      message: 'm\n',
    };
    assert.doesNotThrow(() => serializeCommit(base));
    assert.throws(() => serializeCommit({ ...base, author: { ...base.author, name: 'A\ncommitter evil' } }), GitFormatError);
    assert.throws(() => serializeCommit({ ...base, author: { ...base.author, email: 'a>b' } }), GitFormatError);
    assert.throws(() => serializeCommit({ ...base, committer: { ...base.committer, timezone: 'UTC' } }), GitFormatError);
    assert.throws(() => serializeCommit({ ...base, parents: ['nope'] }), GitFormatError);
    assert.throws(() => serializeCommit({ ...base, extraHeaders: [['two words', 'x']] }), GitFormatError);
  });
});
