import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInvitation, invitationProblem } from './invitations.js';

describe('invitations', () => {
  it('invite one name until they expire; any change to the code, the name or the secret refuses it', () => {
    const now = Date.UTC(2026, 0, 1);
    const { code, expiresAt } = createInvitation('s3cret', 'frank', 2, now);
    assert.equal(expiresAt.getTime(), now + 2 * 86_400_000);
    assert.equal(invitationProblem('s3cret', 'frank', code, now), null);
    assert.equal(invitationProblem('s3cret', 'frank', code, now + 2 * 86_400_000 - 1000), null);
    assert.match(invitationProblem('s3cret', 'frank', code, now + 2 * 86_400_000 + 1000)!, /expired/);
    assert.match(invitationProblem('s3cret', 'frankie', code, now)!, /not for 'frankie'/);
    assert.match(invitationProblem('other', 'frank', code, now)!, /not for 'frank'/);
    const [exp, mac] = code.split('.');
    assert.match(invitationProblem('s3cret', 'frank', `${Number(exp) + 86_400}.${mac}`, now)!, /not for/, 'a longer life is a forgery');
    assert.match(invitationProblem('s3cret', 'frank', 'garbage', now)!, /malformed/);
  });
});
