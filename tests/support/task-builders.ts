import type { DomainEvent, ChangeLog, Principal } from '../../src/application/index.js';
import type { Task, TaskInput } from '../../src/domain/index.js';

let nextId = 1;

/** A valid stored task; override only what a test is about. */
export function aTask(overrides: Partial<Task> = {}): Task {
  const createdAt = overrides.createdAt ?? new Date('2026-11-22T10:00:00.000Z');
  return {
    id: nextId++,
    userId: 1,
    title: 'Write the report',
    description: '',
    status: 'todo',
    priority: 'medium',
    dueDate: null,
    remindAt: null,
    tags: [],
    completedAt: overrides.status === 'done' ? createdAt : null,
    createdAt,
    updatedAt: createdAt,
    version: 1,
    ...overrides,
  };
}

/** A task as a repository is asked to create it (no id yet), for `userId`. */
export function aNewTask(userId: number, overrides: Partial<Task> = {}): Omit<Task, 'id'> {
  const { id: _id, ...task } = aTask({ userId, ...overrides });
  return task;
}

/** What a client might send to create a task. */
export const aTaskInput = (overrides: Partial<TaskInput> = {}): TaskInput => ({ title: 'Write the report', ...overrides });

export const aPrincipal = (userId = 1): Principal => ({ userId, role: 'user', sessionId: `session-${userId}`, scopes: ['tasks:read', 'tasks:write', 'profile'] });

/** What the use cases appended to a change log for these users, oldest first, as they published it. */
export class LoggedEvents {
  constructor(
    private readonly log: ChangeLog,
    private readonly userIds: readonly number[] = [1, 2, 3],
  ) {}

  async all(): Promise<DomainEvent[]> {
    const logged = (await Promise.all(this.userIds.map((userId) => this.log.readAfter(userId, 0, 10_000)))).flat();
    logged.sort((a, b) => Number(a.id) - Number(b.id));
    return logged.map(({ type, userId, occurredAt, payload }) => ({ type, userId, occurredAt, payload }));
  }
}
