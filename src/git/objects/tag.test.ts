import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { git, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { parseTag, serializeTag } from './tag.js';

const T = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const isFormatError = (re: RegExp) => (e: unknown) => e instanceof GitFormatError && re.test(e.message);

describe('tag codec', () => {
  after(removeTempDirs);

  it('parses a tag git writes and serializes it back byte for byte', () => {
    const dir = path.join(tempDir(), 'r');
    git(tempDir(), ['init', '-q', dir]);
    const c = git(dir, ['commit-tree', T, '-m', 'c']).toString().trim();
    git(dir, ['tag', '-a', 'v1.0', '-m', 'release\n\nnotes', c]);
    const raw = git(dir, ['cat-file', 'tag', 'v1.0']);
    const t = parseTag(raw);
    assert.equal(t.object, c);
    assert.equal(t.type, 'commit');
    assert.equal(t.tag, 'v1.0');
    assert.equal(t.tagger?.name, 'Packhub Test');
    assert.equal(t.message, 'release\n\nnotes\n');
    assert.ok(serializeTag(t).equals(raw));
  });

  it('accepts tags without a tagger (old git) and with headers after it', () => {
    const t = parseTag(Buffer.from(`object ${T}\ntype tree\ntag old\n\nmsg\n`));
    assert.equal(t.tagger, null);
    assert.ok(serializeTag(t).equals(Buffer.from(`object ${T}\ntype tree\ntag old\n\nmsg\n`)));
    assert.doesNotThrow(() => parseTag(Buffer.from(`object ${T}\ntype tree\ntag t\ntagger A <a@b> 1 +0000\nextra value\n\nm\n`)));
  });

  it('refuses malformed tags', () => {
    const cases: [string, RegExp][] = [
      [`type tree\ntag t\n\n`, /missing 'object' header/],
      [`object ${T.slice(2)}\ntype tree\ntag t\n\n`, /bad object id/],
      [`object ${T}\ntag t\n\n`, /missing 'type' header/],
      [`object ${T}\ntype blub\ntag t\n\n`, /bad object type 'blub'/],
      [`object ${T}\ntype tree\n\n`, /missing 'tag' header/],
      [`object ${T}\ntype tree\ntag t\ntagger A <a@b> +0000\n\n`, /bad tag tagger line \(bad date\)/],
      [`object ${T}\ntype tree\ntag t`, /unterminated header/],
    ];
    for (const [s, re] of cases) assert.throws(() => parseTag(Buffer.from(s)), isFormatError(re), JSON.stringify(s));
    assert.throws(() => serializeTag({ object: T, type: 'tree', tag: 'a\nb', tagger: null, message: '' }), GitFormatError);
  });
});
