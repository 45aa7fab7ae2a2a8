import type { Task } from '../../domain/index.js';

/** Reads a user's tasks as they stood at one moment, without holding up anyone's writes. */
export interface TaskSnapshots {
  /**
   * Every task of the user, oldest first, in pages of at most `pageSize`, all as of one moment
   * (when the first page is read): writes committed meanwhile are in none of the pages. Only a
   * page at a time is in memory, and a page may make each of its tasks only as it is iterated:
   * iterate a page before asking for the next. Leaving the loop early releases what the
   * snapshot holds.
   */
  eachPage(userId: number, pageSize: number): AsyncIterable<Iterable<Task>>;
}

export const TASK_SNAPSHOTS = Symbol('TaskSnapshots');
