import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidRefName, refNameProblem } from './refname.js';

describe('ref names', () => {
  it('accepts ordinary branch, tag and PR refs', () => {
    for (const n of ['refs/heads/main', 'refs/heads/feature/x-1', 'refs/tags/v1.0', 'refs/pr/1', 'refs/heads/a-b', 'refs/heads/HEADS', 'refs/heads/x/HEAD']) {
      assert.equal(isValidRefName(n), true, n);
    }
  });

  it("refuses git's funny ref names", () => {
    for (const n of ['HEAD', 'main', 'refs/heads/a..b', 'refs/heads/x.lock', 'refs/heads/.h', 'refs/heads/a b', 'refs/heads/a~1', 'refs/heads/', 'refs/heads/x@{1}']) {
      assert.equal(refNameProblem(n), 'funny refname', n);
    }
  });

  it("refuses refs/heads/HEAD, refs/tags/HEAD and components starting with '-'", () => {
    for (const n of ['refs/heads/HEAD', 'refs/tags/HEAD', 'refs/heads/-x', 'refs/tags/-v1', 'refs/heads/a/-b', 'refs/-heads/x']) {
      assert.equal(isValidRefName(n), false, n);
      assert.match(refNameProblem(n)!, /^funny refname \(/, n);
    }
  });
});
