/** Ids per statement of a batch lookup: within every engine's limit on bound parameters. */
const LOOKUP_CHUNK = 500;

/** `ids` in slices of at most LOOKUP_CHUNK: one statement's worth each. */
export function lookupChunks<T>(ids: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) chunks.push(ids.slice(start, start + LOOKUP_CHUNK));
  return chunks;
}
