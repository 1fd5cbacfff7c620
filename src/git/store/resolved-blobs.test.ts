import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OFS_DELTA, REF_DELTA } from '../objects/types.js';
import { PackIndex } from '../pack/idx.js';
import { PackFile } from '../pack/pack-file.js';
import { git, pseudoRandomBytes, removeTempDirs, tempDir } from '../pack/test-fixtures.js';
import { ResolvedBlobs } from './resolved-blobs.js';

describe('ResolvedBlobs: large blobs stored as deltas, resolved into files and streamed', () => {
  let repo: string;
  let pack: PackFile;
  const versions: { oid: string; data: Buffer }[] = [];

  before(async () => {
    repo = tempDir();
    git(repo, ['init', '--quiet', '-b', 'main']);
    const data = pseudoRandomBytes(3 << 20, 7);
    for (let v = 0; v < 4; v++) {
      data.write(`version ${v} `.repeat(20), (v + 1) * 500_000);
      fs.writeFileSync(path.join(repo, 'model.bin'), data);
      git(repo, ['add', '.']);
      git(repo, ['commit', '--quiet', '-m', `v${v}`]);
      versions.push({ oid: git(repo, ['rev-parse', 'HEAD:model.bin']).toString().trim(), data: Buffer.from(data) });
    }
    git(repo, ['repack', '-adf', '--depth=10', '--window=10']);
    const dir = path.join(repo, '.git/objects/pack');
    const idx = fs.readdirSync(dir).find((f) => f.endsWith('.idx'))!;
    pack = await PackFile.open(path.join(dir, idx.replace(/\.idx$/, '.pack')), PackIndex.fromBuffer(fs.readFileSync(path.join(dir, idx))));
  });
  after(() => {
    pack?.close();
    removeTempDirs();
  });

  const read = async (s: { stream: () => NodeJS.ReadableStream }) => {
    const parts: Buffer[] = [];
    for await (const c of s.stream()) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };

  it('resolves every delta of a chain to the blob git stored, and keeps within its budget', async () => {
    const cache = new ResolvedBlobs(path.join(tempDir(), 'blobs'), (3 << 20) + 1000);
    const deltas = versions.filter((v) => {
      const t = pack.entryAt(pack.index.find(v.oid)).typeCode;
      return t === OFS_DELTA || t === REF_DELTA;
    });
    assert.ok(deltas.length >= 2, `git stored ${deltas.length} of the versions as deltas`);
    for (const v of deltas) {
      const s = await cache.stream(v.oid, pack, pack.index.find(v.oid));
      assert.equal(s.size, v.data.length);
      assert.ok((await read(s)).equals(v.data), `version ${v.oid}`);
    }
    // The budget holds one: the last resolved is kept, the ones before are gone; asked again, resolved again.
    const files = fs.readdirSync(path.join((cache as unknown as { dir: string }).dir));
    assert.deepEqual(files, [deltas.at(-1)!.oid]);
    const again = await cache.stream(deltas[0]!.oid, pack, pack.index.find(deltas[0]!.oid));
    assert.ok((await read(again)).equals(deltas[0]!.data));
  });
});
