import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStorageKinds, type BlobStorageUnderTest } from '../support/blob-storages.js';
import { gate } from '../support/gate.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function* chunksOf(...chunks: Array<string | Uint8Array>): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** Large buffers compared as bytes: a deep equality walks them element by element. */
const sameBytes = (actual: Buffer | null, expected: Uint8Array) => expect(actual !== null && actual.equals(expected), 'the same bytes').toBe(true);

async function readAll(bytes: AsyncIterable<Uint8Array> | null): Promise<Buffer | null> {
  if (!bytes) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of bytes) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

let serial = 0;
const aKey = (prefix = 'tests') => `${prefix}/blob-${++serial}.bin`;

describe.each(blobStorageKinds)('BlobStorage contract: %s', (_kind, open) => {
  let under: BlobStorageUnderTest;
  beforeAll(async () => {
    under = await open();
  });
  afterAll(() => under.close());

  it('stores bytes under a key and hands back exactly those bytes, their size and their SHA-256', async () => {
    const key = aKey();
    const bytes = randomBytes(200_000);
    const stored = await under.storage.put(key, chunksOf(bytes.subarray(0, 65_536), bytes.subarray(65_536, 65_537), bytes.subarray(65_537)));
    expect(stored).toEqual({ size: 200_000, sha256: sha256(bytes) });
    sameBytes(await readAll(await under.storage.get(key)), bytes);
    expect(await under.storage.stat(key)).toEqual({ size: 200_000 });
  });

  it('stores an empty blob', async () => {
    const key = aKey();
    expect(await under.storage.put(key, chunksOf())).toEqual({ size: 0, sha256: sha256(new Uint8Array()) });
    expect(await readAll(await under.storage.get(key))).toEqual(Buffer.alloc(0));
    expect(await under.storage.stat(key)).toEqual({ size: 0 });
  });

  it('answers null for a key with no blob, and deleting it does nothing', async () => {
    const key = aKey();
    expect(await under.storage.get(key)).toBeNull();
    expect(await under.storage.stat(key)).toBeNull();
    await expect(under.storage.delete(key)).resolves.toBeUndefined();
  });

  it('replaces a blob, and deletes it', async () => {
    const key = aKey('nested/deeper/still');
    await under.storage.put(key, chunksOf('first version, longer'));
    await under.storage.put(key, chunksOf('second'));
    expect((await readAll(await under.storage.get(key)))?.toString()).toBe('second');
    expect(await under.storage.stat(key)).toEqual({ size: 6 });
    await under.storage.delete(key);
    expect(await under.storage.get(key)).toBeNull();
  });

  it('reads a range of bytes, both ends included, or from a byte to the end', async () => {
    const key = aKey();
    await under.storage.put(key, chunksOf('0123456789'));
    expect((await readAll(await under.storage.get(key, { start: 2, end: 5 })))?.toString()).toBe('2345');
    expect((await readAll(await under.storage.get(key, { start: 7 })))?.toString()).toBe('789');
    expect((await readAll(await under.storage.get(key, { start: 9, end: 9 })))?.toString()).toBe('9');
  });

  it('stores nothing when the bytes fail midway, keeps the blob that was there, and passes the error on', async () => {
    const kept = aKey();
    await under.storage.put(kept, chunksOf('the good one'));
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('half of it');
      throw new Error('the source broke');
    }
    await expect(under.storage.put(kept, failing())).rejects.toThrow('the source broke');
    expect((await readAll(await under.storage.get(kept)))?.toString()).toBe('the good one');
    const fresh = aKey();
    await expect(under.storage.put(fresh, failing())).rejects.toThrow('the source broke');
    expect(await under.storage.stat(fresh)).toBeNull();
  });

  it('never shows a blob before all of it has arrived', async () => {
    const key = aKey();
    await under.storage.put(key, chunksOf('old'));
    const halfway = gate();
    async function* slow(): AsyncIterable<Uint8Array> {
      yield Buffer.from('new, ');
      await halfway.pass();
      yield Buffer.from('complete');
    }
    const writing = under.storage.put(key, slow());
    await halfway.reached;
    expect((await readAll(await under.storage.get(key)))?.toString()).toBe('old');
    expect(await under.storage.stat(key)).toEqual({ size: 3 });
    halfway.open();
    await writing;
    expect((await readAll(await under.storage.get(key)))?.toString()).toBe('new, complete');
  });

  it('lets a reader that has opened a blob read all of it, even if the blob is replaced or deleted meanwhile', async () => {
    const key = aKey();
    const original = randomBytes(300_000);
    await under.storage.put(key, chunksOf(original));
    const replacedReader = await under.storage.get(key);
    await under.storage.put(key, chunksOf('replacement'));
    const deletedReader = await under.storage.get(key);
    await under.storage.delete(key);
    sameBytes(await readAll(replacedReader), original);
    expect((await readAll(deletedReader))?.toString()).toBe('replacement');
  });

  it.each([
    '', '/absolute', '../escape', 'a/../b', 'a/./b', './a', 'a//b', 'a/', '.hidden', 'a/.hidden', 'back\\slash', 'white space', 'colon:x', 'ü',
    'a/b/c/d/e/f/g/h/i', 'x'.repeat(513),
  ])('refuses the key %j, whatever it is asked', async (key) => {
    await expect(under.storage.put(key, chunksOf('x'))).rejects.toThrow(TypeError);
    await expect(under.storage.get(key)).rejects.toThrow(TypeError);
    await expect(under.storage.stat(key)).rejects.toThrow(TypeError);
    await expect(under.storage.delete(key)).rejects.toThrow(TypeError);
  });

  it('accepts the keys the service makes', async () => {
    for (const key of ['exports/3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192.csv', 'attachments/12/9f86d081884c7d65.bin', 'z', 'A_b-c.d/e', 'a/b/c/d/e/f/g/h']) {
      await under.storage.put(key, chunksOf(key));
      expect((await readAll(await under.storage.get(key)))?.toString()).toBe(key);
    }
  });
});

