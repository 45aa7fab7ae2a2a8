import { createHash, randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStorage } from '../../src/adapters/storage/s3-blob-storage.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The bytes in chunks of uneven sizes, as a socket hands them over. */
async function* inChunks(bytes: Buffer): AsyncIterable<Uint8Array> {
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size * 7 + 3) % 1_000_003) yield bytes.subarray(at, at + size);
}

/** More than one part's worth, then nothing more, ever: a writer killed midway. */
async function* cutOffAfter(bytes: number): AsyncIterable<Uint8Array> {
  yield randomBytes(bytes);
  await new Promise(() => {});
}

async function readAll(bytes: AsyncIterable<Uint8Array> | null): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bytes ?? []) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('the S3 blob storage', () => {
  let server: S3TestServer;
  let storage: S3BlobStorage;
  beforeAll(async () => {
    server = await startS3Server();
    storage = new S3BlobStorage(server.client, { bucket: server.bucket, prefix: 'taskforge' });
  });
  afterAll(() => server.close());

  const objectKeys = async () =>
    ((await server.client.send(new ListObjectsV2Command({ Bucket: server.bucket }))).Contents ?? []).map((object) => object.Key).sort();

  it('sends a blob larger than a part as a multipart upload, and reads it back whole or by ranges across parts', async () => {
    const bytes = randomBytes(11 * MiB + 7);
    expect(await storage.put('exports/large.bin', inChunks(bytes))).toEqual({ size: bytes.length, sha256: sha256(bytes) });

    expect(server.completedUploads()).toContainEqual(expect.objectContaining({ key: 'taskforge/exports/large.bin', parts: [1, 2, 3] }));
    expect((await readAll(await storage.get('exports/large.bin'))).equals(bytes), 'the same bytes').toBe(true);
    const across = (await readAll(await storage.get('exports/large.bin', { start: 5 * MiB - 3, end: 10 * MiB + 2 }))).equals(bytes.subarray(5 * MiB - 3, 10 * MiB + 3));
    expect(across, 'the same bytes').toBe(true);
    expect(await storage.stat('exports/large.bin')).toEqual({ size: bytes.length });
    await storage.delete('exports/large.bin');
  });

  it('aborts the multipart upload of a blob whose bytes fail after the first part: nothing stored, nothing left, the error passed on', async () => {
    async function* failing(): AsyncIterable<Uint8Array> {
      yield randomBytes(6 * MiB);
      throw new Error('the source broke');
    }
    await expect(storage.put('attachments/1/broken', failing())).rejects.toThrow('the source broke');
    expect(await storage.stat('attachments/1/broken')).toBeNull();
    expect(server.unfinishedUploads()).toEqual([]);
  });

  it('keeps every key under its prefix, apart from the keys of another prefix in the same bucket', async () => {
    const other = new S3BlobStorage(server.client, { bucket: server.bucket, prefix: 'other/deployment' });
    await storage.put('attachments/7/a', inChunks(Buffer.from('mine')));
    await other.put('attachments/7/a', inChunks(Buffer.from('theirs')));

    expect(await objectKeys()).toEqual(['other/deployment/attachments/7/a', 'taskforge/attachments/7/a']);
    await storage.delete('attachments/7/a');
    expect(await storage.get('attachments/7/a')).toBeNull();
    expect((await readAll(await other.get('attachments/7/a'))).toString()).toBe('theirs');
    await other.delete('attachments/7/a');
    expect(await objectKeys()).toEqual([]);
  });

  it("removes a key's unfinished multipart uploads on delete, and no upload of a longer key that shares its beginning", async () => {
    void storage.put('attachments/1/cut', cutOffAfter(5 * MiB + 1));
    void storage.put('attachments/1/cut.more', cutOffAfter(5 * MiB + 1));
    const withParts = () => server.unfinishedUploads().filter((upload) => upload.parts.length > 0).map((upload) => upload.key).sort();
    await expect.poll(withParts).toEqual(['taskforge/attachments/1/cut', 'taskforge/attachments/1/cut.more']);

    await storage.delete('attachments/1/cut');

    expect(server.unfinishedUploads().map((upload) => upload.key)).toEqual(['taskforge/attachments/1/cut.more']);
    await storage.delete('attachments/1/cut.more');
    expect(server.unfinishedUploads()).toEqual([]);
  });

  it('tells whether its bucket answers', async () => {
    expect(await storage.reachable(2_000)).toBe(true);
    expect(await new S3BlobStorage(server.client, { bucket: 'no-such-bucket' }).reachable(2_000)).toBe(false);
  });
});
