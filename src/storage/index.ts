import fsp from 'node:fs/promises';
import type { Config } from '../core/config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

export async function createBlobStore(storage: Config['storage']): Promise<BlobStore> {
  if (storage.kind === 'fs') {
    await fsp.mkdir(storage.root, { recursive: true });
    return new FsBlobStore(storage.root);
  }
  // Loaded only when used: the AWS SDK adds ~25 MB to a process that stores on local disk.
  const { S3BlobStore } = await import('./s3-blob-store.js');
  const s3 = new S3BlobStore(storage.s3);
  await s3.ensureBucket();
  return s3;
}
