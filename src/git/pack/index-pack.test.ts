import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { GitFormatError } from '../../core/errors.js';
import { PackIndex } from './idx.js';
import { indexPack } from './index-pack.js';
import { PackFile } from './pack-file.js';
import { PackWriter } from './pack-writer.js';

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir(), GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@t' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, maxBuffer: 1 << 28 });

describe('index-pack, pack reading and writing against C git', () => {
  let repo: string;
  let packPath: string;
  let gitIdx: Buffer;

  before(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-pack-'));
    git(repo, 'init', '-q', '-b', 'main');
    for (let i = 0; i < 80; i++) {
      fs.writeFileSync(path.join(repo, `f${i % 9}.txt`), Array.from({ length: 200 + i * 7 }, (_, j) => `line ${j} of ${i}`).join('\n'));
      fs.writeFileSync(path.join(repo, 'common.txt'), `${'shared text\n'.repeat(300)}${i}\n`);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', `c${i}`);
    }
    git(repo, 'tag', '-a', 'v1', '-m', 'tag');
    git(repo, 'repack', '-adfq', '--depth=50');
    const dir = path.join(repo, '.git/objects/pack');
    const name = fs.readdirSync(dir).find((f) => f.endsWith('.pack'))!;
    packPath = path.join(os.tmpdir(), `packhub-copy-${process.pid}.pack`);
    fs.copyFileSync(path.join(dir, name), packPath);
    gitIdx = fs.readFileSync(path.join(dir, name.replace('.pack', '.idx')));
  });

  it('indexes a deltified pack byte-identically to git index-pack', async () => {
    const r = await indexPack(packPath, { fsck: true });
    assert.ok(r.objects.length > 300);
    assert.ok(r.idx.equals(gitIdx), 'idx bytes equal git');
  });

  it('reads every object, type and size exactly as git cat-file does', async () => {
    const idx = PackIndex.fromBuffer(gitIdx);
    const pf = await PackFile.open(packPath, idx);
    const batch = git(repo, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)').toString().trim().split('\n');
    for (const line of batch) {
      const [oid, type, size] = line.split(' ');
      const off = idx.find(oid!);
      assert.ok(off >= 0, `${oid} in the index`);
      const o = pf.readObject(off);
      assert.equal(o.type, type);
      assert.equal(o.data.length, Number(size));
      assert.equal(pf.objectSize(off), Number(size));
      assert.equal(pf.objectType(off), type);
    }
    const head = git(repo, 'rev-parse', 'HEAD:f3.txt').toString().trim();
    assert.ok(pf.readObject(idx.find(head)).data.equals(git(repo, 'cat-file', 'blob', head)));
    pf.close();
  });

  it('writes packs (whole and verbatim copies with ofs deltas) that git index-pack --strict accepts', async () => {
    const idx = PackIndex.fromBuffer(gitIdx);
    const src = await PackFile.open(packPath, idx);
    const chunks: Buffer[] = [];
    const w = new PackWriter((c) => {
      chunks.push(c);
    });
    // Copy every entry in pack order: deltas keep their base offsets relative to the new positions.
    const order = Array.from({ length: idx.count }, (_, i) => idx.offsetAt(i)).sort((a, b) => a - b);
    const newPos = new Map<number, number>();
    await w.begin(order.length);
    for (const off of order) {
      const raw = src.rawEntry(off);
      newPos.set(off, w.position);
      if (raw.baseOffset !== undefined) await w.writeRaw(6, raw.size, raw.compressed, { ofsDistance: w.position - newPos.get(raw.baseOffset)! });
      else if (raw.baseOid) await w.writeRaw(7, raw.size, raw.compressed, { oid: Buffer.from(raw.baseOid, 'hex') });
      else await w.writeRaw(raw.typeCode, raw.size, raw.compressed);
    }
    await w.finish();
    const out = path.join(os.tmpdir(), `packhub-written-${process.pid}.pack`);
    fs.writeFileSync(out, Buffer.concat(chunks));
    execFileSync('git', ['index-pack', '--strict', '-o', `${out}.idx`, out], { cwd: repo, env });
    src.close();
  });

  it('refuses truncated, corrupt and checksum-damaged packs with a GitFormatError', async () => {
    const pack = fs.readFileSync(packPath);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated', pack.subarray(0, Math.floor(pack.length / 3)), /truncated/],
      ['bad trailer', Buffer.concat([pack.subarray(0, pack.length - 1), Buffer.from([pack[pack.length - 1]! ^ 1])]), /checksum mismatch/],
      ['trailing garbage', Buffer.concat([pack, Buffer.from('garbage')]), /garbage/],
      ['not a pack', Buffer.from('NOPE'.repeat(20)), /not a pack/],
    ];
    for (const [what, bytes, re] of cases) {
      const p = path.join(os.tmpdir(), `packhub-bad-${process.pid}.pack`);
      fs.writeFileSync(p, bytes);
      await assert.rejects(indexPack(p), (e: Error) => e instanceof GitFormatError && re.test(e.message), what);
    }
  });
});
