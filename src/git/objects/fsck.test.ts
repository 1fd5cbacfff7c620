import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { PackWriter } from '../pack/pack-writer.js';
import { git, gitStatus, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { fsckObject } from './fsck.js';
import { hashObject } from './hash.js';
import { TYPE_CODE, type ObjectType } from './types.js';

const BLOB = Buffer.from('content\n');
const B = hashObject('blob', BLOB);
const T = hashObject('tree', Buffer.alloc(0));

const entry = (mode: string, name: string | Buffer, oid = mode === '40000' ? T : B) =>
  Buffer.concat([Buffer.from(`${mode} `), Buffer.from(name), Buffer.from([0]), Buffer.from(oid, 'hex')]);
const tree = (...entries: Buffer[]) => Buffer.concat(entries);
const file = (name: string | Buffer) => entry('100644', name);
const dir = (name: string) => entry('40000', name);
const link = (name: string) => entry('120000', name);

interface Case {
  what: string;
  type: ObjectType;
  data: Buffer;
  /** What our fsck says: null to accept, else the error message it must match. */
  ours: RegExp | null;
  /** Set when git index-pack --strict decides differently from packhub, on purpose. */
  gitAccepts?: boolean;
}

const refused = /is not allowed/;
const cases: Case[] = [
  // Trees: accepted.
  { what: 'ordinary tree', type: 'tree', data: tree(file('a'), dir('b'), entry('100755', 'c'), link('d'), entry('160000', 'e', 'c'.repeat(40))), ours: null },
  { what: 'empty tree', type: 'tree', data: Buffer.alloc(0), ours: null },
  { what: "'a.b' before directory 'a'", type: 'tree', data: tree(file('a.b'), dir('a')), ours: null },
  { what: 'look-alikes git allows', type: 'tree', data: tree(file('.git2'), file('.gitx'), file('.git~1'), file('back\\slash'), file('git~10'), file('git~2')), ours: null },
  { what: 'non-UTF-8 name', type: 'tree', data: tree(file(Buffer.from([0xc3, 0x28, 0xff]))), ours: null },
  { what: 'symlinked .gitignore', type: 'tree', data: tree(link('.gitignore')), ours: null },
  // Trees: unsafe names.
  { what: "'.'", type: 'tree', data: tree(file('.')), ours: /tree entry name '\.' is not allowed/ },
  { what: "'..'", type: 'tree', data: tree(dir('..')), ours: /tree entry name '\.\.' is not allowed/ },
  { what: "'.git'", type: 'tree', data: tree(dir('.git')), ours: /tree entry name '\.git' is not allowed/ },
  { what: "'.GIT'", type: 'tree', data: tree(file('.GIT')), ours: /tree entry name '\.GIT' is not allowed/ },
  { what: "'.Git'", type: 'tree', data: tree(file('.Git')), ours: refused },
  { what: "'.gI<ZWNJ>T' (HFS+)", type: 'tree', data: tree(file('.gI\u200cT')), ours: refused },
  { what: "'<BOM>.git' (HFS+)", type: 'tree', data: tree(file('\ufeff.git')), ours: refused },
  { what: "'.git' + invalid UTF-8 (HFS+ as git reads it)", type: 'tree', data: tree(file(Buffer.from('.git\xff', 'latin1'))), ours: refused },
  { what: "'git~1' (NTFS short name)", type: 'tree', data: tree(file('git~1')), ours: refused },
  { what: "'GIT~1'", type: 'tree', data: tree(dir('GIT~1')), ours: refused },
  { what: "'.git.' (NTFS)", type: 'tree', data: tree(file('.git.')), ours: refused },
  { what: "'.git . .' (NTFS)", type: 'tree', data: tree(file('.git . .')), ours: refused },
  { what: "'.git::$INDEX_ALLOCATION' (NTFS stream)", type: 'tree', data: tree(file('.git::$INDEX_ALLOCATION')), ours: refused },
  { what: "'.git\\foo' (backslash)", type: 'tree', data: tree(file('.git\\foo')), ours: refused },
  { what: "'a\\.GIT\\b' (backslash)", type: 'tree', data: tree(file('a\\.GIT\\b')), ours: refused },
  { what: "'a/b'", type: 'tree', data: tree(file('a/b')), ours: /tree entry name 'a\/b' is not allowed/ },
  { what: 'empty name', type: 'tree', data: tree(file('')), ours: /empty name/ },
  { what: 'symlinked .gitmodules', type: 'tree', data: tree(link('.gitmodules')), ours: /symbolic link named \.gitmodules/ },
  { what: "symlinked '.GITMODULES '", type: 'tree', data: tree(link('.GITMODULES ')), ours: /symbolic link named \.gitmodules/ },
  { what: "symlinked 'gitmod~1'", type: 'tree', data: tree(link('gitmod~1')), ours: /symbolic link named \.gitmodules/ },
  { what: "symlinked 'gi7eba~9'", type: 'tree', data: tree(link('gi7eba~9')), ours: /symbolic link named \.gitmodules/ },
  // Trees: modes, ids, order, structure.
  { what: 'zero-padded mode 040000', type: 'tree', data: tree(entry('040000', 'd', T)), ours: /zero-padded mode 040000/ },
  { what: 'legacy mode 100664', type: 'tree', data: tree(entry('100664', 'f')), ours: null },
  { what: 'regular file mode 100600', type: 'tree', data: tree(entry('100600', 'f')), ours: null },
  { what: 'unknown type in mode 110644', type: 'tree', data: tree(entry('110644', 'f')), ours: /bad mode 110644/, gitAccepts: true },
  { what: 'mode 40755', type: 'tree', data: tree(entry('40755', 'd', T)), ours: /bad mode 40755/, gitAccepts: true },
  { what: 'malformed mode', type: 'tree', data: tree(entry('10064x', 'f')), ours: /malformed mode/ },
  { what: 'null id', type: 'tree', data: tree(entry('100644', 'f', '0'.repeat(40))), ours: /points to the null object id/ },
  { what: 'unsorted', type: 'tree', data: tree(file('b'), file('a')), ours: /not sorted: 'b' comes before 'a'/ },
  { what: "directory 'a' before 'a.b'", type: 'tree', data: tree(dir('a'), file('a.b')), ours: /not sorted/ },
  { what: 'duplicate files', type: 'tree', data: tree(file('a'), file('a')), ours: /two entries named 'a'/ },
  { what: 'file and directory of one name', type: 'tree', data: tree(file('a'), dir('a')), ours: /two entries named 'a'/ },
  { what: 'file and directory of one name, apart', type: 'tree', data: tree(file('a'), file('a.b'), dir('a')), ours: /two entries named 'a'/ },
  { what: 'truncated entry', type: 'tree', data: tree(file('a')).subarray(0, 20), ours: /truncated/ },
  // Commits.
  { what: 'commit', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 -0100\n\nm\n`), ours: null },
  { what: 'commit with empty author name and no message', type: 'commit', data: Buffer.from(`tree ${T}\nauthor  <a@b> 1 +0000\ncommitter C <c@d>  2 +0000\n`), ours: null },
  { what: 'commit with a bad author line', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A<a@b> 1 +0000\ncommitter C <c@d> 2 +0000\n\nm\n`), ours: /bad commit author line \(missing space before email\)/ },
  { what: 'commit with a zero-padded date', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 01 +0000\ncommitter C <c@d> 2 +0000\n\nm\n`), ours: /zero-padded date/ },
  { what: 'commit with a bad time zone', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 +00\n\nm\n`), ours: /bad time zone/ },
  { what: 'commit without committer', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\n\nm\n`), ours: /missing 'committer'/ },
  { what: 'commit with parent after author', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\nparent ${T}\ncommitter C <c@d> 2 +0000\n\nm\n`), ours: /missing 'committer'/ },
  { what: 'commit with NUL in the message', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 +0000\n\nm\0\n`), ours: /NUL byte in the message/ },
  { what: 'commit with an unterminated header', type: 'commit', data: Buffer.from(`tree ${T}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 +0000`), ours: /unterminated header/ },
  // Tags.
  { what: 'tag', type: 'tag', data: Buffer.from(`object ${T}\ntype tree\ntag v1\ntagger A <a@b> 1 +0000\n\nm\n`), ours: null },
  { what: 'tag without tagger', type: 'tag', data: Buffer.from(`object ${T}\ntype tree\ntag v1\n\nm\n`), ours: null },
  { what: 'tag with a bad type', type: 'tag', data: Buffer.from(`object ${T}\ntype tre\ntag v1\n\nm\n`), ours: /bad object type 'tre'/ },
  { what: 'tag with a bad tagger', type: 'tag', data: Buffer.from(`object ${T}\ntype tree\ntag v1\ntagger A <a@b>\n\nm\n`), ours: /bad tag tagger line/ },
  { what: 'tag without tag line', type: 'tag', data: Buffer.from(`object ${T}\ntype tree\n\nm\n`), ours: /missing 'tag' header/ },
];

describe('fsckObject', () => {
  after(removeTempDirs);

  it('decides every case as expected, with a GitFormatError saying why', () => {
    for (const c of cases) {
      if (c.ours === null) assert.doesNotThrow(() => fsckObject(c.type, c.data), c.what);
      else assert.throws(() => fsckObject(c.type, c.data), (e: unknown) => e instanceof GitFormatError && c.ours!.test(e.message), c.what);
    }
  });

  it('lets every blob through', () => {
    assert.doesNotThrow(() => fsckObject('blob', Buffer.from('tree nonsense\0\0')));
  });

  describe('agrees with git index-pack --strict', () => {
    let repo: string;
    before(() => {
      repo = path.join(tempDir(), 'oracle.git');
      git(tempDir(), ['init', '-q', '--bare', repo]);
      // The objects the cases refer to, so git's link checks pass.
      assert.equal(git(repo, ['hash-object', '-w', '--stdin'], BLOB).toString().trim(), B);
      assert.equal(git(repo, ['hash-object', '-w', '-t', 'tree', '--stdin'], Buffer.alloc(0)).toString().trim(), T);
    });

    it('on every case (except the documented stricter modes)', async () => {
      const disagreements: string[] = [];
      for (const c of cases) {
        const chunks: Buffer[] = [];
        const w = new PackWriter((chunk) => void chunks.push(chunk));
        await w.begin(1);
        await w.writeWhole(TYPE_CODE[c.type], c.data);
        await w.finish();
        const p = path.join(tempDir(), 'case.pack');
        fs.writeFileSync(p, Buffer.concat(chunks));
        const r = gitStatus(repo, ['index-pack', '--strict', '-o', `${p}.idx`, p]);
        let oursOk = true;
        try {
          fsckObject(c.type, c.data);
        } catch {
          oursOk = false;
        }
        const expected = c.gitAccepts ?? oursOk;
        if (r.ok !== expected) disagreements.push(`${c.what}: git ${r.ok ? 'accepts' : 'refuses'}, packhub ${oursOk ? 'accepts' : 'refuses'}`);
        // Refused by fsck, not for some other reason (such as a missing linked object).
        else if (!r.ok && !/fsck error in packed object|fatal: invalid tag/.test(r.stderr)) disagreements.push(`${c.what}: git says ${r.stderr}`);
      }
      assert.deepEqual(disagreements, []);
    });
  });
});
