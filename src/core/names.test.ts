import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from './errors.js';
import { nameKey, RESERVED_NAMES, validateNamespace, validateOrgName, validateRepoName, validateUserName } from './names.js';

describe('names', () => {
  it('accepts the names the Hub accepts', () => {
    for (const name of ['a', 'gpt2', 'bert-base-uncased', 'Llama_3.1-8B', 'x'.repeat(96), 'my_model_', '0day', '__DUMMY_HUB_USER__', '_x']) {
      assert.equal(validateRepoName(name), name);
      assert.equal(validateNamespace(name), name);
      assert.equal(validateUserName(name), name);
    }
  });

  it('rejects unsafe or ambiguous names with an invalid InvalidName error', () => {
    for (const name of ['', '.hidden', '-x', 'a/b', 'a..b', '..', 'a--b', 'repo.git', 'repo.GIT', 'ends.', 'ends-', 'x'.repeat(97), 'sp ace', 'ümlaut', 'a\nb', 'a\0b']) {
      assert.throws(
        () => validateRepoName(name),
        (e: unknown) => e instanceof AppError && e.kind === 'invalid' && e.code === 'InvalidName' && e.message.includes(`invalid repository name '${name}'`),
        JSON.stringify(name),
      );
      assert.throws(() => validateNamespace(name), /invalid namespace/);
      assert.throws(() => validateUserName(name), /invalid user name/);
    }
  });

  it('refuses reserved words as user, organization and namespace names in any letter case; repositories may use them', () => {
    for (const name of ['api', 'ui-api', 'lfs', 'assets', 'models', 'datasets', 'spaces', 'settings', 'new', 'login', 'logout', 'join', 'organizations', 'docs', 'static', 'healthz', 'readyz', 'metrics', 'API', 'Settings', 'LOGIN']) {
      for (const validate of [validateUserName, validateOrgName, validateNamespace]) {
        assert.throws(() => validate(name), (e: unknown) => e instanceof AppError && e.kind === 'invalid' && e.code === 'ReservedName', name);
      }
      assert.equal(validateRepoName(name), name);
    }
    assert.ok(RESERVED_NAMES.has('ui-api'));
    for (const name of ['alice', 'bob', 'acme', '__DUMMY_HUB_USER__', 'apis', 'my-api', 'models2']) assert.equal(validateUserName(name), name);
    assert.equal(nameKey('ACME'), nameKey('acme'));
  });
});
