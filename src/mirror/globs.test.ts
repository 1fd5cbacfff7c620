import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globToRegExp, pathFilter, repoRules } from './globs.js';

test('globs match as the clients’ allow/ignore patterns do', () => {
  assert.ok(globToRegExp('*.safetensors').test('sub/model.safetensors'));
  assert.ok(globToRegExp('unet/').test('unet/diffusion.bin'));
  assert.ok(!globToRegExp('unet/').test('vae/diffusion.bin'));
  assert.ok(globToRegExp('model-0000?.bin').test('model-00001.bin'));
  assert.ok(globToRegExp('[ab].txt').test('a.txt') && !globToRegExp('[!ab].txt').test('a.txt'));
  assert.ok(!globToRegExp('a.b').test('axb'), 'a dot is literal');
  const f = pathFilter(['*.json', 'weights/'], ['*secret*']);
  assert.deepEqual(['config.json', 'weights/a.bin', 'x.bin', 'secret.json'].filter(f), ['config.json', 'weights/a.bin']);
  assert.ok(pathFilter([], [])('anything'));
});

test('repo rules: an allow match and no deny match, case-insensitive', () => {
  const allowed = repoRules(['*'], ['evil-org/*', 'datasets/*']);
  assert.ok(allowed('Wan-AI/Wan2.1'));
  assert.ok(!allowed('Evil-Org/model'));
  assert.ok(!allowed('datasets/ns/data'));
  const only = repoRules(['meta-llama/*'], []);
  assert.ok(only('Meta-Llama/Llama-3') && !only('other/x'));
});
