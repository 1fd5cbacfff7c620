import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { checkGitmodules, parseConfig, submoduleNameOk, submoduleUrlOk } from './gitmodules.js';

const refused = (text: string, what: RegExp) => assert.throws(() => checkGitmodules(Buffer.from(text)), (e: unknown) => e instanceof GitFormatError && what.test(e.message));

describe('.gitmodules checks (git fsck gitmodules*)', () => {
  it('accepts ordinary submodules', () => {
    checkGitmodules(Buffer.from('[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n[submodule "a/b"]\n\tpath = a/b\n\turl = ../sibling.git\n\tupdate = rebase\n'));
    checkGitmodules(Buffer.from('[submodule "x"]\n\turl = git@example.com:x.git\n\turl = ssh://h/x\n\turl = ./x\n'));
    checkGitmodules(Buffer.from('# just a comment\n[core]\n\tbare\n'));
  });

  it('names: empty or with a .. component', () => {
    for (const n of ['', '..', '../../../hooks', 'a/../b', 'x\\..\\y', '..\\z']) assert.equal(submoduleNameOk(n), false, n);
    for (const n of ['a', 'a..b', '..a', 'a/..b', 'lib/x']) assert.equal(submoduleNameOk(n), true, n);
    refused('[submodule "../../../hooks"]\n\tpath = x\n\turl = https://e.com/x\n', /disallowed submodule name/);
    // The old syntax and odd spacing name submodules too.
    refused('[submodule.."]\n\turl = x\n', /parse|name/);
    refused('[submodule "..\\\\x"]\n\turl = ok\n', /disallowed submodule name/);
  });

  it('urls and paths that look like options, newlines, missing hosts, climbing relative urls', () => {
    for (const u of ['-upload-pack=evil', '--x', './%0ahost=x', 'git://h/r%0a.git', 'http::example.com/x', 'https:///example.com/x', 'http://user@/x', 'https://h/x%0a', '../../:foo', '..//x', './../..//x']) {
      assert.equal(submoduleUrlOk(u), false, u);
    }
    for (const u of ['https://h/x', 'http::https://h/x', '../x', './x', 'git@h:x', 'ssh://h/x', 'foo', 'file:///tmp/x', '../../x']) assert.equal(submoduleUrlOk(u), true, u);
    refused('[submodule "x"]\n\turl = -upload-pack=touch /tmp/pwned\n', /disallowed submodule url/);
    refused('[submodule "x"]\n\turl = "--foo"\n', /disallowed submodule url/);
    refused('[submodule "x"]\n\tpath = -x\n', /disallowed submodule path/);
    refused('[submodule "x"]\n\tupdate = !rm -rf /\n', /disallowed submodule update/);
  });

  it("parses git's config syntax: quotes, escapes, comments, continuations, case", () => {
    const entries = parseConfig(Buffer.from('\ufeff[Submodule "A b"] URL = " x  y " ; comment\n\tpath = a\\\n b # c\n[sub.Sect]\nk\n'));
    assert.deepEqual(entries, [
      { section: 'submodule.A b', key: 'url', value: ' x  y ' },
      { section: 'submodule.A b', key: 'path', value: 'a b' },
      { section: 'sub.sect', key: 'k', value: null },
    ]);
    assert.throws(() => parseConfig(Buffer.from('[x]\na = "open\n')), /parse/);
    assert.throws(() => parseConfig(Buffer.from('[x]\na = \\q\n')), /parse/);
    assert.throws(() => parseConfig(Buffer.from('[x\n')), /parse/);
    assert.throws(() => parseConfig(Buffer.from('=x\n')), /parse/);
  });
});
