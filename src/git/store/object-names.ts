import { parseCommit } from '../objects/commit.js';
import { parseTag } from '../objects/tag.js';
import { parseTree } from '../objects/tree.js';
import type { ObjectType } from '../objects/types.js';

/** The objects an object names: a commit its tree and parents, a tree its entries (gitlinks left out), a tag its object. */
export function objectNames(type: ObjectType, data: Buffer): string[] {
  if (type === 'commit') {
    const c = parseCommit(data);
    return [c.tree, ...c.parents];
  }
  if (type === 'tree') return parseTree(data).filter((e) => e.mode !== '160000').map((e) => e.oid);
  if (type === 'tag') return [parseTag(data).object];
  return [];
}

/** What a set of new objects names outside itself: what must already be stored for them to be complete. */
export function externalNames(objects: Iterable<{ oid: string; type: ObjectType; data: Buffer | null }>): Set<string> {
  const own = new Set<string>();
  const named = new Set<string>();
  for (const o of objects) {
    own.add(o.oid);
    if (o.data) for (const n of objectNames(o.type, o.data)) named.add(n);
  }
  for (const o of own) named.delete(o);
  return named;
}
