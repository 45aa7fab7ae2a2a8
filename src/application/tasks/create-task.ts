import type { Task, TaskInput } from '../../domain/index.js';
import { newTaskState, parseTaskInput } from '../../domain/index.js';
import type { Clock, EventPublisher, IdempotencyKeys, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import type { ReminderScheduler } from '../jobs/reminder-scheduler.js';
import { claimIdempotencyKey, parseIdempotencyKey } from './idempotency.js';
import { publishTaskEvent } from './task-events.js';

export interface CreatedTask {
  task: Task;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

export class CreateTask {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly idempotency: IdempotencyKeys,
    private readonly transactions: TransactionRunner,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly reminders: ReminderScheduler,
  ) {}

  async execute(actor: Principal, input: TaskInput, idempotencyKey?: string): Promise<CreatedTask> {
    const key = idempotencyKey === undefined ? undefined : parseIdempotencyKey(idempotencyKey);
    // Validation comes first: a request that fails it never claims (and so never uses up) a key.
    const fields = parseTaskInput(input);
    const now = this.clock.now();
    const state = newTaskState(actor.userId, fields, now);
    if (key === undefined) {
      const task = await this.tasks.create(state);
      await announce(this.events, task, now);
      await this.reminders.created(task);
      return { task, replayed: false };
    }

    const claim = await claimIdempotencyKey(this.idempotency, actor.userId, key, input, now);
    if (claim.kind === 'replay') return { task: claim.tasks[0]!, replayed: true };
    // The task and the key's outcome commit together or not at all: a crash between two separate
    // writes would leave a task behind a key still in flight, and a retry after the lease would
    // create a second one. Rolled back, the key stays in flight with no task, and the retry
    // creates the only one. And if this request outlived its lease and a retry took the key over,
    // `complete` finds the claim token changed and throws, which rolls this task back too: the
    // key's one task is the retry's.
    const { token } = claim;
    let task: Task;
    try {
      task = await this.transactions.run(async (scope) => {
        const created = await scope.tasks.create(state);
        await scope.idempotency.complete(actor.userId, key, token, [created]);
        await announce(scope.events, created, now);
        return created;
      });
    } catch (error) {
      await this.idempotency.release(actor.userId, key, token);
      throw error;
    }
    await this.reminders.created(task);
    return { task, replayed: false };
  }
}

const announce = (events: EventPublisher, task: Task, now: Date): Promise<void> =>
  publishTaskEvent(events, { type: 'task.created', userId: task.userId, occurredAt: now, payload: { task } });
