import { BLOB_KEY_PATTERN } from '../../application/index.js';

/** A key outside BLOB_KEY_PATTERN is the caller's bug (keys never come from clients): it throws. */
export function assertBlobKey(key: string): void {
  if (!BLOB_KEY_PATTERN.test(key)) throw new TypeError(`blob key ${JSON.stringify(key)} does not match ${BLOB_KEY_PATTERN}`);
}
