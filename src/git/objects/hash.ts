import crypto from 'node:crypto';
import type { ObjectType } from './types.js';

/** "<type> <size>\0": what git hashes in front of an object's content. */
export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, 'latin1');
}

/** The git object id (hex SHA-1 of the header and the content). */
export function hashObject(type: ObjectType, data: Buffer): string {
  const header = `${type} ${data.length}\0`;
  if (data.length > SMALL) return crypto.createHash('sha1').update(header, 'latin1').update(data).digest('hex');
  // Small objects (most of a commit of many files): one copy and a one-shot hash cost less than a Hash object.
  const frame = Buffer.allocUnsafe(header.length + data.length);
  frame.write(header, 0, 'latin1');
  data.copy(frame, header.length);
  return crypto.hash('sha1', frame, 'hex');
}

const SMALL = 64 * 1024;

/**
 * hashObject for content that the caller allocated with at least 32 free bytes in front of it (in
 * the same buffer, see pack/inflate.ts HEADROOM): the header is written there and header and
 * content hashed in one call, without a copy. Never use it on a buffer that others share.
 */
export function hashFramed(type: ObjectType, data: Buffer): string {
  const header = `${type} ${data.length}\0`;
  if (data.byteOffset < header.length) throw new Error('hashFramed: no room in front of the data');
  const frame = Buffer.from(data.buffer, data.byteOffset - header.length, header.length + data.length);
  frame.write(header, 0, 'latin1');
  return crypto.hash('sha1', frame, 'hex');
}
