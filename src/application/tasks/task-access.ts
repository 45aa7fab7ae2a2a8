import { DomainError } from '../../domain/index.js';

export const taskNotFound = () => new DomainError('TASK_NOT_FOUND', 'No such task.');

export const versionMismatch = () =>
  new DomainError('VERSION_MISMATCH', 'The task has changed since the version given in If-Match; fetch it again and retry.');

/**
 * A precondition from If-Match: the versions the client believes current. Undefined means
 * unconditional; an empty list matches nothing.
 */
export type ExpectedVersions = readonly number[] | undefined;

export function checkVersion(expected: ExpectedVersions, current: number): void {
  if (expected !== undefined && !expected.includes(current)) throw versionMismatch();
}