describe('the filesystem blob storage', () => {
  const [, openFilesystem] = blobStorageKinds.find(([kind]) => kind === 'filesystem')!;
  let under: BlobStorageUnderTest;
  beforeAll(async () => {
    under = await openFilesystem();
  });
  afterAll(() => under.close());

  /** Every file under the root, as paths relative to it. */
  const filesOnDisk = () =>
    readdirSync(under.root!, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(under.root!, path.join(entry.parentPath, entry.name)))
      .sort();

  it('keeps each blob as the file its key names under the root, and leaves no temporary file behind, even after a failure', async () => {
    await under.storage.put('exports/one.json', chunksOf('[]'));
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('cut off');
    }
    await expect(under.storage.put('exports/two.json', failing())).rejects.toThrow('cut off');
    expect(filesOnDisk()).toEqual([path.join('exports', 'one.json')]);
    await under.storage.delete('exports/one.json');
    expect(filesOnDisk()).toEqual([]);
  });

  it('deletes what a writer killed mid-write left of a key, and nothing of another key', async () => {
    await under.storage.put('attachments/1/kept', chunksOf('kept'));
    // A killed writer's file: the adapter names it after its key, whichever process wrote it.
    async function* hanging(): AsyncIterable<Uint8Array> {
      yield Buffer.from('half of it');
      await new Promise(() => {});
    }
    void under.storage.put('attachments/1/cut-off', hanging());
    void under.storage.put('attachments/1/other-cut-off', hanging());
    await expect.poll(() => filesOnDisk().filter((file) => file.startsWith('.incoming')).length).toBe(2);

    await under.storage.delete('attachments/1/cut-off');

    expect(filesOnDisk().filter((file) => file.startsWith('.incoming'))).toHaveLength(1);
    expect(filesOnDisk()).toContain(path.join('attachments', '1', 'kept'));
    await under.storage.delete('attachments/1/other-cut-off');
    await under.storage.delete('attachments/1/kept');
    expect(filesOnDisk()).toEqual([]);
  });
});
