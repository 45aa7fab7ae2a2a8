import type { Task } from '../../domain/index.js';
import { ExpiringMap } from '../shared/expiring-map.js';

export interface TaskCacheOptions {
  /** How long an entry is trusted without a word from this process: bounds changes made elsewhere. */
  ttlMs: number;
  maxEntries: number;
  /**
   * A task whose title, description and tags hold more characters than this is not kept: with
   * descriptions of up to 10,000 characters, a count of entries alone would not bound the memory.
   */
  maxTextLength: number;
  now?: () => number;
}

const textLength = (task: Task): number => task.title.length + task.description.length + task.tags.reduce((sum, tag) => sum + tag.length, 0);

/** Kept in a deleted task's place: a read that began before the deletion must not bring it back. */
const DELETED = Symbol('deleted');

/**
 * The tasks this process has lately read or written, by id, for the one process that owns an
 * SQLite file and so makes every change to its tasks. A task by id then costs no trip to the
 * SQLite thread: that trip was most of a GET, and the read before every update.
 *
 * It never holds an older state over a newer one: every change raises a task's version, so what
 * is remembered must not be older than what is known, and ids are never reused, so a deleted
 * task stays deleted. The TTL bounds what a change made behind this process's back (SQL by hand)
 * may take to show. Writes stay conditional on the version read, so a stale entry can cost a
 * write its first attempt, never lose or overwrite another change.
 */
export class TaskCache {
  private readonly entries: ExpiringMap<number, Task | typeof DELETED>;
  private readonly now: () => number;

  constructor(private readonly options: TaskCacheOptions) {
    this.now = options.now ?? Date.now;
    this.entries = new ExpiringMap(options.maxEntries, this.now);
  }

  /** The task, if it is known and `userId`'s. */
  lookup(userId: number, id: number): Task | undefined {
    const known = this.entries.get(id);
    return known !== undefined && known !== DELETED && known.userId === userId ? known : undefined;
  }

  /** Keeps a task as it was read or written, unless a later state of it is already known. */
  remember(task: Task): void {
    const known = this.entries.get(task.id);
    if (known === DELETED || (known !== undefined && known.version > task.version)) return;
    if (textLength(task) > this.options.maxTextLength) this.entries.delete(task.id);
    else this.entries.set(task.id, task, this.now() + this.options.ttlMs);
  }

  /**
   * What is stored may differ from what is kept (a conditional write missed): ask the database
   * next time. A deleted task stays deleted: a write that missed it changes nothing about that.
   */
  forget(id: number): void {
    if (this.entries.get(id) !== DELETED) this.entries.delete(id);
  }

  deleted(id: number): void {
    this.entries.set(id, DELETED, this.now() + this.options.ttlMs);
  }

  /** The user is gone, and their tasks with them (ON DELETE CASCADE). */
  forgetUser(userId: number): void {
    this.entries.deleteWhere((known) => known !== DELETED && known.userId === userId);
  }
}
