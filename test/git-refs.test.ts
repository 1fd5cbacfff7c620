import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitResult, remoteRefs, tmpDir } from './helpers/git.js';
import { backends, startHub, type Hub } from './helpers/server.js';

async function commitFile(dir: string, name: string, content: string, msg = `edit ${name}`) {
  fs.writeFileSync(path.join(dir, name), content);
  await git(['add', name], { cwd: dir });
  await git(['commit', '--quiet', '-m', msg], { cwd: dir });
  return (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
}

for (const backend of backends()) {
  describe(`ref updates (${backend})`, () => {
    let hub: Hub;
    let authUrl: string;
    let work: string;

    before(async () => {
      hub = await startHub({ backend });
      const alice = await hub.user('alice');
      await hub.repo('alice/refs');
      authUrl = `${hub.authUrl(alice)}/alice/refs.git`;
      work = path.join(tmpDir('refs'), 'w');
      await git(['init', '--quiet', '-b', 'main', work]);
      await commitFile(work, 'a.txt', 'one\n');
      await commitFile(work, 'a.txt', 'two\n');
      await git(['remote', 'add', 'origin', authUrl], { cwd: work });
      await git(['push', '--quiet', 'origin', 'main'], { cwd: work });
    });
    after(async () => {
      await hub?.stop();
    });

    it('force push rewrites a branch', async () => {
      await git(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
      const rewritten = await commitFile(work, 'b.txt', 'other\n');
      const plain = await gitResult(['push', 'origin', 'main'], { cwd: work });
      assert.notEqual(plain.code, 0, 'a non-fast-forward push without --force is refused');
      await git(['push', '--quiet', '--force', 'origin', 'main'], { cwd: work });
      assert.equal((await remoteRefs(authUrl)).get('refs/heads/main'), rewritten);
    });

    it('creates and deletes a branch', async () => {
      await git(['push', '--quiet', 'origin', 'main:refs/heads/topic'], { cwd: work });
      assert.ok((await remoteRefs(authUrl)).has('refs/heads/topic'));
      await git(['push', '--quiet', 'origin', '--delete', 'topic'], { cwd: work });
      assert.ok(!(await remoteRefs(authUrl)).has('refs/heads/topic'));
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
  });
}
