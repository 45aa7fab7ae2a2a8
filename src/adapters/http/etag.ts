/** Task versions are the entity tags: strong, and equal only when the representation is. */
export const etagOf = (version: number): string => `"${version}"`;

const ENTITY_TAG = /^(W\/)?"([^"]*)"$/;

function entityTags(header: string): Array<{ weak: boolean; value: string }> {
  return header
    .split(',')
    .map((part) => ENTITY_TAG.exec(part.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ weak: match[1] !== undefined, value: match[2] ?? '' }));
}

/**
 * If-Match as the versions it accepts: undefined when absent or "*" (unconditional for an existing
 * task). Strong comparison: weak or unreadable tags match nothing, so they fail the precondition.
 */
export function expectedVersions(ifMatch: string | undefined): number[] | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  return entityTags(ifMatch)
    .filter((tag) => !tag.weak && /^[1-9]\d{0,15}$/.test(tag.value))
    .map((tag) => Number(tag.value));
}

/** If-None-Match uses weak comparison: W/"3" and "3" both mean version 3. */
export function noneMatchHits(ifNoneMatch: string | undefined, version: number): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return entityTags(ifNoneMatch).some((tag) => tag.value === String(version));
}
