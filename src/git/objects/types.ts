export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

/** Pack type codes of the four object types. */
export const TYPE_CODE: Readonly<Record<ObjectType, number>> = { commit: 1, tree: 2, blob: 3, tag: 4 };
/** The reverse of TYPE_CODE: undefined for delta codes (6, 7) and invalid ones (0, 5). */
export const TYPE_NAME: Readonly<Record<number, ObjectType | undefined>> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;

export const ZERO_OID = '0000000000000000000000000000000000000000';
/** A full object id as packhub writes it: 40 lowercase hex digits. */
export const OID_RE = /^[0-9a-f]{40}$/;

export function isObjectType(s: string): s is ObjectType {
  return s === 'commit' || s === 'tree' || s === 'blob' || s === 'tag';
}
