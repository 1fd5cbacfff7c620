import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MirrorHistory } from '../db/db.js';
import { UpstreamHttpError } from './git-client.js';
import { syncByHistoryMethod } from './history-method.js';

/** Runs a choice with a git sync that answers `gitAnswer` (a status: the upstream's error) and records what ran. */
async function choose(history: MirrorHistory, o: { gitOff?: boolean; synthetic?: boolean; gitAnswer?: number; rest?: boolean } = {}): Promise<{ ran: string[]; result?: string; error?: string }> {
  const ran: string[] = [];
  try {
    const result = await syncByHistoryMethod<string>({
      history,
      gitOff: o.gitOff ?? false,
      synthetic: o.synthetic ?? false,
      upstreamLabel: 'up.example',
      upstreamId: 'acme/m',
      byGit: async () => {
        ran.push('git');
        if (o.gitAnswer) throw new UpstreamHttpError('http://up.example/acme/m.git', o.gitAnswer, `upstream answered ${o.gitAnswer}`);
        return 'git';
      },
      byRest:
        o.rest === false
          ? null
          : async (why) => {
              ran.push(`rest: ${why}`);
              return 'rest';
            },
    });
    return { ran, result };
  } catch (err) {
    return { ran, error: (err as Error).message };
  }
}

describe('history method of a mirror', () => {
  it('auto: git, or REST when the upstream has no git endpoint, git is off, or the history is synthetic', async () => {
    assert.deepEqual(await choose('auto'), { ran: ['git'], result: 'git' });
    assert.deepEqual(await choose('auto', { gitAnswer: 404 }), { ran: ['git', 'rest: the upstream has no git endpoint for acme/m (404)'], result: 'rest' });
    assert.deepEqual((await choose('auto', { gitOff: true })).ran, ['rest: git is off for the upstream (PACKHUB_UPSTREAM_GIT=off)']);
    assert.deepEqual((await choose('auto', { synthetic: true })).ran, ['rest: the history of this mirror is synthetic']);
    // Another failure (the upstream is down) is not a reason for synthetic commits.
    assert.deepEqual(await choose('auto', { gitAnswer: 502 }), { ran: ['git'], error: 'upstream answered 502' });
    assert.deepEqual(await choose('auto', { gitAnswer: 404, rest: false }), { ran: ['git'], error: 'upstream answered 404' });
  });

  it('git: the upstream’s commits only; no git endpoint fails with a message that says why, never falls back', async () => {
    assert.deepEqual(await choose('git', { gitOff: true }), { ran: ['git'], result: 'git' });
    for (const status of [401, 403, 404]) {
      const r = await choose('git', { gitAnswer: status });
      assert.deepEqual(r.ran, ['git']);
      assert.match(r.error!, new RegExp(`the upstream up\\.example has no git endpoint for acme/m \\(${status}\\), and the history method of this mirror is git`));
    }
    assert.deepEqual(await choose('git', { synthetic: true }), { ran: [], error: 'the history method of this mirror is git, but its history is synthetic (built from the REST API)' });
  });

  it('rest: by the REST API even where git is offered; an error without a REST sync', async () => {
    assert.deepEqual(await choose('rest'), { ran: ['rest: the history method of this mirror is rest'], result: 'rest' });
    assert.deepEqual(await choose('rest', { rest: false }), { ran: [], error: 'the history method of this mirror is rest, and no REST sync is configured' });
  });
});
