import crypto from 'node:crypto';
import type { ObjectType } from './types.js';

export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`);
}

/** The git object id: SHA-1 of "<type> <size>\0" + content. */
export function hashObject(type: ObjectType, data: Buffer): string {
  return crypto.createHash('sha1').update(objectHeader(type, data.length)).update(data).digest('hex');
}
