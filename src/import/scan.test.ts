import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { AppError } from '../core/errors.js';
import { discoverRepos, resolveImportDir } from './scan.js';

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-scan-')));
after(() => fs.rmSync(base, { recursive: true, force: true }));
const put = (p: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(base, p)), { recursive: true });
  fs.writeFileSync(path.join(base, p), data);
};
const code = (fn: () => Promise<unknown>) => fn().then(() => 'ok', (e: unknown) => (e instanceof AppError ? e.code : String(e)));

test('the folder must lie inside an allowed root after realpath; no roots: import is off', async () => {
  put('roots/allowed/a/b/config.json');
  put('roots/allowed-not/x');
  fs.symlinkSync(path.join(base, 'roots/allowed-not'), path.join(base, 'roots/allowed/escape'));
  const roots = [path.join(base, 'roots/allowed')];
  assert.equal(await resolveImportDir(path.join(base, 'roots/allowed/a'), roots), path.join(base, 'roots/allowed/a'));
  assert.equal(await resolveImportDir(path.join(base, 'roots/allowed/a/../a'), roots), path.join(base, 'roots/allowed/a'));
  assert.equal(await code(() => resolveImportDir(path.join(base, 'roots/allowed-not'), roots)), 'ImportDirRefused', 'a name sharing the prefix is not inside');
  assert.equal(await code(() => resolveImportDir(path.join(base, 'roots/allowed/escape'), roots)), 'ImportDirRefused', 'a symlink out of the root');
  assert.equal(await code(() => resolveImportDir(path.join(base, 'roots/allowed/a'), [])), 'ImportDisabled');
  assert.equal(await code(() => resolveImportDir('roots/allowed/a', roots)), 'BadImportDir');
  assert.equal(await code(() => resolveImportDir(path.join(base, 'roots/allowed/none'), roots)), 'BadImportDir');
  assert.equal(await code(() => resolveImportDir(path.join(base, 'roots/allowed/a/b/config.json'), roots)), 'BadImportDir');
});

test('layouts: vendor/name folders with model files, cache folders by refs/main or their one snapshot', async () => {
  const root = path.join(base, 'layouts');
  put('layouts/acme/bert/config.json', '{}');
  put('layouts/acme/bert/sub/deep.txt');
  put('layouts/acme/bert/.git/HEAD', 'ref: refs/heads/main\n');
  put('layouts/acme/notes/todo.txt'); // no model file: not a repository
  put('layouts/acme/llama/model.Q4.gguf');
  const sha = 'a'.repeat(40);
  put(`layouts/cache/models--org--name--with--dashes/blobs/b1`, 'blob');
  fs.mkdirSync(path.join(root, `cache/models--org--name--with--dashes/snapshots/${sha}`), { recursive: true });
  fs.symlinkSync('../../blobs/b1', path.join(root, `cache/models--org--name--with--dashes/snapshots/${sha}/config.json`));
  put('layouts/cache/models--org--name--with--dashes/refs/main', `${sha}\n`);
  put(`layouts/cache/datasets--org--data/snapshots/${'b'.repeat(40)}/train.csv`, 'a,b\n');
  put(`layouts/cache/models--org--missing/snapshots/${'c'.repeat(40)}/config.json`);
  put('layouts/cache/models--org--missing/refs/main', 'd'.repeat(40));
  fs.mkdirSync(path.join(root, 'linked'));
  fs.symlinkSync(path.join(root, 'acme'), path.join(root, 'linked/acme'));
  const lines: string[] = [];
  const repos = await discoverRepos(root, (l) => lines.push(l));
  const summary = repos.map((r) => ({ id: `${r.type}:${r.namespace}/${r.name}`, files: r.files.map((f) => f.path), cache: r.cache?.commit ?? null }));
  assert.deepEqual(summary, [
    { id: 'model:acme/bert', files: ['config.json', 'sub/deep.txt'], cache: null },
    { id: 'model:acme/llama', files: ['model.Q4.gguf'], cache: null },
    { id: 'dataset:org/data', files: ['train.csv'], cache: 'b'.repeat(40) },
    { id: 'model:org/name--with--dashes', files: ['config.json'], cache: sha },
  ]);
  assert.equal(repos[3]!.files[0]!.real, path.join(root, 'cache/models--org--name--with--dashes/blobs/b1'), 'the symlink is read through, inside the folder');
  assert.ok(lines.some((l) => /models--org--missing: skipped, refs\/main names d{40} but snapshots\/d{40} is not there/.test(l)), lines.join('\n'));
});

test('inside a repository: symlinks out of the folder and to folders are skipped, not followed', async () => {
  const root = path.join(base, 'links');
  put('links/v/m/config.json');
  put('outside-links/secret', 's');
  fs.symlinkSync(path.join(base, 'outside-links/secret'), path.join(root, 'v/m/secret'));
  fs.symlinkSync(path.join(base, 'outside-links'), path.join(root, 'v/m/dir-out'));
  fs.symlinkSync(path.join(root, 'v'), path.join(root, 'v/m/loop'));
  fs.symlinkSync('config.json', path.join(root, 'v/m/alias.json'));
  const [repo] = await discoverRepos(root, () => undefined);
  assert.deepEqual(repo!.files.map((f) => f.path), ['alias.json', 'config.json']);
  assert.deepEqual(repo!.skipped.map((s) => `${s.path}: ${s.reason}`).sort(), [
    'dir-out: symlink out of the imported folder, not followed',
    'loop: symlink to a folder, not followed',
    'secret: symlink out of the imported folder, not followed',
  ]);
});
