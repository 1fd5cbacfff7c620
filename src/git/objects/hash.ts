import crypto from 'node:crypto';
import type { ObjectType } from './types.js';

/** "<type> <size>\0": what git hashes in front of an object's content. */
export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, 'latin1');
}

/** The git object id (hex SHA-1 of the header and the content). */
export function hashObject(type: ObjectType, data: Buffer): string {
  return crypto.createHash('sha1').update(objectHeader(type, data.length)).update(data).digest('hex');
}
