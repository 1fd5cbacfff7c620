import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitResult, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Background compaction: many packs (one per push) become one, nothing is lost, full clones then
// stream the stored pack, and replaced packs are deleted after their grace period.

async function commitFile(dir: string, name: string, content: string) {
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', `edit ${name}`], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

/** The `compacted` log lines of the hub, parsed. */
function compactions(hub: Hub): { repoId: string; objects: number; replaced: number; unreachable: number }[] {
  return fs
    .readFileSync(hub.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"compacted"'))
    .map((l) => JSON.parse(l));
}

async function until<T>(what: string, fn: () => T | undefined | null | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const packFiles = (hub: Hub) => {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.pack')) found.push(path.join(dir, e.name));
    }
  };
  walk(path.join(hub.dataDir, 'objects'));
  return found;
};

for (const backend of backends()) {
  describe(`background compaction (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };
    let work: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend, env: { PACKHUB_COMPACT_MIN_PACKS: '3', PACKHUB_COMPACT_DELAY_MS: '3000', PACKHUB_COMPACT_GRACE_MS: '1500' } });
          alice = await hub.user('alice');
          await hub.repo('alice/many');
          work = path.join(tmpDir('compact'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('several pushes become one pack holding every object, reachable or not; clones are complete; old packs go', async () => {
      const remote = `${hub!.authUrl(alice)}/alice/many.git`;
      // Four pushes to main, and a branch pushed then deleted: its commit is reachable from no ref.
      for (let i = 0; i < 4; i++) {
        await commitFile(work, `f${i}.txt`, `file ${i}\n`.repeat(200 + i));
        await git(['push', '--quiet', remote, 'main'], { cwd: work });
      }
      await git(['checkout', '--quiet', '-b', 'gone'], { cwd: work });
      const gone = await commitFile(work, 'secret.txt', 'only on a deleted branch\n');
      await git(['push', '--quiet', remote, 'gone'], { cwd: work });
      await git(['push', '--quiet', remote, '--delete', 'gone'], { cwd: work });
      await git(['checkout', '--quiet', 'main'], { cwd: work });
      const head = (await git(['rev-parse', 'main'], { cwd: work })).trim();

      const [done] = await until('a compaction', () => {
        const c = compactions(hub!);
        return c.length > 0 && c;
      });
      // Every object ever pushed: 4 commits with their trees and blobs on main, 3 more on 'gone'.
      const all = (await git(['rev-list', '--objects', 'main', gone], { cwd: work })).trim().split('\n').length;
      const onMain = (await git(['rev-list', '--objects', 'main'], { cwd: work })).trim().split('\n').length;
      assert.equal(done!.objects, all, 'no object is dropped');
      assert.equal(done!.unreachable, all - onMain, 'the deleted branch is kept, after the reachable objects');
      assert.ok(done!.replaced >= 3);

      // Clones are complete and fsck-clean; the pack holds objects no ref reaches, so it is not
      // streamed as it is (that would send them): the clone is built from it.
      const a = path.join(tmpDir('compact-clone'), 'a');
      const r = await gitResult(['clone', '--progress', `${hub!.url}/alice/many.git`, a]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Sending the stored pack/);
      assert.equal((await git(['rev-parse', 'HEAD'], { cwd: a })).trim(), head);
      await git(['fsck', '--full', '--strict'], { cwd: a });
      if (backend === 'fs') await until('the replaced packs to be deleted', () => packFiles(hub!).length === 1);
    });

    it('a repository whose objects are all reachable is then cloned from the stored pack as it is', async () => {
      await hub!.repo('alice/clean');
      const remote = `${hub!.authUrl(alice)}/alice/clean.git`;
      const w = path.join(tmpDir('compact-clean'), 'w');
      await git(['init', '--quiet', '-b', 'main', w]);
      for (let i = 0; i < 3; i++) {
        await commitFile(w, `g${i}.txt`, `more ${i}\n`.repeat(300));
        await git(['push', '--quiet', remote, 'main'], { cwd: w });
      }
      await git(['tag', '-a', 'v1', '-m', 'release'], { cwd: w });
      await git(['push', '--quiet', remote, 'v1'], { cwd: w });
      const before = compactions(hub!).length;
      await until('a second compaction', () => compactions(hub!).length > before);
      const last = compactions(hub!).at(-1)!;
      assert.equal(last.unreachable, 0);
      for (const name of ['b', 'c']) {
        const dest = path.join(tmpDir('compact-clean-clone'), name);
        const r = await gitResult(['clone', '--progress', '--mirror', `${hub!.url}/alice/clean.git`, dest]);
        assert.equal(r.code, 0, r.stderr);
        await git(['fsck', '--full', '--strict'], { cwd: dest });
        assert.equal((await git(['rev-parse', 'v1^{commit}'], { cwd: dest })).trim(), (await git(['rev-parse', 'main'], { cwd: w })).trim());
        // Proven at compaction (every ref is a branch or a tag and nothing unreachable is kept): the
        // first clone already streams the stored pack, with nothing walked.
        assert.match(r.stderr, /Sending the stored pack/, `clone ${name} streams the compacted pack`);
        assert.doesNotMatch(r.stderr, /Enumerating objects/, `clone ${name} walks nothing`);
      }
      // A clone of one branch wants less than the pack holds: built from the pack, not streamed.
      const one = path.join(tmpDir('compact-clean-clone'), 'one');
      await git(['tag', 'light', 'main~2'], { cwd: w });
      await git(['push', '--quiet', remote, 'light'], { cwd: w });
      const single = await gitResult(['clone', '--progress', '--no-tags', '--single-branch', '--branch', 'light', `${hub!.url}/alice/clean.git`, one]);
      assert.equal(single.code, 0, single.stderr);
      assert.doesNotMatch(single.stderr, /Sending the stored pack/);
      assert.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: one })).trim(), '1');
      // Pushing on top of a compacted repository works as before.
      await commitFile(w, 'after.txt', 'after compaction\n');
      await git(['push', '--quiet', remote, 'main'], { cwd: w });
      const d = path.join(tmpDir('compact-clean-clone'), 'd');
      await git(['clone', '--quiet', `${hub!.url}/alice/clean.git`, d]);
      assert.equal(fs.readFileSync(path.join(d, 'after.txt'), 'utf8'), 'after compaction\n');
    });

    it('the first push into an empty repository is proven to be what a clone needs: the first clone streams it', async () => {
      await hub!.repo('alice/fresh');
      const remote = `${hub!.authUrl(alice)}/alice/fresh.git`;
      const w = path.join(tmpDir('compact-fresh'), 'w');
      await git(['init', '--quiet', '-b', 'main', w]);
      for (let i = 0; i < 3; i++) await commitFile(w, `h${i}.txt`, `fresh ${i}\n`.repeat(100));
      await git(['branch', 'side', 'main~1'], { cwd: w });
      await git(['tag', '-a', 'v0', '-m', 'first', 'main~2'], { cwd: w });
      const proofs = () => fs.readFileSync(hub!.logFile, 'utf8').split('"msg":"a full clone is this pack as it is"').length - 1;
      const before = proofs();
      await git(['push', '--quiet', remote, 'main', 'side', 'v0'], { cwd: w });
      await until('the pushed pack to be proven', () => proofs() > before);
      const dest = path.join(tmpDir('compact-fresh-clone'), 'a');
      const r = await gitResult(['clone', '--progress', `${hub!.url}/alice/fresh.git`, dest]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Sending the stored pack/);
      assert.doesNotMatch(r.stderr, /Enumerating objects/, 'nothing walked');
      await git(['fsck', '--full', '--strict'], { cwd: dest });
      assert.equal((await git(['rev-parse', 'origin/side', 'v0^{commit}'], { cwd: dest })).trim(), (await git(['rev-parse', 'side', 'main~2'], { cwd: w })).trim());
    });

    it('a force push over a repository created with an initial commit is proven too: clones stream the pushed pack; a push on top is not taken for the whole', async () => {
      // POST /api/repos/create makes the initial commit (.gitattributes) in a pack of its own.
      const created = await fetch(`${hub!.url}/api/repos/create`, { method: 'POST', headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'forced' }) });
      assert.equal(created.status, 200, await created.text());
      const remote = `${hub!.authUrl(alice)}/alice/forced.git`;
      const w = path.join(tmpDir('compact-forced'), 'w');
      await git(['init', '--quiet', '-b', 'main', w]);
      for (let i = 0; i < 3; i++) await commitFile(w, `k${i}.txt`, `forced ${i}\n`.repeat(100));
      await git(['tag', '-a', 'v1', '-m', 'one', 'main~1'], { cwd: w });
      const proofs = () => fs.readFileSync(hub!.logFile, 'utf8').split('"msg":"a full clone is this pack as it is"').length - 1;
      const before = proofs();
      await git(['push', '--quiet', '--force', remote, 'main', 'v1'], { cwd: w });
      // Two live packs now (the initial commit's, unreachable, and the pushed one): below the
      // compaction threshold, so the pushed pack is proven where it lies.
      await until('the pushed pack to be proven', () => proofs() > before);
      for (const name of ['a', 'b']) {
        const dest = path.join(tmpDir('compact-forced-clone'), name);
        const r = await gitResult(['clone', '--progress', '--mirror', `${hub!.url}/alice/forced.git`, dest]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Sending the stored pack/);
        assert.doesNotMatch(r.stderr, /Enumerating objects/, 'nothing walked');
        await git(['fsck', '--full', '--strict'], { cwd: dest });
        assert.equal((await git(['rev-parse', 'main', 'v1^{commit}'], { cwd: dest })).trim(), (await git(['rev-parse', 'main', 'main~1'], { cwd: w })).trim());
        assert.equal((await git(['count-objects', '-v'], { cwd: dest })).match(/in-pack: (\d+)/)![1], (await git(['rev-list', '--objects', '--all'], { cwd: w })).trim().split('\n').length.toString(), 'the initial commit is not sent');
      }
      // One more commit: its pack names a parent it does not hold, so it answers no clone alone.
      await commitFile(w, 'k3.txt', 'on top\n');
      await git(['push', '--quiet', remote, 'main'], { cwd: w });
      await new Promise((r) => setTimeout(r, 4000)); // its check (right after the push) has run
      assert.equal(proofs(), before + 1, 'the incremental pack is not proven');
      const dest = path.join(tmpDir('compact-forced-clone'), 'c');
      const r = await gitResult(['clone', '--progress', `${hub!.url}/alice/forced.git`, dest]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Sending the stored pack/);
      await git(['fsck', '--full', '--strict'], { cwd: dest });
      assert.equal(fs.readFileSync(path.join(dest, 'k3.txt'), 'utf8'), 'on top\n');
    });
  });
}
