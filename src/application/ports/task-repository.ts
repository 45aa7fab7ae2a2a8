import type { Task, TaskPriority, TaskStatus } from '../../domain/index.js';

export type TaskSortKey = 'created_at' | 'updated_at' | 'due_date' | 'priority' | 'title';
export const TASK_SORT_KEYS: readonly TaskSortKey[] = ['created_at', 'updated_at', 'due_date', 'priority', 'title'];

/** Ties are broken by id in the same direction; tasks without a due date come last either way. */
export interface TaskSort {
  key: TaskSortKey;
  descending: boolean;
}

/** Every given condition must hold. */
export interface TaskFilter {
  /** Any of these; an empty list matches nothing. */
  statuses?: TaskStatus[];
  /** Any of these. */
  priorities?: TaskPriority[];
  /** Every one of these. */
  tags?: string[];
  /** A lower-cased substring of the title; `%`, `_` and `\` are plain characters. */
  q?: string;
  /** Exclusive; tasks without a due date never match. */
  dueBefore?: Date;
  /** Inclusive; tasks without a due date never match. */
  dueAfter?: Date;
}

/**
 * Where a task stands in a sort: the sort column's value and the id. Values are what the columns
 * compare: RFC 3339 UTC text for times (null: no due date), the rank for priority, the lower-cased
 * title for title (compared by code point).
 */
export interface SortPosition {
  value: string | number | null;
  id: number;
}

export interface TaskPageQuery {
  filter: TaskFilter;
  sort: TaskSort;
  limit: number;
  /** Keyset pagination: the tasks strictly after this position. */
  after?: SortPosition;
  /** Offset pagination; ignored when `after` is given. */
  offset?: number;
}

export type NewTask = Omit<Task, 'id'>;

/** A task's reminder that has fallen due and not fired yet. */
export interface DueReminder {
  userId: number;
  taskId: number;
  remindAt: Date;
}

/** Every method is scoped to one owner: another user's task behaves as if it did not exist. */
export interface TaskRepository {
  create(task: NewTask): Promise<Task>;
  findById(userId: number, id: number): Promise<Task | null>;
  /** The user's tasks among `ids`, in no particular order: absent ids, and other users' tasks, are left out. */
  findByIds(userId: number, ids: readonly number[]): Promise<Task[]>;
  /**
   * As findById; inside a unit of work (TransactionRunner) the task is also held against every
   * other writer, in this process or another, until the unit ends.
   */
  findForUpdate(userId: number, id: number): Promise<Task | null>;
  /**
   * Writes `next` only if the stored version is still `expectedVersion` (one conditional
   * statement, so of two concurrent writers at most one wins); null when it is not, or the task
   * is gone.
   */
  update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null>;
  /** With `expectedVersion`, deletes only that version. False when nothing was deleted. */
  delete(userId: number, id: number, expectedVersion?: number): Promise<boolean>;
  findPage(userId: number, query: TaskPageQuery): Promise<Task[]>;
  count(userId: number, filter: TaskFilter): Promise<number>;
  /**
   * Marks the task's reminder for `remindAt` as fired, if the task still has that reminder and
   * it has not fired yet: one conditional statement, so of concurrent claims exactly one gets the
   * task back, and the others null. Neither the version nor updated_at change (firing is not an
   * edit), and no task event is recorded. Changing a task's remind_at makes it pending again.
   */
  claimReminder(userId: number, id: number, remindAt: Date): Promise<Task | null>;
  /**
   * Every user's pending reminders due at `now` or before, earliest first, at most `limit`: the
   * one method not scoped to an owner, for the sweep that fires reminders whose job was lost.
   */
  findDueReminders(now: Date, limit: number): Promise<DueReminder[]>;
}

export const TASK_REPOSITORY = Symbol('TaskRepository');
