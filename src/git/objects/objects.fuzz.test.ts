import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GitFormatError } from '../../core/errors.js';
import { parseCommit, serializeCommit } from './commit.js';
import { fsckObject } from './fsck.js';
import { parseTag, serializeTag } from './tag.js';
import { parseTree, serializeTree, compareTreeEntries } from './tree.js';
import type { ObjectType } from './types.js';

/** PACKHUB_FUZZ_RUNS raises the run count for long fuzzing sessions (scripts/fuzz.sh). */
const RUNS = Number(process.env.PACKHUB_FUZZ_RUNS) || 300;

const formatErrorOnly = (err: unknown) => assert.ok(err instanceof GitFormatError, `expected a GitFormatError, got ${err instanceof Error ? err.stack : String(err)}`);
const oid = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const safeText = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[\0\n<>]/.test(s) && s.trim() === s);
const ident = fc.record({
  name: safeText,
  email: safeText.filter((s) => !/\s/.test(s)),
  timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
  timezone: fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 30, 45)).map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}${String(m).padStart(2, '0')}`),
});

/** Headers and messages a well-formed object may carry, with some hostile bytes in between. */
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.array(fc.constantFrom('tree ', 'parent ', 'author ', 'committer ', 'object ', 'type ', 'tag ', 'tagger ', '\n', ' ', 'commit', 'blob', '<a@b> 1 +0000', '0123456789abcdef0123456789abcdef01234567', '\0', 'gpgsig -----BEGIN'), { maxLength: 40 }).map((a) => Buffer.from(a.join(''))),
);

describe('git objects (fuzz)', () => {
  it('commits and tags parse back to what was serialized', () => {
    fc.assert(
      fc.property(oid, fc.array(oid, { maxLength: 3 }), ident, ident, fc.string({ maxLength: 200 }).filter((s) => !s.includes('\0')), (tree, parents, author, committer, message) => {
        const c = parseCommit(serializeCommit({ tree, parents, author, committer, message }));
        assert.equal(c.tree, tree);
        assert.deepEqual(c.parents, parents);
        assert.equal(c.message, message);
        const t = parseTag(serializeTag({ object: tree, type: 'commit', tag: 'v1', tagger: author, message }));
        assert.equal(t.object, tree);
        assert.equal(t.message, message);
      }),
      { numRuns: RUNS },
    );
  });

  it('trees parse back to what was serialized', () => {
    const entry = fc.record({
      mode: fc.constantFrom('100644', '100755', '120000', '40000', '160000'),
      name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[\0/]/.test(s) && s !== '.' && s !== '..'),
      oid,
    }).map((e) => ({ ...e }));
    fc.assert(
      fc.property(fc.uniqueArray(entry, { maxLength: 30, selector: (e) => e.name }), (entries) => {
        const sorted = [...entries].sort(compareTreeEntries);
        assert.deepEqual(parseTree(serializeTree(sorted)), sorted);
      }),
      { numRuns: RUNS },
    );
  });

  it('any bytes as a commit, tree or tag: parsed and checked, or a GitFormatError', () => {
    fc.assert(
      fc.property(fc.constantFrom<ObjectType>('commit', 'tree', 'tag', 'blob'), hostile, (type, data) => {
        try {
          fsckObject(type, data);
          if (type === 'tree') parseTree(data);
          if (type === 'commit') parseCommit(data);
          if (type === 'tag') parseTag(data);
        } catch (err) {
          formatErrorOnly(err);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });
});
