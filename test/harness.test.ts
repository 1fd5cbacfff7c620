import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { git, gitEnv, gitResult, packHeader, tmpDir } from './helpers/git.js';
import { freshSchema, PG_URL } from './helpers/pg.js';
import { buildRichRepo, RICH } from './helpers/repo-builder.js';
import { startS3 } from './helpers/s3.js';
import { backends, listeningPort } from './helpers/server.js';
import { decodePkts, firstEntryDataOffset, parseReport, pkt, receivePackRequest, splitPkts, withPackTrailer, ZERO } from './helpers/wire.js';

// Self-checks of the test harness: these need no packhub server, so they say whether a failure
// elsewhere is the server's or the harness's.

describe('harness: the rich source repository', () => {
  it('is built by fast-import in well under a second and holds everything acceptance 1 names', async () => {
    const t0 = performance.now();
    const dir = await buildRichRepo();
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `built in ${ms.toFixed(0)} ms (expected well under a second; 3 s allowed for slow machines)`);
    assert.equal(await buildRichRepo(), dir, 'built once per process');

    assert.equal((await git(['rev-list', '--count', 'main'], { cwd: dir })).trim(), String(RICH.mainCommits));
    assert.ok(Number((await git(['rev-list', '--count', '--all'], { cwd: dir })).trim()) >= 200);
    const heads = (await git(['for-each-ref', '--format=%(refname:short)', 'refs/heads'], { cwd: dir })).trim().split('\n').sort();
    assert.deepEqual(heads, [...RICH.branches].sort());
    assert.equal((await git(['cat-file', '-t', RICH.annotatedTag], { cwd: dir })).trim(), 'tag', 'v1.0 is an annotated tag');
    assert.equal((await git(['cat-file', '-t', `refs/tags/${RICH.lightweightTag}`], { cwd: dir })).trim(), 'commit', 'light is a lightweight tag');
    assert.equal((await git(['log', '-1', '--format=%s', `${RICH.annotatedTag}^{commit}`], { cwd: dir })).trim(), RICH.forkCommitMessage);

    const tree = (await git(['ls-tree', '-r', '-l', 'main'], { cwd: dir })).trim().split('\n');
    const entry = (p: string) => tree.find((l) => l.endsWith(`\t${p}`)) ?? assert.fail(`main has no ${p}`);
    assert.match(entry('link-to-readme'), /^120000 blob /, 'a symlink');
    assert.match(entry('bin/run.sh'), /^100755 blob /, 'an executable file');
    assert.match(entry('empty.txt'), /^100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 +0\t/, 'an empty file');
    assert.match(entry('a/b/c/d/deep.txt'), /^100644 blob /, 'nested folders');
    assert.ok(!tree.some((l) => l.endsWith('\ta/b/old.txt')), 'a file deleted in the history');
    const bin = spawnSync('git', ['cat-file', 'blob', 'main:data/blob.bin'], { cwd: dir, env: gitEnv }).stdout;
    assert.equal(bin.length, 200_000);
    assert.ok(bin.includes(0), 'binary content with NUL bytes');
    await git(['fsck', '--full', '--strict'], { cwd: dir });
    assert.equal((await git(['status', '--porcelain'], { cwd: dir })).trim(), '', 'a clean checkout of main');
  });
});

