import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { hashObject } from '../objects/hash.js';
import { OFS_DELTA, REF_DELTA, TYPE_CODE, type ObjectType } from '../objects/types.js';
import { encodeEntryHeader, encodeOfsOffset } from './entry-header.js';
import { PackIndex } from './idx.js';
import { indexPack, type IndexPackOptions } from './index-pack.js';
import { PackFile } from './pack-file.js';
import { PackWriter } from './pack-writer.js';
import { allObjects, buildHistoryRepo, copyToTemp, git, removeTempDirs, showIndex, tempDir, verifyPack, type FixtureRepo } from './test-fixtures.js';

const isFormatError = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof GitFormatError, `expected a GitFormatError, got ${String(e)}`);
  assert.match(e.message, re);
  return true;
};

/** A pack written by PackWriter into memory. */
async function writePack(count: number, write: (w: PackWriter) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new PackWriter((c) => {
    chunks.push(c);
  });
  await w.begin(count);
  await write(w);
  await w.finish();
  return Buffer.concat(chunks);
}

/** A pack from raw entry bytes (anything, valid or not) with a correct header and trailer. */
function rawPack(count: number, ...entries: Buffer[]): Buffer {
  const header = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  header.writeUInt32BE(count, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, crypto.createHash('sha1').update(body).digest()]);
}

/** A delta that builds `result` from inserts only (any base of `baseSize` bytes). */
function insertDelta(baseSize: number, result: Buffer): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n >= 128 ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    return out;
  };
  const ops: number[] = [...varint(baseSize), ...varint(result.length)];
  for (let i = 0; i < result.length; i += 127) {
    const part = result.subarray(i, i + 127);
    ops.push(part.length, ...part);
  }
  return Buffer.from(ops);
}

async function indexBytes(bytes: Buffer, opts: IndexPackOptions = {}) {
  const p = path.join(tempDir(), 'test.pack');
  fs.writeFileSync(p, bytes);
  return indexPack(p, opts);
}

