import type { Task, TaskInput } from '../../domain/index.js';
import { DomainError, ValidationError, newTaskState, parseTaskInput } from '../../domain/index.js';
import type { Clock, EventPublisher, IdempotencyKeys, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import type { ReminderScheduler } from '../jobs/reminder-scheduler.js';
import { publishTaskEvent } from './task-events.js';

/** How long a key is remembered, and after how long an unfinished claim counts as abandoned. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_IN_FLIGHT_LEASE_MS = 60 * 1000;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function parseIdempotencyKey(raw: string): string {
  if (!IDEMPOTENCY_KEY.test(raw)) throw ValidationError.field('idempotency-key', 'must be 1 to 255 visible ASCII characters');
  return raw;
}

/** The same body, whatever order its keys came in. */
function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${fingerprint(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

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

    const outcome = await this.idempotency.claim({
      userId: actor.userId,
      key,
      fingerprint: fingerprint(input),
      now,
      expiredBefore: new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS),
      abandonedBefore: new Date(now.getTime() - IDEMPOTENCY_IN_FLIGHT_LEASE_MS),
    });
    if (outcome.kind === 'replay') return { task: outcome.tasks[0]!, replayed: true };
    if (outcome.kind === 'in_flight') {
      throw new DomainError('IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed; retry later.');
    }
    if (outcome.kind === 'mismatch') {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body.', [
        { field: 'idempotency-key', message: 'was already used with a different request body' },
      ]);
    }
    // The task and the key's outcome commit together or not at all: a crash between two separate
    // writes would leave a task behind a key still in flight, and a retry after the lease would
    // create a second one. Rolled back, the key stays in flight with no task, and the retry
    // creates the only one. And if this request outlived its lease and a retry took the key over,
    // `complete` finds the claim token changed and throws, which rolls this task back too: the
    // key's one task is the retry's.
    const { token } = outcome;
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
