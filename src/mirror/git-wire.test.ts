import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GitFormatError } from '../core/errors.js';
import { DELIM, FLUSH, PktReader, pktLine } from '../git/protocol/pkt-line.js';
import { fetchRequestV0, fetchRequestV2, lsRefsRequest, readAckV0, readAdvertisement, readLsRefs } from './git-wire.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ZERO = '0'.repeat(40);

const reader = (...parts: Buffer[]) => new PktReader((async function* () { yield Buffer.concat(parts); })());
const text = (b: Buffer) => b.toString('latin1');

describe('git-wire: advertisements', () => {
  it('reads a v0 advertisement: HEAD, symref, refs, peeled tags', async () => {
    const ad = await readAdvertisement(
      reader(
        pktLine('# service=git-upload-pack\n'),
        FLUSH,
        pktLine(`${A} HEAD\0multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main agent=git/2.39.5\n`),
        pktLine(`${A} refs/heads/main\n`),
        pktLine(`${B} refs/tags/v1\n`),
        pktLine(`${C} refs/tags/v1^{}\n`),
        FLUSH,
      ),
      10,
    );
    assert.equal(ad.protocol, 0);
    if (ad.protocol !== 0) return;
    assert.ok(ad.caps.has('side-band-64k'));
    assert.deepEqual(ad.listing, {
      headTarget: 'refs/heads/main',
      headOid: A,
      refs: [
        { name: 'refs/heads/main', oid: A, peeled: null },
        { name: 'refs/tags/v1', oid: B, peeled: C },
      ],
    });
  });

  it('reads an empty v0 repository (capabilities^{} or nothing) and v2 capabilities', async () => {
    const empty = await readAdvertisement(reader(pktLine('# service=git-upload-pack\n'), FLUSH, pktLine(`${ZERO} capabilities^{}\0ofs-delta\n`), FLUSH), 10);
    assert.deepEqual(empty.protocol === 0 && empty.listing.refs, []);
    const bare = await readAdvertisement(reader(pktLine('# service=git-upload-pack\n'), FLUSH, FLUSH), 10);
    assert.deepEqual(bare.protocol === 0 && bare.listing, { headTarget: null, headOid: null, refs: [] });
    const v2 = await readAdvertisement(reader(pktLine('version 2\n'), pktLine('agent=x\n'), pktLine('ls-refs=unborn\n'), pktLine('fetch=shallow filter\n'), FLUSH), 10);
    assert.equal(v2.protocol, 2);
    assert.equal(v2.protocol === 2 && v2.caps.get('ls-refs'), 'unborn');
  });

  it('refuses more refs than allowed, bad lines and truncation', async () => {
    const many = [pktLine(`${A} refs/heads/a\0ofs-delta\n`), pktLine(`${A} refs/heads/b\n`), pktLine(`${A} refs/heads/c\n`), FLUSH];
    await assert.rejects(readAdvertisement(reader(...many), 2), (e: unknown) => e instanceof GitFormatError && /more than 2 refs/.test(e.message));
    await assert.rejects(readAdvertisement(reader(pktLine('nonsense\n'), FLUSH), 2), GitFormatError);
    await assert.rejects(readAdvertisement(reader(pktLine(`${A} refs/heads/a\0ofs-delta\n`)), 2), /truncated/);
    await assert.rejects(readLsRefs(reader(pktLine(`${A} refs/heads/a\n`), pktLine(`${B} refs/heads/b\n`), FLUSH), 1), /more than 1 refs/);
    await assert.rejects(readLsRefs(reader(pktLine(`${A} refs/heads/a peeled:xyz\n`), FLUSH), 5), /bad ls-refs line/);
  });

  it('reads ls-refs with symrefs, peeled values and an unborn HEAD', async () => {
    const l = await readLsRefs(reader(pktLine(`${A} HEAD symref-target:refs/heads/main\n`), pktLine(`${A} refs/heads/main\n`), pktLine(`${B} refs/tags/v1 peeled:${C}\n`), FLUSH), 10);
    assert.deepEqual(l, { headTarget: 'refs/heads/main', headOid: A, refs: [{ name: 'refs/heads/main', oid: A, peeled: null }, { name: 'refs/tags/v1', oid: B, peeled: C }] });
    const unborn = await readLsRefs(reader(pktLine('unborn HEAD symref-target:refs/heads/dev\n'), FLUSH), 10);
    assert.deepEqual(unborn, { headTarget: 'refs/heads/dev', headOid: null, refs: [] });
  });
});

describe('git-wire: requests', () => {
  it('asks v2 for symrefs, peel, unborn (when offered) and the prefixes; fetch with ofs-delta, include-tag, haves and done; never thin-pack', () => {
    const caps = new Map([['agent', 'x'], ['ls-refs', 'unborn'], ['fetch', ''], ['object-format', 'sha1']]);
    const ls = lsRefsRequest(caps, ['HEAD', 'refs/heads/']);
    assert.equal(text(ls), text(Buffer.concat([pktLine('command=ls-refs\n'), pktLine('agent=packhub/0.1\n'), pktLine('object-format=sha1\n'), DELIM, pktLine('symrefs\n'), pktLine('peel\n'), pktLine('unborn\n'), pktLine('ref-prefix HEAD\n'), pktLine('ref-prefix refs/heads/\n'), FLUSH])));
    const f = text(fetchRequestV2(new Map([['fetch', '']]), [A], [B]));
    assert.equal(f, text(Buffer.concat([pktLine('command=fetch\n'), DELIM, pktLine('ofs-delta\n'), pktLine('include-tag\n'), pktLine(`want ${A}\n`), pktLine(`have ${B}\n`), pktLine('done\n'), FLUSH])));
  });

  it('asks v0 only for capabilities the upstream offered, never multi_ack or thin-pack', () => {
    const f = text(fetchRequestV0(new Set(['side-band-64k', 'ofs-delta', 'thin-pack', 'multi_ack_detailed', 'agent=git/2']), [A, B], [C]));
    assert.equal(f, text(Buffer.concat([pktLine(`want ${A} side-band-64k ofs-delta agent=packhub/0.1\n`), pktLine(`want ${B}\n`), FLUSH, pktLine(`have ${C}\n`), pktLine('done\n')])));
    assert.match(text(fetchRequestV0(new Set(['side-band']), [A], [])), /want a{40} side-band\n/);
  });

  it('reads the one ACK or NAK before a v0 pack, and reports ERR', async () => {
    await readAckV0(reader(pktLine('NAK\n')));
    await readAckV0(reader(pktLine(`ACK ${A}\n`)));
    await assert.rejects(readAckV0(reader(pktLine('ERR upload-pack: not our ref\n'))), /the upstream reported an error: upload-pack: not our ref/);
  });
});
