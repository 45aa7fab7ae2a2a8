import { DomainError } from '../../domain/index.js';
import type { TaskRepository } from '../ports/index.js';

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

/** After a conditional write matched no row: the task is gone (404) or changed meanwhile (412). */
export async function goneOrChanged(tasks: TaskRepository, userId: number, id: number): Promise<never> {
  if (!(await tasks.findById(userId, id))) throw taskNotFound();
  throw versionMismatch();
}
