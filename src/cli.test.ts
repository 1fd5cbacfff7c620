import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { authenticateToken } from './auth/principal.js';
import { verifyPassword } from './auth/tokens.js';
import { createLogger } from './core/logger.js';
import { openDb, type OpenedDb } from './db/typeorm-db.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The build when the full run made one (PACKHUB_TEST_CLI, see test/helpers/server.ts), else the sources through tsx. */
const CLI_ARGS = process.env.PACKHUB_TEST_CLI ? [path.resolve(ROOT, process.env.PACKHUB_TEST_CLI)] : ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts')];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('packhub CLI', () => {
  let dataDir: string;
  let db: OpenedDb | undefined;

  /** The real CLI in a child process, configured only by the environment given here. */
  function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [...CLI_ARGS, ...args],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PACKHUB_DATA_DIR: dataDir, ...env }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input ?? '');
    });
  }

  /** A user error: exit code 1, one clear `error:` message (after the line naming the database, if it got that far), no stack trace. */
  function assertUserError(r: Run, message: RegExp) {
    assert.equal(r.code, 1, `exit code 1 expected; stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.match(r.stderr, /^(packhub: database \S+\n)?error: /);
    assert.equal(r.stderr.match(/^error: /gm)?.length, 1, 'one error message');
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }

  async function openSameDb(): Promise<OpenedDb> {
    db ??= await openDb({ kind: 'sqlite', file: path.join(dataDir, 'packhub.sqlite') }, createLogger('silent'));
    return db;
  }

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'packhub-cli-'));
  });
  after(async () => {
    await db?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('--help prints the usage and exits 0', async () => {
    for (const args of [['--help'], [], ['token', 'create', '--help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /packhub user create NAME/);
      assert.match(r.stdout, /packhub token create/);
      assert.match(r.stdout, /packhub repo create/);
      assert.match(r.stdout, /packhub serve/);
    }
  });

  it('user create makes a user in the configured database', async () => {
    const r = await cli(['user', 'create', 'alice', '--admin', '--password', 's3cret pw', '--email', 'alice@example.com']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created user alice \(admin\)/);
    const alice = await (await openSameDb()).users.findByName('alice');
    assert.equal(alice?.isAdmin, true);
    assert.equal(alice?.email, 'alice@example.com');
    assert.equal(await verifyPassword('s3cret pw', alice!.passwordHash!), true);
    assert.ok(fs.existsSync(path.join(dataDir, 'packhub.sqlite')), 'the same database file the server uses');
  });

  it('user create: duplicates and bad names are clear errors', async () => {
    const runs = await Promise.all([
      cli(['user', 'create', 'alice']),
      cli(['user', 'create', 'bad..name']),
      cli(['user', 'create']),
      cli(['user', 'create', 'bob', '--bogus']),
    ]);
    const expected = [
      /user alice already exists/,
      /invalid user name 'bad\.\.name'/,
      /usage: packhub user create NAME/,
      /bogus/,
    ];
    runs.forEach((r, i) => assertUserError(r, expected[i]!));
  });

  it('user passwd reads the new password from stdin (never a command-line argument) and refuses short ones', async () => {
    assert.equal((await cli(['user', 'create', 'pat'])).code, 0);
    const r = await cli(['user', 'passwd', 'pat'], {}, 'a much longer passphrase\nignored second line\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new password set for pat/);
    const pat = await (await openSameDb()).users.findByName('pat');
    assert.equal(await verifyPassword('a much longer passphrase', pat!.passwordHash!), true);
    assertUserError(await cli(['user', 'passwd', 'pat'], {}, 'short\n'), /at least 8 characters/);
    assertUserError(await cli(['user', 'passwd', 'nobody'], {}, 'a much longer passphrase\n'), /no user named nobody/);
    assertUserError(await cli(['user', 'disable', 'pat', '--password', 'x']), /usage: packhub user disable NAME/);
  });

  it('user create --token makes the user with tokens of those scopes, each printed once', async () => {
    assertUserError(await cli(['user', 'create', 'tess', '--token', 'admin']), /--token takes a scope, read or write, not 'admin'/);
    assert.equal(await (await openSameDb()).users.findByName('tess'), null, 'nothing made after a bad flag');
    const r = await cli(['user', 'create', 'tess', '--token', 'write', '--token', 'read']);
    assert.equal(r.code, 0, r.stderr);
    const tokens = [...r.stdout.matchAll(/created (read|write) token for tess; it is shown only once:\n(hf_[A-Za-z0-9]{37})\n/g)].map((m) => [m[1], m[2]] as const);
    assert.deepEqual(tokens.map(([scope]) => scope), ['write', 'read']);
    for (const [scope, token] of tokens) assert.equal((await authenticateToken(await openSameDb(), 'tess', token))?.scope, scope);
  });

  it('token create prints the token alone on the last line, and it authenticates', async () => {
    const r = await cli(['token', 'create', 'alice', '--scope', 'read', '--name', 'laptop', '--expires-days', '2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const token = lines[lines.length - 1]!;
    assert.match(token, /^hf_[A-Za-z0-9]{37}$/);
    assert.ok(!lines.slice(0, -1).join('\n').includes(token), 'printed once');
    const p = await authenticateToken(await openSameDb(), 'alice', token);
    assert.equal(p?.user.name, 'alice');
    assert.equal(p?.scope, 'read');
    const record = (await db!.tokens.listForUser(p!.user.id)).find((t) => t.id === p!.tokenId)!;
    assert.equal(record.name, 'laptop');
    const days = (record.expiresAt!.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 1.9 && days <= 2, `expires in 2 days, not ${days}`);
    assert.equal(await authenticateToken(db!, 'bob', token), null);

    const w = await cli(['token', 'create', 'alice']);
    assert.equal(w.code, 0, w.stderr);
    const p2 = await authenticateToken(db!, null, w.stdout.trimEnd().split('\n').pop()!);
    assert.equal(p2?.scope, 'write', 'write by default');
  });

  it('token create: unknown user and bad options are clear errors', async () => {
    const runs = await Promise.all([
      cli(['token', 'create', 'nobody']),
      cli(['token', 'create', 'alice', '--scope', 'admin']),
      cli(['token', 'create', 'alice', '--expires-days', '0']),
      cli(['token', 'create', 'alice', '--expires-days', 'soon']),
    ]);
    const expected = [
      /no user named nobody/,
      /--scope must be read or write/,
      /--expires-days must be a positive number/,
      /--expires-days/,
    ];
    runs.forEach((r, i) => assertUserError(r, expected[i]!));
  });

  it('repo create makes a repository with the given settings', async () => {
    const r = await cli(['repo', 'create', 'alice/my-model', '--private', '--default-branch', 'trunk']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created private model repository alice\/my-model/);
    const repo = await (await openSameDb()).repos.find('model', 'alice', 'my-model');
    assert.equal(repo?.private, true);
    assert.equal(repo?.defaultBranch, 'trunk');
    const d = await cli(['repo', 'create', 'alice/my-model', '--type', 'dataset']);
    assert.equal(d.code, 0, d.stderr);
    const ds = await db!.repos.find('dataset', 'alice', 'my-model');
    assert.equal(ds?.private, false);
    assert.equal(ds?.defaultBranch, 'main');
  });

  it('repo create: duplicates, bad names and bad options are clear errors', async () => {
    const runs = await Promise.all([
      cli(['repo', 'create', 'alice/my-model']),
      cli(['repo', 'create', 'alice/bad..name']),
      cli(['repo', 'create', 'alice/x.git']),
      cli(['repo', 'create', '.alice/x']),
      cli(['repo', 'create', 'no-slash']),
      cli(['repo', 'create', 'a/b/c']),
      cli(['repo', 'create', 'alice/x', '--type', 'notebook']),
    ]);
    const expected = [
      /model repository alice\/my-model already exists/,
      /invalid repository name 'bad\.\.name'/,
      /invalid repository name/,
      /invalid namespace/,
      /usage: packhub repo create NAMESPACE\/NAME/,
      /usage: packhub repo create/,
      /--type must be model, dataset or space/,
    ];
    runs.forEach((r, i) => assertUserError(r, expected[i]!));
    assert.equal(await (await openSameDb()).repos.find('model', 'alice', 'x'), null);
  });

  it('unknown commands and invalid configuration are clear errors', async () => {
    const runs = await Promise.all([
      cli(['frobnicate']),
      cli(['user', 'frobnicate', 'alice']),
      cli(['user', 'create', 'carol'], { PACKHUB_PORT: 'not-a-port' }),
    ]);
    const expected = [
      /unknown command 'frobnicate'/,
      /unknown command/,
      /invalid configuration[\s\S]*PACKHUB_PORT/,
    ];
    runs.forEach((r, i) => assertUserError(r, expected[i]!));
  });
});
