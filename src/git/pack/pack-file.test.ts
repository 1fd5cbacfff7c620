import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { OFS_DELTA, REF_DELTA } from '../objects/types.js';
import { PackIndex } from './idx.js';
import { PackFile, readAheadStats } from './pack-file.js';
import { allObjects, buildHistoryRepo, git, removeTempDirs, tempDir, verifyPack, type FixtureRepo, type GitObject } from './test-fixtures.js';

describe('PackFile against git cat-file and verify-pack', () => {
  let repo: FixtureRepo;
  let objects: GitObject[];
  let pf: PackFile;
  let idx: PackIndex;

  before(async () => {
    repo = buildHistoryRepo({ bigFile: true });
    objects = allObjects(repo.dir);
    idx = PackIndex.fromBuffer(fs.readFileSync(repo.idxPath));
    pf = await PackFile.open(repo.packPath, idx);
  });
  after(() => {
    pf.close();
    removeTempDirs();
  });

  it('reads every object, its type and its size exactly as git cat-file does', () => {
    assert.equal(objects.length, idx.count);
    for (const o of objects) {
      const off = idx.find(o.oid);
      const got = pf.readObject(off);
      assert.equal(got.type, o.type, o.oid);
      assert.ok(got.data.equals(o.data), `content of ${o.oid}`);
      assert.equal(pf.objectType(off), o.type);
      assert.equal(pf.objectSize(off), o.data.length);
    }
    // A second read (bases now cached) gives the same bytes.
    for (const o of objects.slice(0, 100)) assert.ok(pf.readObject(idx.find(o.oid)).data.equals(o.data));
  });

  it('keeps the delta bases it caches in buffers of their own, not in slices of the shared allocation pool', () => {
    const byOid = new Map(objects.map((o) => [o.oid, o]));
    const deltas = verifyPack(repo.idxPath).filter((l) => l.baseOid && byOid.get(l.baseOid)!.data.length < 4096);
    assert.ok(deltas.length > 0, 'the fixture has deltas on small bases');
    for (const d of deltas) {
      pf.readObject(idx.find(d.oid)); // resolves the chain: the bases are cached
      const base = pf.readObject(idx.find(d.baseOid!)); // from the cache
      assert.ok(base.data.equals(byOid.get(d.baseOid!)!.data), d.baseOid);
      // A pool slice would keep its whole 8 KiB slab (and the other objects' bytes in it) alive.
      assert.equal(base.data.buffer.byteLength, base.data.length, `cached base ${d.baseOid} owns its bytes`);
    }
  });

  it('objectHead gives the type, size and first bytes of every object (deltas too), and no bytes of objects of maxSize or more', () => {
    const deltas = new Set(verifyPack(repo.idxPath).filter((l) => l.baseOid).map((l) => l.oid));
    let sniffedDeltas = 0;
    // In id order (all over the pack) and in pack order (read ahead: see readNear).
    const inPackOrder = [...objects].sort((a, b) => idx.find(a.oid) - idx.find(b.oid));
    for (const o of [...objects, ...inPackOrder]) {
      const off = idx.find(o.oid);
      for (const [want, maxSize] of [[8, 1024], [0, 1024], [64, 1 << 20], [8, 1]] as const) {
        const got = pf.objectHead(off, want, maxSize);
        assert.equal(got.type, o.type, o.oid);
        assert.equal(got.size, o.data.length, o.oid);
        if (o.data.length >= maxSize) assert.equal(got.head, null, o.oid);
        else assert.ok(got.head?.equals(o.data.subarray(0, want)), `first ${want} bytes of ${o.oid}`);
      }
      if (deltas.has(o.oid) && o.data.length < 1 << 20) sniffedDeltas++;
    }
    assert.ok(sniffedDeltas > 0, 'the fixture has small deltas');
  });

  it('objectUpTo gives the size of every object and the object itself under maxSize (whole objects in one read, deltas too)', () => {
    const deltas = new Set(verifyPack(repo.idxPath).filter((l) => l.baseOid).map((l) => l.oid));
    const seen = { whole: 0, delta: 0, over: 0 };
    for (const o of objects) {
      for (const maxSize of [1, 1024, 1 << 20, 64 << 20]) {
        const got = pf.objectUpTo(idx.find(o.oid), maxSize);
        assert.equal(got.size, o.data.length, o.oid);
        if (o.data.length >= maxSize) {
          assert.equal(got.object, null, o.oid);
          seen.over++;
          continue;
        }
        assert.equal(got.object?.type, o.type, o.oid);
        assert.ok(got.object.data.equals(o.data), `content of ${o.oid}`);
        seen[deltas.has(o.oid) ? 'delta' : 'whole']++;
      }
    }
    assert.ok(seen.whole > 0 && seen.delta > 0 && seen.over > 0, JSON.stringify(seen));
  });

  it('objectHead of two packs read forward in turns: each reads its own bytes through the one shared window', async () => {
    const other = await PackFile.open(repo.packPath, idx);
    try {
      // The same pack opened twice, walked in pack order from both ends in turns: two runs, one window buffer.
      const inPackOrder = [...objects].sort((a, b) => idx.find(a.oid) - idx.find(b.oid)).filter((o) => o.data.length < 1024);
      const half = inPackOrder.length >> 1;
      for (let i = 0; i < half; i++) {
        for (const [file, o] of [[pf, inPackOrder[i]!], [other, inPackOrder[half + i]!]] as const) {
          const got = file.objectHead(idx.find(o.oid), 16, 1024);
          assert.equal(got.size, o.data.length, o.oid);
          assert.ok(got.head?.equals(o.data.subarray(0, 16)), `first bytes of ${o.oid}`);
        }
      }
    } finally {
      other.close();
    }
  });

  it('read-ahead windows kept between reads stay bounded over many open packs, and what was read stays right', async () => {
    // Forward through the entries before the first large one: each file's reader grows its window
    // up to 1 MiB (and the last one reaches into the large entry).
    const sorted = [...objects].map((o) => idx.find(o.oid)).sort((a, b) => a - b);
    const firstLarge = sorted.findIndex((offset) => pf.entryAt(offset).size >= 1 << 20);
    const inPackOrder = sorted.slice(0, firstLarge < 0 ? sorted.length : firstLarge);
    assert.ok(inPackOrder.length >= 30, `${inPackOrder.length} entries before the first large one`);
    const expected = inPackOrder.map((offset) => Buffer.from(pf.rawEntry(offset).compressed));
    const before = readAheadStats();
    const files = await Promise.all(Array.from({ length: 40 }, () => PackFile.open(repo.packPath, idx)));
    try {
      const kept: Buffer[] = [];
      for (const file of files) {
        inPackOrder.forEach((offset, i) => {
          const got = file.rawEntry(offset).compressed;
          assert.ok(got.equals(expected[i]!), `entry at ${offset}`);
          if (i === 3) kept.push(got);
        });
      }
      const during = readAheadStats();
      assert.ok(during.windows >= 2, `windows kept: ${during.windows}`);
      assert.ok(during.bytes <= 16 << 20, `${during.bytes} bytes of windows kept over ${files.length} packs (${during.windows} windows)`);
      // A slice handed out before its window was dropped still holds the bytes it was given.
      for (const k of kept) assert.ok(k.equals(expected[3]!));
    } finally {
      for (const f of files) f.close();
    }
    assert.ok(readAheadStats().bytes <= before.bytes, 'closed packs keep no window');
  });

  it('reads the 30 MiB file and its 30 MiB delta', () => {
    const big = objects.filter((o) => o.data.length === 30 << 20);
    assert.equal(big.length, 2);
    const lines = verifyPack(repo.idxPath);
    assert.ok(big.some((o) => lines.find((l) => l.oid === o.oid)!.baseOid), 'one version is stored as a delta');
    for (const o of big) {
      assert.ok(pf.readObject(idx.find(o.oid)).data.equals(o.data));
      assert.equal(pf.objectSize(idx.find(o.oid)), 30 << 20);
    }
  });

  it('describes entries as git verify-pack does (type, size, stored length, delta base)', () => {
    const lines = verifyPack(repo.idxPath);
    assert.equal(lines.length, idx.count);
    assert.ok(lines.filter((l) => l.baseOid).length > 100, 'the fixture has deltas');
    assert.ok(Math.max(...lines.map((l) => l.depth ?? 0)) >= 10, 'and delta chains');
    for (const l of lines) {
      const e = pf.entryAt(l.offset);
      assert.equal(e.size, l.size, l.oid);
      const raw = pf.rawEntry(l.offset);
      assert.equal(raw.end - l.offset, l.sizeInPack, `stored length of ${l.oid}`);
      assert.equal(raw.end, raw.dataOffset + raw.compressed.length);
      assert.equal(zlib.inflateSync(raw.compressed).length, l.size);
      if (l.baseOid) {
        assert.equal(e.typeCode, OFS_DELTA);
        assert.equal(idx.oidAt(idx.position(l.baseOid)).toString('hex'), l.baseOid);
        assert.equal(e.baseOffset, idx.find(l.baseOid));
      } else {
        assert.equal(e.baseOffset, undefined);
      }
    }
    // In pack order the reads go through a read-ahead window; backwards, one read per entry: the
    // same bytes either way, and slices handed out earlier stay intact.
    const offsets = lines.map((l) => l.offset).sort((a, b) => a - b);
    const forward = offsets.map((o) => pf.rawEntry(o));
    const backward = offsets.toReversed().map((o) => pf.rawEntry(o)).reverse();
    for (const [i, f] of forward.entries()) {
      assert.ok(f.compressed.equals(backward[i]!.compressed), `entry at ${offsets[i]}`);
      assert.equal(f.end, backward[i]!.end);
    }
  });

  it('resolves REF_DELTA chains through the index', async () => {
    // Without --delta-base-offset, pack-objects writes REF_DELTAs.
    const dir = tempDir();
    const list = git(repo.dir, ['rev-list', '--objects', '--all']);
    const name = git(repo.dir, ['pack-objects', '-q', '--depth=20', path.join(dir, 'ref')], list).toString().trim();
    const refIdx = PackIndex.fromBuffer(fs.readFileSync(path.join(dir, `ref-${name}.idx`)));
    const ref = await PackFile.open(path.join(dir, `ref-${name}.pack`), refIdx);
    try {
      let refDeltas = 0;
      for (const o of objects) {
        const off = refIdx.find(o.oid);
        if (ref.entryAt(off).typeCode === REF_DELTA) refDeltas++;
        const got = ref.readObject(off);
        assert.equal(got.type, o.type);
        assert.ok(got.data.equals(o.data), o.oid);
        assert.equal(ref.objectSize(off), o.data.length);
        assert.equal(ref.objectType(off), o.type);
      }
      assert.ok(refDeltas > 100, `${refDeltas} REF_DELTAs`);
    } finally {
      ref.close();
    }
  });

  it('refuses a pack that does not match its index, and bad offsets', async () => {
    const other = buildHistoryRepo({ commits: 10 });
    await assert.rejects(PackFile.open(other.packPath, idx), (e: unknown) => e instanceof GitFormatError && /objects, its index|does not match its index/.test(e.message));
    assert.throws(() => pf.entryAt(3), (e: unknown) => e instanceof GitFormatError && /offset 3 is outside the entries/.test(e.message));
    assert.throws(() => pf.entryAt(pf.size - 10), GitFormatError);
    assert.throws(() => pf.objectUpTo(3, 1024), (e: unknown) => e instanceof GitFormatError && /offset 3 is outside the entries/.test(e.message));
  });

  it('objectUpTo refuses a whole object whose stream is damaged instead of giving other bytes', async () => {
    const lines = verifyPack(repo.idxPath).filter((l) => !l.baseOid && l.size > 200 && l.size < 4096);
    assert.ok(lines.length > 0, 'the fixture has small whole objects');
    const victim = lines[0]!;
    const off = idx.find(victim.oid);
    const bytes = fs.readFileSync(repo.packPath);
    const info = pf.entryAt(off);
    for (const [name, damage] of [
      ['flipped', (b: Buffer) => (b[info.dataOffset + 20] ^= 0xff)],
      // Everything after the zlib header zeroed (a stored block whose lengths disagree).
      ['zeroed', (b: Buffer) => b.fill(0, info.dataOffset + 2, off + victim.sizeInPack)],
    ] as const) {
      const copy = Buffer.from(bytes);
      damage(copy);
      const file = path.join(tempDir(), `${name}.pack`);
      fs.writeFileSync(file, copy);
      const damaged = await PackFile.open(file, idx);
      try {
        assert.throws(() => damaged.objectUpTo(off, 1 << 20), GitFormatError, name);
      } finally {
        damaged.close();
      }
    }
  });
});
