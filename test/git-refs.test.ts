import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitEnv, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';
import { parseReport, postReceivePack, receivePackRequest, ZERO } from './helpers/wire.js';

// Acceptance 4 (force push, branch and tag create/delete, atomic push) and 6 (concurrent pushes).

async function commitFile(dir: string, name: string, content: string, msg = `edit ${name}`) {
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', msg], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

/** A pack with the objects of `revs` (`^x` excludes), made by git itself. */
function packOf(dir: string, revs: string[]): Buffer {
  const r = spawnSync('git', ['pack-objects', '--stdout', '--revs'], { cwd: dir, env: gitEnv, input: `${revs.join('\n')}\n` });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

for (const backend of backends()) {
  describe(`ref updates (${backend})`, () => {
    let hub: Hub | undefined;
    let alice: { name: string; token: string };
    let authUrl: string;
    let work: string;

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          await hub.repo('alice/refs');
          authUrl = `${hub.authUrl(alice)}/alice/refs.git`;
          work = path.join(tmpDir('refs'), 'w');
          await git(['init', '--quiet', '-b', 'main', work]);
          await commitFile(work, 'a.txt', 'one\n');
          await commitFile(work, 'a.txt', 'two\n');
          await git(['remote', 'add', 'origin', authUrl], { cwd: work });
          await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('force push rewrites a branch', async () => {
      await git(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
      const rewritten = await commitFile(work, 'b.txt', 'other\n');
      const old = (await remoteRefs(authUrl)).get('refs/heads/main');
      const plain = await gitResult(['push', 'origin', 'main'], { cwd: work });
      assert.notEqual(plain.code, 0, 'a non-fast-forward push without --force is refused');
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), old, 'and changes nothing');
      const forced = await gitResult(['push', '--force', 'origin', 'main'], { cwd: work });
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stderr, /\+ [0-9a-f]+\.\.\.[0-9a-f]+ main -> main \(forced update\)/);
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), rewritten);
      const check = path.join(tmpDir('forced'), 'c');
      await git(['clone', '--quiet', '--bare', authUrl, check]);
      assert.equal((await git(['rev-parse', 'main'], { cwd: check })).trim(), rewritten);
      await git(['fsck', '--full', '--strict'], { cwd: check });
    });

    it('creates and deletes a branch', async () => {
      const head = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
      await git(['push', '--quiet', 'origin', 'main:refs/heads/topic'], { cwd: work });
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/topic'), head);
      await git(['push', '--quiet', 'origin', '--delete', 'topic'], { cwd: work });
      const after = await remoteRefs(authUrl);
      assert.ok(!after.has('refs/heads/topic'), 'topic is gone');
      assert.equal(after.get('refs/heads/main'), head, 'main is untouched');
      const again = await gitResult(['push', 'origin', '--delete', 'topic'], { cwd: work });
      assert.notEqual(again.code, 0, 'deleting a branch that does not exist fails');
    });

    it('pushes and deletes annotated and lightweight tags, with peeled values', async () => {
      await git(['tag', '-a', 'v1', '-m', 'release 1'], { cwd: work });
      await git(['tag', 'light'], { cwd: work });
      await git(['push', '--quiet', 'origin', 'v1', 'light'], { cwd: work });
      const ls = await git(['ls-remote', authUrl]);
      const head = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
      assert.match(ls, new RegExp(`${head}\\trefs/tags/v1\\^\\{\\}`));
      assert.match(ls, new RegExp(`${head}\\trefs/tags/light`));
      await git(['push', '--quiet', 'origin', '--delete', 'v1', 'light'], { cwd: work });
      const after = await remoteRefs(authUrl);
      assert.ok(!after.has('refs/tags/v1') && !after.has('refs/tags/light'));
    });

    it('push --atomic with one ref rejected changes no ref', async () => {
      const before = await remoteRefs(authUrl);
      const next = await commitFile(work, 'c.txt', 'atomic\n');
      // refs/heads/main/sub cannot exist beside refs/heads/main: the server rejects it.
      const r = await gitResult(['push', '--atomic', 'origin', 'main', 'HEAD:refs/heads/main/sub', 'HEAD:refs/heads/fresh'], { cwd: work });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /main\/sub/);
      assert.match(r.stderr, /atomic/);
      assert.deepEqual(Object.fromEntries(await remoteRefs(authUrl)), Object.fromEntries(before), 'no ref moved');
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), next);
    });

    it('two concurrent pushes to one branch: exactly one wins, the other is told, nothing is lost', async () => {
      const clones: string[] = [];
      for (const n of [1, 2]) {
        const dir = path.join(tmpDir(`race${n}`), 'c');
        await git(['clone', '--quiet', authUrl, dir]);
        await commitFile(dir, `race-${n}.txt`, `racer ${n}\n`);
        clones.push(dir);
      }
      const results = await Promise.all(clones.map((dir) => gitResult(['push', 'origin', 'main'], { cwd: dir })));
      const winners = results.filter((r) => r.code === 0);
      assert.equal(winners.length, 1, `exactly one push wins: ${results.map((r) => r.stderr).join('\n---\n')}`);
      const loserIndex = results.findIndex((r) => r.code !== 0);
      assert.match(results[loserIndex]!.stderr, /rejected|failed to update ref|fetch first/);
      const winnerDir = clones[1 - loserIndex]!;
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), (await git(['rev-parse', 'HEAD'], { cwd: winnerDir })).trim());
      // The loser integrates and pushes: both commits end up on main.
      const loserDir = clones[loserIndex]!;
      await git(['pull', '--quiet', '--rebase', 'origin', 'main'], { cwd: loserDir });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: loserDir });
      const check = path.join(tmpDir('race-check'), 'c');
      await git(['clone', '--quiet', authUrl, check]);
      assert.ok(fs.existsSync(path.join(check, 'race-1.txt')) && fs.existsSync(path.join(check, 'race-2.txt')));
      await git(['fsck', '--full', '--strict'], { cwd: check });
    });

    it('concurrent pushes with the same old value, on the wire: exactly one ref update wins, the others are told', async () => {
      const base = (await remoteRefs(authUrl)).get('refs/heads/main')!;
      const racers = 5;
      const commits: { oid: string; pack: Buffer }[] = [];
      const dir = path.join(tmpDir('wire-race'), 'c');
      await git(['clone', '--quiet', authUrl, dir]);
      for (let i = 0; i < racers; i++) {
        await git(['checkout', '--quiet', '-B', `r${i}`, base], { cwd: dir });
        const oid = await commitFile(dir, `wire-${i}.txt`, `racer ${i}\n`);
        commits.push({ oid, pack: packOf(dir, [oid, `^${base}`]) });
      }
      const repoUrl = `${hub!.url}/alice/refs.git`;
      const results = await Promise.all(
        commits.map(async (c) => {
          const res = await postReceivePack(repoUrl, receivePackRequest([{ old: base, new: c.oid, ref: 'refs/heads/main' }], c.pack), alice);
          assert.equal(res.status, 200);
          return parseReport(res.body).lines;
        }),
      );
      for (const lines of results) assert.equal(lines[0], 'unpack ok', JSON.stringify(lines));
      const winners = results.map((l, i) => (l[1] === 'ok refs/heads/main' ? i : -1)).filter((i) => i >= 0);
      assert.equal(winners.length, 1, `exactly one of ${racers} wins: ${JSON.stringify(results)}`);
      for (const lines of results) if (lines[1] !== 'ok refs/heads/main') assert.match(lines[1]!, /^ng refs\/heads\/main \S/, 'the others get a reason');
      const winner = commits[winners[0]!]!.oid;
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), winner);
      // The losers' packs were accepted but their commits are on no ref; a later push of one works.
      const loser = commits.find((c) => c.oid !== winner)!;
      const retry = await postReceivePack(repoUrl, receivePackRequest([{ old: ZERO, new: loser.oid, ref: 'refs/heads/loser' }], loser.pack), alice);
      assert.deepEqual(parseReport(retry.body).lines, ['unpack ok', 'ok refs/heads/loser']);
      const check = path.join(tmpDir('wire-race-check'), 'c');
      await git(['clone', '--quiet', '--mirror', authUrl, check]);
      assert.equal((await git(['rev-parse', 'main'], { cwd: check })).trim(), winner);
      assert.equal((await git(['rev-parse', 'loser'], { cwd: check })).trim(), loser.oid);
      await git(['fsck', '--full', '--strict'], { cwd: check });
    });

    it('an atomic push whose second command has a stale old value changes no ref; without atomic the first goes through', async () => {
      const refs = await remoteRefs(authUrl);
      const main = refs.get('refs/heads/main')!;
      const dir = path.join(tmpDir('atomic-wire'), 'c');
      await git(['clone', '--quiet', authUrl, dir]);
      const next = await commitFile(dir, 'atomic-wire.txt', 'atomic\n');
      const pack = packOf(dir, [next, `^${main}`]);
      const stale = (await git(['rev-parse', 'HEAD~1'], { cwd: dir })).trim();
      const commands = [
        { old: main, new: next, ref: 'refs/heads/main' },
        { old: stale, new: next, ref: 'refs/heads/loser' }, // loser is not at HEAD~1: the CAS fails
      ];
      const repoUrl = `${hub!.url}/alice/refs.git`;
      const atomic = await postReceivePack(repoUrl, receivePackRequest(commands, pack, 'report-status side-band-64k atomic'), alice);
      const lines = parseReport(atomic.body).lines;
      assert.equal(lines[0], 'unpack ok');
      assert.match(lines[1]!, /^ng refs\/heads\/main \S/, `main is refused with the rest: ${JSON.stringify(lines)}`);
      assert.match(lines[2]!, /^ng refs\/heads\/loser \S/);
      assert.deepEqual(Object.fromEntries(await remoteRefs(authUrl)), Object.fromEntries(refs), 'no ref changed');

      const plain = await postReceivePack(repoUrl, receivePackRequest(commands, pack), alice);
      const plainLines = parseReport(plain.body).lines;
      assert.deepEqual(plainLines.slice(0, 2), ['unpack ok', 'ok refs/heads/main'], JSON.stringify(plainLines));
      assert.match(plainLines[2]!, /^ng refs\/heads\/loser \S/);
      const now = await remoteRefs(authUrl);
      assert.equal(now.get('refs/heads/main'), next);
      assert.equal(now.get('refs/heads/loser'), refs.get('refs/heads/loser'));
    });
  });
}
