import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitResult, localRefs, objectCount, packHeader, remoteRefs, tmpDir } from './helpers/git.js';
import { buildRichRepo, RICH } from './helpers/repo-builder.js';
import { backends, serverLogOnFailure, startHub, withServerLog, type Hub } from './helpers/server.js';

// Acceptance 1 (push a rich repository, clone it back with v0 and v2) and 2 (incremental fetch).

/** Every file of two work trees (outside .git) has the same kind, mode bits, target or bytes. */
function assertSameWorkTree(actual: string, expected: string): void {
  const walk = (root: string, rel = ''): string[] =>
    fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
      const p = path.posix.join(rel, e.name);
      if (p === '.git') return [];
      return e.isDirectory() ? walk(root, p) : [p];
    });
  const files = walk(expected).sort();
  assert.deepEqual(walk(actual).sort(), files, 'the same file list');
  for (const f of files) {
    const [a, b] = [path.join(actual, f), path.join(expected, f)];
    const [sa, sb] = [fs.lstatSync(a), fs.lstatSync(b)];
    assert.equal(sa.isSymbolicLink(), sb.isSymbolicLink(), `${f}: symlink or not`);
    if (sb.isSymbolicLink()) {
      assert.equal(fs.readlinkSync(a), fs.readlinkSync(b), `${f}: symlink target`);
      continue;
    }
    assert.equal(sa.mode & 0o111 ? 'executable' : 'plain', sb.mode & 0o111 ? 'executable' : 'plain', `${f}: executable bit`);
    assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${f}: identical bytes`);
  }
}

for (const backend of backends()) {
  describe(`git push and clone round trip (${backend})`, () => {
    let hub: Hub | undefined;
    let src: string;
    let alice: { name: string; token: string; readToken: string };

    before(() =>
      withServerLog(
        () => hub,
        async () => {
          hub = await startHub({ backend });
          alice = await hub.user('alice');
          await hub.repo('alice/rich');
          src = await buildRichRepo();
        },
      ),
    );
    afterEach((t) => serverLogOnFailure(t, hub));
    after(() => hub?.stop());

    it('pushes a repository with history, branches, tags, binaries, empty file, symlink and executable into an empty hub repo', async () => {
      const url = `${hub!.authUrl(alice)}/alice/rich.git`;
      assert.equal((await remoteRefs(url)).size, 0, 'the hub repository starts empty');
      await git(['push', '--quiet', url, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'], { cwd: src });
      assert.deepEqual(Object.fromEntries(await remoteRefs(url)), Object.fromEntries(await localRefs(src)), 'every branch and tag equals the source');
      const ls = await git(['ls-remote', url]);
      const fork = (await git(['rev-parse', `${RICH.annotatedTag}^{commit}`], { cwd: src })).trim();
      assert.ok(ls.includes(`${fork}\trefs/tags/${RICH.annotatedTag}^{}\n`), `the annotated tag is advertised with its peeled value:\n${ls}`);
    });

    for (const version of [0, 2] as const) {
      it(`clones it back with protocol v${version}: fsck clean, every ref equal, HEAD on main, work tree identical`, async () => {
        const mirror = path.join(tmpDir(`clone-v${version}`), 'c');
        await git(['clone', '--quiet', '--mirror', `${hub!.url}/alice/rich.git`, mirror], { protocol: version });
        await git(['fsck', '--full', '--strict'], { cwd: mirror });
        assert.deepEqual(Object.fromEntries(await localRefs(mirror)), Object.fromEntries(await localRefs(src)), 'every ref equals the source');
        assert.equal((await git(['symbolic-ref', 'HEAD'], { cwd: mirror })).trim(), 'refs/heads/main');
        assert.equal(await objectCount(mirror), await objectCount(src), 'exactly the objects of the source, no more');

        const work = path.join(tmpDir(`work-v${version}`), 'w');
        await git(['clone', '--quiet', `${hub!.url}/alice/rich`, work], { protocol: version }); // without .git
        assert.equal((await git(['rev-parse', 'HEAD'], { cwd: work })).trim(), (await git(['rev-parse', 'main'], { cwd: src })).trim());
        assert.equal((await git(['rev-list', '--count', 'HEAD'], { cwd: work })).trim(), String(RICH.mainCommits));
        assertSameWorkTree(work, src);
        assert.equal(fs.readlinkSync(path.join(work, 'link-to-readme')), 'README.md');
        assert.ok(fs.statSync(path.join(work, 'bin/run.sh')).mode & 0o100, 'run.sh is executable');
        assert.equal(fs.statSync(path.join(work, 'empty.txt')).size, 0);
      });
    }

    it('a full clone of a repository held in one pack streams the stored pack verbatim, every time', async () => {
      await hub!.repo('alice/onepack');
      const url = `${hub!.authUrl(alice)}/alice/onepack.git`;
      await git(['push', '--quiet', url, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'], { cwd: src });
      for (const version of [2, 2, 0] as const) {
        const dir = path.join(tmpDir('onepack'), 'c');
        const r = await gitResult(['clone', '--progress', '--mirror', `${hub!.url}/alice/onepack.git`, dir], { protocol: version });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /Sending the stored pack|Total \d+ \(reused by packhub\)/);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
        assert.deepEqual(Object.fromEntries(await localRefs(dir)), Object.fromEntries(await localRefs(src)));
      }
      // The second and later clones take the stored pack without walking the history.
      const again = await gitResult(['clone', '--progress', '--bare', `${hub!.url}/alice/onepack.git`, path.join(tmpDir('onepack2'), 'c')]);
      assert.match(again.stderr, /remote: Sending the stored pack: \d+ objects/);
    });

    it('incremental fetch (v2 and v0) after more pushes transfers only the new objects', async () => {
      const clones: [0 | 2, string][] = [];
      for (const version of [2, 0] as const) {
        const dir = path.join(tmpDir(`incr-v${version}`), 'c');
        await git(['clone', '--quiet', '--bare', `${hub!.url}/alice/rich.git`, dir], { protocol: version });
        clones.push([version, dir]);
      }
      // Three new commits, each adding one file, and an annotated tag on the last:
      // 3 commits + 3 trees + 3 blobs + 1 tag = 10 new objects.
      const work = path.join(tmpDir('incr-work'), 'w');
      await git(['clone', '--quiet', `${hub!.authUrl(alice)}/alice/rich.git`, work]);
      for (let i = 0; i < 3; i++) {
        fs.writeFileSync(path.join(work, `new-${i}.txt`), `new file ${i}\n`);
        await git(['add', '.'], { cwd: work });
        await git(['commit', '--quiet', '-m', `new ${i}`], { cwd: work });
      }
      await git(['tag', '-a', 'v2.0', '-m', 'version 2.0'], { cwd: work });
      await git(['push', '--quiet', 'origin', 'main', 'v2.0'], { cwd: work });
      const head = (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();

      for (const [version, dir] of clones) {
        const start = await objectCount(dir);
        const trace = path.join(tmpDir(`incr-trace-v${version}`), 'pack');
        const packets = path.join(path.dirname(trace), 'packets');
        await git(['fetch', '--quiet', 'origin', 'main:main'], { cwd: dir, protocol: version, env: { GIT_TRACE_PACKFILE: trace, GIT_TRACE_PACKET: packets } });
        if (version === 2) {
          // The client's tip is a common have that every want reaches: the hub says 'ready' and sends
          // the pack in the same answer, so the client never has to send 'done'.
          const lines = fs.readFileSync(packets, 'utf8');
          assert.match(lines, /fetch< ready\n/, 'the hub ends the negotiation with ready');
          assert.doesNotMatch(lines, /fetch> done\n/, 'no second round');
        }
        const sent = packHeader(fs.readFileSync(trace));
        assert.equal(sent.objects, 10, `v${version}: the pack the hub sent has ${sent.objects} objects, expected exactly the 10 new ones`);
        assert.ok(sent.bytes < 16 * 1024, `v${version}: the pack is small (${sent.bytes} bytes)`);
        assert.equal((await objectCount(dir)) - start, 10, `v${version}: the clone gained exactly 10 objects`);
        assert.equal((await git(['rev-parse', 'main'], { cwd: dir })).trim(), head);
        assert.equal((await git(['rev-parse', 'refs/tags/v2.0^{commit}'], { cwd: dir })).trim(), head, `v${version}: the annotated tag followed its commit`);
        await git(['fsck', '--full', '--strict'], { cwd: dir });
      }
    });
  });
}