describe('indexPack against git index-pack', () => {
  let repo: FixtureRepo;
  let big: FixtureRepo;

  before(() => {
    repo = buildHistoryRepo();
    big = buildHistoryRepo({ bigFile: true, commits: 30 });
  });
  after(removeTempDirs);

  for (const which of ['small', 'big'] as const) {
    it(`indexes git's pack (${which}) exactly as git does: same idx bytes, ids, offsets, CRCs, types, sizes`, async () => {
      const r = which === 'small' ? repo : big;
      const gitIdx = fs.readFileSync(r.idxPath);
      const pack = fs.readFileSync(r.packPath);
      const seen = new Map<string, ObjectType>();
      const result = await indexPack(copyToTemp(r.packPath), { fsck: true, onObject: (oid, type) => seen.set(oid, type) });
      assert.ok(result.idx.equals(gitIdx), 'idx bytes equal');
      assert.equal(result.checksum, pack.subarray(pack.length - 20).toString('hex'));
      assert.equal(result.appendedBases, 0);
      const lines = new Map(verifyPack(r.idxPath).map((l) => [l.oid, l]));
      const crcs = new Map(showIndex(gitIdx).map((s) => [s.oid, s.crc]));
      assert.equal(result.objects.length, lines.size);
      for (const o of result.objects) {
        const l = lines.get(o.oid)!;
        assert.deepEqual([o.type, o.offset, o.size, o.crc], [l.type, l.offset, l.size, crcs.get(o.oid)], o.oid);
        assert.equal(seen.get(o.oid), o.type);
      }
      assert.equal(seen.size, result.objects.length, 'onObject saw every object once');
    });
  }

  it("indexes a pack of REF_DELTAs (git pack-objects without --delta-base-offset) as git does", async () => {
    const dir = tempDir();
    const name = git(repo.dir, ['pack-objects', '-q', path.join(dir, 'ref')], git(repo.dir, ['rev-list', '--objects', '--all'])).toString().trim();
    const packPath = path.join(dir, `ref-${name}.pack`);
    const result = await indexPack(copyToTemp(packPath), { fsck: true });
    assert.ok(result.idx.equals(fs.readFileSync(path.join(dir, `ref-${name}.idx`))));
  });

  it('indexes an empty pack (what a push creating refs to existing objects sends) as git does, read-only', async (t) => {
    const p = path.join(tempDir(), 'empty.pack');
    fs.writeFileSync(p, await writePack(0, async () => {}));
    const open = t.mock.method(fs, 'openSync');
    const result = await indexPack(p, { fsck: true });
    assert.deepEqual(open.mock.calls.map((c) => c.arguments[1]), ['r'], 'opened for reading only');
    open.mock.restore();
    assert.deepEqual(result.objects, []);
    git(repo.dir, ['index-pack', '-o', `${p}.idx`, p]);
    assert.ok(result.idx.equals(fs.readFileSync(`${p}.idx`)));
  });

  describe('thin packs', () => {
    let thinPath: string;
    let thinCount: number;
    let full: PackFile;
    const lookups: string[] = [];
    const lookupExternal = (oid: string) => {
      lookups.push(oid);
      const off = full.index.find(oid);
      return off < 0 ? null : full.readObject(off);
    };

    before(async () => {
      full = await PackFile.open(repo.packPath, PackIndex.fromBuffer(fs.readFileSync(repo.idxPath)));
      const thin = git(repo.dir, ['pack-objects', '--thin', '--stdout', '--revs', '--delta-base-offset', '-q'], 'main\n^main~12\n');
      thinPath = path.join(tempDir(), 'thin.pack');
      fs.writeFileSync(thinPath, thin);
      thinCount = thin.readUInt32BE(8);
    });
    after(() => full.close());

    it('refuses a thin pack when the bases are not available, leaving the file as it was', async () => {
      const copy = copyToTemp(thinPath);
      await assert.rejects(indexPack(copy), isFormatError(/^delta base [0-9a-f]{40} not found/));
      await assert.rejects(indexPack(copy, { lookupExternal: () => null }), isFormatError(/^delta base [0-9a-f]{40} not found/));
      // Some bases found and appended, then one missing: the appended bytes are taken back.
      let n = 0;
      await assert.rejects(
        indexPack(copy, { lookupExternal: (oid) => (n++ === 0 ? lookupExternal(oid) : null) }),
        isFormatError(/^delta base [0-9a-f]{40} not found/),
      );
      assert.ok(n >= 2, 'the pack needs several bases');
      assert.ok(fs.readFileSync(copy).equals(fs.readFileSync(thinPath)), 'file unchanged');
    });

    it('completes a thin pack: git index-pack --strict and verify-pack accept it, with the same idx', async () => {
      const copy = copyToTemp(thinPath);
      lookups.length = 0;
      const result = await indexPack(copy, { lookupExternal, fsck: true });
      assert.ok(result.appendedBases > 0);
      assert.deepEqual(new Set(result.externalRefs), new Set(lookups));
      assert.equal(result.objects.length, thinCount + result.appendedBases);
      const completed = fs.readFileSync(copy);
      assert.equal(completed.readUInt32BE(8), result.objects.length);
      assert.equal(completed.subarray(completed.length - 20).toString('hex'), result.checksum);
      // git's own indexer agrees on every byte of the idx, in --strict mode.
      const gitIdx = path.join(tempDir(), 'git.idx');
      git(repo.dir, ['index-pack', '--strict', '-o', gitIdx, copy]);
      assert.ok(result.idx.equals(fs.readFileSync(gitIdx)), 'idx equals git index-pack output');
      fs.writeFileSync(copy.replace(/\.pack$/, '.idx'), result.idx);
      git(repo.dir, ['verify-pack', copy.replace(/\.pack$/, '.idx')]);
      // Every object reads back as git has it.
      const pf = await PackFile.open(copy, PackIndex.fromBuffer(result.idx));
      try {
        const objects = new Map(allObjects(repo.dir).map((o) => [o.oid, o]));
        for (const o of result.objects) {
          const got = pf.readObject(o.offset);
          assert.equal(got.type, objects.get(o.oid)!.type);
          assert.ok(got.data.equals(objects.get(o.oid)!.data));
        }
      } finally {
        pf.close();
      }
    });

    it('completes a thin pack of REF_DELTAs only', async () => {
      const thin = git(repo.dir, ['pack-objects', '--thin', '--stdout', '--revs', '-q'], 'main\n^main~20\n');
      const p = path.join(tempDir(), 'thin-ref.pack');
      fs.writeFileSync(p, thin);
      const result = await indexPack(p, { lookupExternal, fsck: true });
      assert.ok(result.appendedBases > 0);
      const gitIdx = path.join(tempDir(), 'git.idx');
      git(repo.dir, ['index-pack', '--strict', '-o', gitIdx, p]);
      assert.ok(result.idx.equals(fs.readFileSync(gitIdx)));
    });
  });

  describe('damaged packs', () => {
    let pack: Buffer;
    before(() => {
      pack = fs.readFileSync(repo.packPath);
    });

    it('refuses truncated packs, wherever they are cut', async () => {
      await assert.rejects(indexBytes(Buffer.alloc(0)), isFormatError(/^pack missing: the file is empty/));
      const cuts = [4, 12, 31, 32, 100, 1000, Math.floor(pack.length / 3), Math.floor(pack.length / 2), pack.length - 100, pack.length - 21, pack.length - 20, pack.length - 1];
      for (const cut of cuts) {
        await assert.rejects(indexBytes(pack.subarray(0, cut)), isFormatError(/^pack truncated at offset \d+/), `cut at ${cut}`);
      }
    });

    it('refuses a corrupt zlib stream, naming the object', async () => {
      // The 200 kB binary is random data: zlib stores it, so a flipped byte only breaks the checksum.
      const target = verifyPack(repo.idxPath)
        .filter((l) => l.type === 'blob' && !l.baseOid)
        .sort((a, b) => b.size - a.size)[0]!;
      assert.ok(target.size >= 200_000);
      const bad = Buffer.from(pack);
      bad[target.offset + Math.floor(target.sizeInPack / 2)] ^= 0x55;
      await assert.rejects(indexBytes(bad), isFormatError(new RegExp(`^zlib stream corrupt in object at offset ${target.offset}: incorrect data check`)));
    });

    it('streams a blob over 1 MiB (never held whole) and still refuses it cut, corrupt or lying about its size', async () => {
      // Compressible, so the stream spans many inflate steps of output for each step of input.
      const data = Buffer.from(Array.from({ length: 3 << 18 }, (_, i) => `line ${i % 977}\n`).join('')).subarray(0, 3 << 20);
      const tail = Buffer.from('after the big one\n');
      const good = await writePack(2, async (w) => {
        await w.writeWhole(3, data);
        await w.writeWhole(3, tail);
      });
      const seen: [string, Buffer | null][] = [];
      const r = await indexBytes(good, { onObject: (oid, _type, d) => void seen.push([oid, d]) });
      assert.deepEqual(r.objects.map((o) => o.oid), [hashObject('blob', data), hashObject('blob', tail)]);
      assert.deepEqual(seen.map(([, d]) => d && d.toString()), [null, tail.toString()], 'the large blob is not handed out');
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'git.pack'), good);
      git(dir, ['index-pack', '-o', 'git.idx', 'git.pack']);
      assert.ok(r.idx.equals(fs.readFileSync(path.join(dir, 'git.idx'))), 'the same idx as git index-pack');
      const entryEnd = good.length - 20 - (tail.length + 10); // roughly where the big stream ends
      for (const cut of [40, 1000, 70_000, Math.floor(entryEnd / 2), entryEnd - 5]) {
        await assert.rejects(indexBytes(good.subarray(0, cut)), isFormatError(/^pack truncated at offset 12/), `cut at ${cut}`);
      }
      const bad = Buffer.from(good);
      bad[Math.floor(entryEnd / 2)] ^= 0x55;
      const body = bad.subarray(0, bad.length - 20);
      crypto.createHash('sha1').update(body).digest().copy(bad, bad.length - 20);
      // A flipped byte breaks the stream, or changes what it inflates to.
      await assert.rejects(indexBytes(bad), isFormatError(/^(zlib stream corrupt in object at offset 12|object at offset 12 inflates to)/));
      const deflated = zlib.deflateSync(data);
      await assert.rejects(indexBytes(await writePack(1, (w) => w.writeRaw(3, data.length - 1, deflated))), isFormatError(/^object at offset 12 inflates to more than the/));
      await assert.rejects(indexBytes(await writePack(1, (w) => w.writeRaw(3, data.length + 1, deflated))), isFormatError(/^object at offset 12 inflates to 3145728 bytes, its header says 3145729/));
    });

    it('refuses a wrong trailer, garbage after it, other files and other versions', async () => {
      const badSum = Buffer.from(pack);
      badSum[badSum.length - 1] ^= 1;
      await assert.rejects(indexBytes(badSum), isFormatError(/^pack checksum mismatch/));
      await assert.rejects(indexBytes(Buffer.concat([pack, Buffer.from('garbage')])), isFormatError(/^pack has 7 bytes of garbage after its last object/));
      await assert.rejects(indexBytes(Buffer.from('NOPE'.repeat(20))), isFormatError(/^not a pack/));
      const v4 = Buffer.from(pack);
      v4.writeUInt32BE(4, 4);
      await assert.rejects(indexBytes(v4), isFormatError(/^unsupported pack version 4/));
      await assert.rejects(indexBytes(pack, { maxObjects: 10 }), isFormatError(/more than the limit of 10/));
    });

    it('refuses entries that lie: sizes, types, delta bases', async () => {
      const blob = Buffer.from('hello world\n');
      const deflated = zlib.deflateSync(blob);
      await assert.rejects(
        indexBytes(await writePack(1, (w) => w.writeRaw(3, blob.length - 3, deflated))),
        isFormatError(/^object at offset 12 inflates to more than the 9 bytes its header says/),
      );
      await assert.rejects(
        indexBytes(await writePack(1, (w) => w.writeRaw(3, blob.length + 1, deflated))),
        isFormatError(/^object at offset 12 inflates to 12 bytes, its header says 13/),
      );
      await assert.rejects(indexBytes(rawPack(1, Buffer.from([0x50 | blob.length - 4, 0]), deflated)), isFormatError(/^invalid object type 5 at offset 12/));
      // OFS_DELTA to an offset inside the first entry, and to before the pack.
      const first = Buffer.concat([encodeEntryHeader(3, blob.length), deflated]);
      const d = insertDelta(blob.length, Buffer.from('x'));
      for (const base of [13, 11, -5]) {
        const at = 12 + first.length;
        const entry = Buffer.concat([encodeEntryHeader(OFS_DELTA, d.length), encodeOfsOffset(at - base), zlib.deflateSync(d)]);
        await assert.rejects(indexBytes(rawPack(2, first, entry)), isFormatError(new RegExp(`^delta at offset ${at} names a base at offset ${base}, which is not an entry of this pack`)));
      }
      // A delta whose declared base size is not its base's.
      await assert.rejects(
        indexBytes(
          await writePack(2, async (w) => {
            await w.writeWhole(3, blob);
            const d = insertDelta(blob.length + 1, Buffer.from('x'));
            await w.writeRaw(OFS_DELTA, d.length, zlib.deflateSync(d), { ofsDistance: w.position - 12 });
          }),
        ),
        isFormatError(/^delta at offset \d+: delta base size mismatch/),
      );
      // The same object twice.
      await assert.rejects(
        indexBytes(await writePack(2, async (w) => (await w.writeWhole(3, blob), w.writeWhole(3, blob)))),
        isFormatError(new RegExp(`^pack contains object ${hashObject('blob', blob)} twice`)),
      );
    });
  });

  describe('fsck', () => {
    const blob = Buffer.from('content\n');
    const blobOid = hashObject('blob', blob);
    const badTree = Buffer.concat([Buffer.from('100644 ..\0'), Buffer.from(blobOid, 'hex')]);
    const goodCommit = Buffer.from(`tree ${hashObject('tree', badTree)}\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 +0000\n\nmsg\n`);
    const badCommit = Buffer.from(goodCommit.toString().replace('author A <a@b>', 'author A<a@b>'));

    it("refuses a tree with '..' when fsck is on, and only then", async () => {
      const bytes = await writePack(2, async (w) => (await w.writeWhole(3, blob), w.writeWhole(2, badTree)));
      await assert.rejects(indexBytes(bytes, { fsck: true }), isFormatError(/^tree [0-9a-f]{40} at offset \d+: tree entry name '\.\.' is not allowed/));
      assert.equal((await indexBytes(bytes)).objects.length, 2);
    });

    it('checks objects that come out of deltas', async () => {
      const bytes = await writePack(2, async (w) => {
        await w.writeWhole(TYPE_CODE.commit, goodCommit);
        const d = insertDelta(goodCommit.length, badCommit);
        await w.writeRaw(OFS_DELTA, d.length, zlib.deflateSync(d), { ofsDistance: w.position - 12 });
      });
      await assert.rejects(indexBytes(bytes, { fsck: true }), isFormatError(/^commit [0-9a-f]{40} at offset \d+: bad commit author line \(missing space before email\)/));
      const ok = await indexBytes(bytes);
      assert.deepEqual(
        ok.objects.map((o) => o.oid),
        [hashObject('commit', goodCommit), hashObject('commit', badCommit)],
      );
    });

    it('resolves a REF_DELTA whose base comes later in the pack', async () => {
      const d = insertDelta(goodCommit.length, badCommit);
      const bytes = await writePack(2, async (w) => {
        await w.writeRaw(REF_DELTA, d.length, zlib.deflateSync(d), { oid: Buffer.from(hashObject('commit', goodCommit), 'hex') });
        await w.writeWhole(TYPE_CODE.commit, goodCommit);
      });
      const r = await indexBytes(bytes);
      assert.deepEqual(
        r.objects.map((o) => o.oid),
        [hashObject('commit', badCommit), hashObject('commit', goodCommit)],
      );
      // git agrees (without --strict: the commits name a tree that is not there).
      const p = path.join(tempDir(), 'later-base.pack');
      fs.writeFileSync(p, bytes);
      git(repo.dir, ['index-pack', '-o', `${p}.idx`, p]);
      assert.ok(r.idx.equals(fs.readFileSync(`${p}.idx`)));
    });
  });
});
