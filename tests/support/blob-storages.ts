import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BlobStorage } from '../../src/application/index.js';
import { FilesystemBlobStorage } from '../../src/adapters/storage/filesystem-blob-storage.js';
import { InMemoryBlobStorage } from '../../src/adapters/storage/in-memory-blob-storage.js';
import { S3BlobStorage } from '../../src/adapters/storage/s3-blob-storage.js';
import { startS3Server } from './s3-server.js';

/** One blob storage adapter, on a store of its own. */
export interface BlobStorageUnderTest {
  kind: string;
  storage: BlobStorage;
  /** The directory a filesystem storage writes under; null for others. */
  root: string | null;
  close(): Promise<void>;
}

export type OpenBlobStorage = () => Promise<BlobStorageUnderTest>;

/** Every kind of blob storage. */
export const blobStorageKinds: Array<[string, OpenBlobStorage]> = [
  [
    'filesystem',
    async () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'taskforge-blobs-'));
      return { kind: 'filesystem', storage: new FilesystemBlobStorage(root), root, close: async () => rmSync(root, { recursive: true, force: true }) };
    },
  ],
  ['in-memory', async () => ({ kind: 'in-memory', storage: new InMemoryBlobStorage(), root: null, close: async () => {} })],
  [
    's3',
    async () => {
      const server = await startS3Server();
      return { kind: 's3', storage: new S3BlobStorage(server.client, { bucket: server.bucket }), root: null, close: () => server.close() };
    },
  ],
];
