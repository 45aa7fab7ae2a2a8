import { createHash, randomUUID } from 'node:crypto';
import { constants, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStorage, ByteRange, StoredBlob } from '../../application/index.js';
import { assertBlobKey } from './blob-keys.js';

/** Where blobs are written before they are renamed into place; its name is no valid key, so no key reaches it. */
const INCOMING = '.incoming';

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Makes a rename in `directory` durable: on POSIX systems a new directory entry survives a power
 * cut once the directory itself is synced. Windows cannot open a directory, and journals renames.
 */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(directory, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Blobs as files under one root directory, each key a relative path. A blob is written to a file
 * of its own in `<root>/.incoming` (named after its key, so that deleting the key also finds the
 * file a killed writer left there), flushed to disk, then renamed over its key's path: rename is
 * atomic within a file system, so a reader opens the old file or the new one, never a part. A
 * reader holds its file open, and reads it whole even if it is replaced or deleted meanwhile.
 * Bytes stream through in chunks: no blob is ever held in memory. As in any file system, a key
 * cannot also be the folder of another (`a` and `a/b`); the service's keys never are.
 */
export class FilesystemBlobStorage implements BlobStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(key: string, bytes: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    const target = this.pathOf(key);
    const incoming = path.join(this.root, INCOMING);
    await mkdir(incoming, { recursive: true });
    const temporary = path.join(incoming, `${this.partialPrefixOf(key)}${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    // Created before anything is written, so that a failed write always finds it to remove: a
    // stream left to open it itself could create it after the cleanup had run.
    const file = await open(temporary, 'wx', 0o600);
    try {
      await pipeline(
        bytes,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.byteLength;
            yield chunk;
          }
        },
        // Flushed to disk before it takes the key's name: after a crash the key holds all of it or the old blob.
        file.createWriteStream({ flush: true }),
      );
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temporary, target);
      await syncDirectory(path.dirname(target));
    } catch (error) {
      await file.close().catch(() => {}); // the stream closes it when it ends; this covers one that never started
      await rm(temporary, { force: true });
      throw error;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
    const file = await this.openIfPresent(this.pathOf(key));
    if (!file) return null;
    const stream: ReadStream = file.createReadStream({ start: range?.start, end: range?.end });
    return stream;
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.pathOf(key))).size };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
    await this.deletePartials(key);
  }

  /** Removes the temporary files of writes of `key` that a killed process never finished. */
  private async deletePartials(key: string): Promise<void> {
    const prefix = this.partialPrefixOf(key);
    let names: string[];
    try {
      names = await readdir(path.join(this.root, INCOMING));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await Promise.all(names.filter((name) => name.startsWith(prefix)).map((name) => rm(path.join(this.root, INCOMING, name), { force: true })));
  }

  /**
   * Starts the names of a key's temporary files, so that deleting the key finds what a crash left:
   * a digest, since a key may be longer than a file name may be.
   */
  private partialPrefixOf(key: string): string {
    assertBlobKey(key);
    return `${createHash('sha256').update(key).digest('hex')}.`;
  }

  /** The key's file: the key is checked first, so no key names a path outside the root. */
  private pathOf(key: string): string {
    assertBlobKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async openIfPresent(file: string): Promise<FileHandle | null> {
    try {
      return await open(file, constants.O_RDONLY);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }
}
