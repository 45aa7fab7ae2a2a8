import type { Task } from '../../domain/index.js';
import type { DomainEvent, EventPublisher } from '../ports/index.js';

export type TaskCreated = DomainEvent<'task.created', { task: Task }>;
export type TaskUpdated = DomainEvent<'task.updated', { task: Task }>;
export type TaskDeleted = DomainEvent<'task.deleted', { taskId: number }>;
/** A task's remind_at has come: the task as it is then. It changes nothing. */
export type TaskReminder = DomainEvent<'task.reminder', { task: Task }>;
export type TaskEvent = TaskCreated | TaskUpdated | TaskDeleted | TaskReminder;

/** Publishes a task's change to its owner (see EventPublisher). The payload is a copy, never the live entity. */
export function publishTaskEvent(events: EventPublisher, event: TaskEvent): Promise<void> {
  const payload = 'task' in event.payload ? { task: { ...event.payload.task, tags: [...event.payload.task.tags] } } : event.payload;
  return events.publish({ ...event, payload });
}
