import { taskFromRecord, type TaskRecord } from './knex-task-repository.js';

const taskSnapshot = (data: string): unknown => ({ task: taskFromRecord(JSON.parse(data) as TaskRecord) });

/**
 * The event types the schema appends itself, by triggers in the very statement that writes the
 * task (migration 009), and how each one's `events.data` reads back into the payload use cases
 * publish. A publisher appends nothing for these (the write already has, atomically); it only
 * announces them. Every other type is appended by the publisher, in `event-data.ts`'s format.
 */
export const RECORDED_BY_THE_SCHEMA: ReadonlyMap<string, (data: string) => unknown> = new Map([
  ['task.created', taskSnapshot],
  ['task.updated', taskSnapshot],
  ['task.deleted', (data: string): unknown => JSON.parse(data)],
]);
