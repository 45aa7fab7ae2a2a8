/**
 * Names a blob: segments of `[A-Za-z0-9._-]` separated by `/`, each starting with a letter or a
 * digit (so never `.` or `..`), at most 8 segments and 512 characters in all. Keys are made by
 * the service (`exports/<uuid>.csv`), never taken from a client.
 */
export const BLOB_KEY_PATTERN = /^(?=.{1,512}$)[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*){0,7}$/;

export interface StoredBlob {
  /** Bytes written. */
  size: number;
  /** Of the bytes written, lowercase hex. */
  sha256: string;
}

/** Bytes `start` to `end`, both inclusive, as an HTTP Range counts them; `end` omitted: to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Where files live: export downloads, attachments' bytes. Bytes stream in and out: an adapter
 * that stores outside the process never holds a whole blob in memory. A key that does not match BLOB_KEY_PATTERN is a bug of the
 * caller: every method throws a TypeError for it.
 */
export interface BlobStorage {
  /**
   * Stores the bytes under `key`, replacing any blob there, once every byte has arrived: a reader
   * sees the old blob or the new one, never a part. If `bytes` throws, nothing is stored and the
   * error is passed on.
   */
  put(key: string, bytes: AsyncIterable<Uint8Array>): Promise<StoredBlob>;
  /**
   * The blob's bytes (or the range of them; the caller checks the range against `stat`), as they
   * were when it was opened even if it is replaced or deleted while being read; null when there
   * is no such blob.
   */
  get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null>;
  stat(key: string): Promise<{ size: number } | null>;
  /**
   * Removes the blob, and what a write of the key that never finished left behind (a process
   * killed mid-write leaves partial bytes no reader sees, but that still take space); nothing
   * happens when there is neither. Callers never delete a key while it is being written: the
   * service's keys name fresh ids, so a record that names a key is how its bytes are found again.
   */
  delete(key: string): Promise<void>;
}

export const BLOB_STORAGE = Symbol('BlobStorage');
