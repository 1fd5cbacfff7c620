import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger.js';

const capture = () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
};

describe('logger', () => {
  it('json (default): one JSON object a line, secrets redacted', () => {
    const c = capture();
    createLogger('info', c.out).info({ token: 'hf_secret', repo: 'a/b' }, 'pushed');
    const line = JSON.parse(c.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'pushed');
    assert.equal(line.token, '[redacted]');
  });

  it('pretty: one readable line for people, secrets redacted too', () => {
    const c = capture();
    createLogger('info', c.out, 'pretty').info({ token: 'hf_secret', repo: 'a/b' }, 'pushed');
    const text = c.text();
    assert.match(text, /^\[\d\d:\d\d:\d\d\] INFO: pushed \{.*"repo":"a\/b".*\}\n$/);
    assert.doesNotMatch(text, /hf_secret/);
    assert.throws(() => JSON.parse(text));
  });
});
