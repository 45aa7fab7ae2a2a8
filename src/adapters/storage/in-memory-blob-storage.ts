import { createHash } from 'node:crypto';
import type { BlobStorage, ByteRange, StoredBlob } from '../../application/index.js';
import { assertBlobKey } from './blob-keys.js';

/** Blobs in this process's memory: tests and the in-memory mode, where nothing outlives the process anyway. */
export class InMemoryBlobStorage implements BlobStorage {
  private readonly blobs = new Map<string, Uint8Array>();

  async put(key: string, bytes: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    assertBlobKey(key);
    const chunks: Uint8Array[] = [];
    for await (const chunk of bytes) chunks.push(Uint8Array.from(chunk));
    const blob = Buffer.concat(chunks);
    this.blobs.set(key, blob);
    return { size: blob.byteLength, sha256: createHash('sha256').update(blob).digest('hex') };
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
    assertBlobKey(key);
    const blob = this.blobs.get(key);
    if (!blob) return null;
    const part = blob.subarray(range?.start ?? 0, range?.end === undefined ? undefined : range.end + 1);
    return (async function* () {
      if (part.byteLength > 0) yield Uint8Array.from(part);
    })();
  }

  async stat(key: string): Promise<{ size: number } | null> {
    assertBlobKey(key);
    const blob = this.blobs.get(key);
    return blob ? { size: blob.byteLength } : null;
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    this.blobs.delete(key);
  }

  /** The keys stored, for tests to see what is left. */
  keys(): string[] {
    return [...this.blobs.keys()].sort();
  }
}
