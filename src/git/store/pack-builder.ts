import { TYPE_CODE, OFS_DELTA, REF_DELTA } from '../objects/types.js';
import { PackWriter } from '../pack/pack-writer.js';
import { storedOrder, type ObjectLocation, type RepoObjects } from './repo-objects.js';

export interface BuildOptions {
  /** Client understands OFS_DELTA. */
  ofsDelta: boolean;
  /** Client accepts REF_DELTA against objects it has (thin pack). */
  thin: boolean;
  /** Objects the client has: allowed thin bases. */
  clientHas: Set<string>;
  /** Write in stored order (pack by pack, by offset) instead of the order of `oids`. */
  storedOrder?: boolean;
}

/**
 * Writes a pack of the given objects by copying their stored compressed entries verbatim.
 * A stored delta is kept when its base goes into the same pack (written first, then addressed by
 * offset or id) or, for thin packs, when the client has the base; otherwise the object is
 * resolved and written whole. No object is inflated and deflated again unless it must be.
 *
 * With `storedOrder`, objects go out in the order they are stored (pack by pack, by offset), not in
 * the order asked: for a fetch the stored order is as good as git's (it is git's own for pushed
 * packs, a clone's for compacted ones), and reading forward lets each pack read ahead instead of
 * seeking once per object (a partial clone's lazy fetch asks for its blobs in path order).
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

  // Stored order: located once up front (the sort needs them); else each object is located as it is written.
  const locs = opts.storedOrder ? oids.map((oid) => objects.locate(oid)) : null;
  const order = locs ? storedOrder(objects.packs, locs) : null;

  const emit = async (oid: string, located?: ObjectLocation | null): Promise<void> => {
    if (written.has(oid)) return;
    const loc = located === undefined ? objects.locate(oid) : located;
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

  if (order) for (const i of order) await emit(oids[i]!, locs![i]!);
  else for (const oid of oids) await emit(oid);
  await writer.finish();
}