describe('harness: git runs isolated', () => {
  it('sees only its own global config, never a system one, and never prompts', async () => {
    const cwd = tmpDir('no-repo');
    const list = await git(['config', '--list', '--show-origin'], { cwd });
    const origins = new Set(list.trim().split('\n').map((l) => l.split('\t')[0]));
    assert.deepEqual([...origins], [`file:${path.join(gitEnv.HOME!, '.gitconfig')}`]);
    assert.equal((await git(['config', 'user.email'])).trim(), 'test@packhub.invalid');
    assert.equal((await git(['config', 'protocol.version'])).trim(), '2');
    const v0 = await git(['config', 'protocol.version'], { protocol: 0 });
    assert.equal(v0.trim(), '0', 'the protocol option overrides the default');
    // A URL that asks for credentials fails at once instead of waiting for a prompt.
    const r = await gitResult(['ls-remote', 'http://127.0.0.1:9/none.git'], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
  });
});

describe('harness: pkt-line and side-band codec', () => {
  it('encodes pkt-lines as git does', () => {
    assert.equal(pkt('done\n').toString(), '0009done\n');
    assert.equal(pkt('').toString(), '0004');
    assert.throws(() => pkt(Buffer.alloc(65517)), /over 65516/);
  });

  it('decodes the side-band report git http-backend sends for a push', () => {
    // Verified with git 2.39 (reference §1.7): the report inside band 1, then an outer flush.
    const body = Buffer.from('002e\x01000eunpack ok\n0017ok refs/heads/main\n0000' + '0000', 'latin1');
    assert.deepEqual(parseReport(body), { lines: ['unpack ok', 'ok refs/heads/main'], progress: '', fatal: '' });
    const withProgress = Buffer.concat([pkt(Buffer.from('\x02Resolving deltas\n', 'latin1')), pkt(Buffer.from('\x01000eunpack ok\n0000', 'latin1')), Buffer.from('0000')]);
    assert.equal(parseReport(withProgress).progress, 'Resolving deltas\n');
    assert.deepEqual(parseReport(withProgress).lines, ['unpack ok']);
  });

  it('keeps flushes apart and refuses truncated streams', () => {
    const { pkts, rest } = decodePkts(Buffer.from('0008abcd00000001000ahello\n'));
    assert.deepEqual(pkts.map((p) => (p ? p.toString() : null)), ['abcd', null, null, 'hello\n']);
    assert.equal(rest.length, 0);
    assert.throws(() => splitPkts(Buffer.from('0010abc')), /middle of a packet/);
    assert.throws(() => splitPkts(Buffer.from('zzzz')), /bad pkt-line length 'zzzz'/);
  });

  it('builds a receive-pack request with capabilities on the first command only', () => {
    const body = receivePackRequest(
      [
        { old: ZERO, new: 'a'.repeat(40), ref: 'refs/heads/x' },
        { old: 'b'.repeat(40), new: ZERO, ref: 'refs/heads/y' },
      ],
      Buffer.from('PACK'),
    );
    const { pkts, rest } = decodePkts(body);
    assert.equal(pkts[0]!.toString(), `${ZERO} ${'a'.repeat(40)} refs/heads/x\0report-status side-band-64k\n`);
    assert.equal(pkts[1]!.toString(), `${'b'.repeat(40)} ${ZERO} refs/heads/y\n`);
    assert.equal(pkts[2], null);
    assert.equal(rest.toString(), 'PACK');
  });

  it('rewrites pack trailers so edited packs pass the checksum and fail where they were edited', async () => {
    const dir = await buildRichRepo();
    const r = spawnSync('git', ['pack-objects', '--stdout', '--revs'], { cwd: dir, env: gitEnv, input: 'main~1..main\n' });
    const pack = r.stdout;
    assert.ok(packHeader(pack).objects >= 3);
    assert.deepEqual(withPackTrailer(pack), pack, 'an untouched pack keeps its trailer');
    const start = firstEntryDataOffset(pack);
    assert.equal(pack[start], 0x78, 'the first entry data is a zlib stream');
    const bad = Buffer.from(pack);
    for (let i = start + 2; i < start + 10; i++) bad[i] = bad[i]! ^ 0xff;
    const repo = tmpDir('index-pack');
    await git(['init', '-q', '--bare', repo]);
    const check = spawnSync('git', ['index-pack', '--stdin', '--strict'], { cwd: repo, env: gitEnv, input: withPackTrailer(bad) });
    assert.notEqual(check.status, 0);
    assert.match(check.stderr.toString(), /inflate|zlib|corrupt/i, 'git itself sees a zlib error, not a checksum error');
  });
});

describe('harness: configuration', () => {
  it('reads the backend matrix from PACKHUB_TEST_BACKENDS', () => {
    assert.deepEqual(backends(undefined), ['fs', 's3']);
    assert.deepEqual(backends('s3'), ['s3']);
    assert.deepEqual(backends(' fs , fs '), ['fs']);
    assert.throws(() => backends('fs,minio'), /unknown backend 'minio'/);
  });

  it('finds the port in the listening line, whatever the field order', () => {
    assert.equal(listeningPort('{"level":30,"port":4321,"host":"127.0.0.1","msg":"packhub listening"}'), 4321);
    assert.equal(listeningPort('{"msg":"packhub listening","level":30,"port":80}'), 80);
    assert.equal(listeningPort('{"msg":"packhub starting","port":80}'), 0);
    assert.equal(listeningPort('packhub listening on 80'), 0);
  });
});

describe('harness: services', () => {
  it('s3rver starts on an ephemeral port, makes buckets, and stops when released', async () => {
    const s3 = await startS3();
    const again = await startS3();
    assert.equal(again.port, s3.port, 'one s3rver per test process');
    await s3.createBucket('packhub-harness');
    const list = await (await fetch(`${s3.endpoint}/`)).text();
    assert.match(list, /<Name>packhub-harness<\/Name>/);
    await s3.release();
    assert.equal((await fetch(`${s3.endpoint}/`)).status, 200, 'still up while referenced');
    await again.release();
    await assert.rejects(fetch(`${s3.endpoint}/`), 'stopped after the last release');
  });

  it('PostgreSQL gives a fresh schema and drops it', async () => {
    const schema = await freshSchema('packhub_harness');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const exists = async () => (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema.name])).rowCount;
      assert.equal(await exists(), 1);
      assert.match(schema.url, new RegExp(`\\?schema=${schema.name}$`));
      await schema.drop();
      assert.equal(await exists(), 0);
    } finally {
      await client.end();
    }
  });
});
