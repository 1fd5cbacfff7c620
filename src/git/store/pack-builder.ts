import { TYPE_CODE, OFS_DELTA, REF_DELTA } from '../objects/types.js';
import { PackWriter } from '../pack/pack-writer.js';
import type { RepoObjects } from './repo-objects.js';

export interface BuildOptions {
  /** Client understands OFS_DELTA. */
  ofsDelta: boolean;
  /** Client accepts REF_DELTA against objects it has (thin pack). */
  thin: boolean;
  /** Objects the client has: allowed thin bases. */
  clientHas: Set<string>;
}

/**
 * Writes a pack of the given objects by copying their stored compressed entries verbatim.
 * A stored delta is kept when its base goes into the same pack (written first, then addressed by
 * offset or id) or, for thin packs, when the client has the base; otherwise the object is
 * resolved and written whole. No object is inflated and deflated again unless it must be.
 */
export async function writePack(
  objects: RepoObjects,
  oids: string[],
  sink: (chunk: Buffer) => void | Promise<void>,
  opts: BuildOptions,
): Promise<void> {
  const writer = new PackWriter(sink);
  await writer.begin(oids.length);
  const wanted = new Set(oids);
  const written = new Map<string, number>(); // oid -> offset in the output
  const inProgress = new Set<string>();

  const emit = async (oid: string): Promise<void> => {
    if (written.has(oid)) return;
    const loc = objects.locate(oid);
    if (!loc) throw new Error(`object ${oid} vanished while writing a pack`);
    const raw = loc.pack.file.rawEntry(loc.offset);
    const isDelta = raw.typeCode === OFS_DELTA || raw.typeCode === REF_DELTA;
    if (!isDelta) {
      written.set(oid, writer.position);
      await writer.writeRaw(raw.typeCode, raw.size, raw.compressed);
      return;
    }
    const baseOid =
      raw.typeCode === REF_DELTA ? raw.baseOid! : loc.pack.oidAtOffset(raw.baseOffset!).toString('hex');
    inProgress.add(oid);
    try {
      if (wanted.has(baseOid) && !inProgress.has(baseOid)) {
        await emit(baseOid);
        const baseAt = written.get(baseOid)!;
        written.set(oid, writer.position);
        if (opts.ofsDelta) {
          await writer.writeRaw(OFS_DELTA, raw.size, raw.compressed, { ofsDistance: writer.position - baseAt });
        } else {
          await writer.writeRaw(REF_DELTA, raw.size, raw.compressed, { oid: Buffer.from(baseOid, 'hex') });
        }
        return;
      }
      if (opts.thin && !wanted.has(baseOid) && opts.clientHas.has(baseOid)) {
        written.set(oid, writer.position);
        await writer.writeRaw(REF_DELTA, raw.size, raw.compressed, { oid: Buffer.from(baseOid, 'hex') });
        return;
      }
      const full = loc.pack.file.readObject(loc.offset);
      written.set(oid, writer.position);
      await writer.writeWhole(TYPE_CODE[full.type], full.data);
    } finally {
      inProgress.delete(oid);
    }
  };

  for (const oid of oids) await emit(oid);
  await writer.finish();
}
