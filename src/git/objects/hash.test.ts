import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { git, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { hashObject, objectHeader } from './hash.js';

describe('hashObject', () => {
  after(removeTempDirs);

  it('builds the "<type> <size>\\0" header', () => {
    assert.equal(objectHeader('blob', 12).toString('latin1'), 'blob 12\0');
    assert.equal(objectHeader('tree', 0).toString('latin1'), 'tree 0\0');
  });

  it('gives the ids git gives', () => {
    assert.equal(hashObject('blob', Buffer.alloc(0)), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    assert.equal(hashObject('tree', Buffer.alloc(0)), '4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    const dir = tempDir();
    const samples: [string, Buffer][] = [
      ['blob', Buffer.from('hello\n')],
      ['blob', Buffer.from([0, 1, 2, 255, 254])],
      ['commit', Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nm\n')],
      ['tag', Buffer.from('object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype tree\ntag t\ntagger A <a@b> 1 +0000\n\nm\n')],
    ];
    for (const [type, data] of samples) {
      const expected = git(dir, ['hash-object', '--stdin', '-t', type], data).toString().trim();
      assert.equal(hashObject(type as 'blob', data), expected, type);
    }
  });
});
