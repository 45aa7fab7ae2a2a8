import type { TaskPriority, TaskStatus } from '../../../domain/index.js';
import type { WriteUnit } from './write-unit.js';

/** The columns a Task is read from, in the order of TaskTuple. */
export const TASK_COLUMNS = [
  'id', 'user_id', 'title', 'description', 'status', 'priority', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version',
] as const;

export type TaskTuple = [
  id: number | string,
  userId: number | string,
  title: string,
  description: string,
  status: TaskStatus,
  priority: TaskPriority,
  dueDate: string | Date | null,
  tags: string,
  completedAt: string | Date | null,
  createdAt: string | Date,
  updatedAt: string | Date,
  version: number | string,
];

export const INSERT_COLUMNS = [
  'user_id', 'title', 'title_key', 'description', 'status', 'priority', 'priority_rank',
  'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version',
] as const;
/** Everything but the owner and the creation time. */
export const UPDATE_COLUMNS = INSERT_COLUMNS.filter((column) => column !== 'user_id' && column !== 'created_at');

/**
 * Writes answer only what the caller does not already know — the new id, whether the row matched
 * — rather than RETURNING the row it has just sent: on SQLite that row would cross the thread
 * back and be parsed again, for every write. The task's tag rows follow its tags column by
 * triggers (migration 006), in the same statement.
 */
const INSERT_TASK = `insert into tasks (${INSERT_COLUMNS.join(', ')}) values (${INSERT_COLUMNS.map(() => '?').join(', ')}) returning id`;
const UPDATE_TASK = `update tasks set ${UPDATE_COLUMNS.map((column) => `${column} = ?`).join(', ')} where id = ? and user_id = ? and version = ?`;

/** The new task's id. */
export const createTask: WriteUnit<{ values: unknown[] }, number | string> = {
  name: 'tasks.create',
  oneStatement: true,
  async run(statements, { values }) {
    const [[id]] = (await statements.tuples<[id: number | string]>(INSERT_TASK, values)) as [[number | string]];
    return id;
  },
};

/** False when no task of the user's has that id at that version: a concurrent writer came first. */
export const updateTask: WriteUnit<{ id: number; userId: number; expectedVersion: number; values: unknown[] }, boolean> = {
  name: 'tasks.update',
  oneStatement: true,
  async run(statements, { id, userId, expectedVersion, values }) {
    // One conditional statement decides between concurrent writers: the loser matches no row.
    return (await statements.run(UPDATE_TASK, [...values, id, userId, expectedVersion])) > 0;
  },
};

/** Every unit, by name: what the SQLite thread can run. */
export const WRITE_UNITS: ReadonlyMap<string, WriteUnit<never, unknown>> = new Map(
  [createTask, updateTask].map((unit) => [unit.name, unit as WriteUnit<never, unknown>]),
);
