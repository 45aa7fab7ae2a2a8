import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CreateTask,
  DeleteTask,
  FireDueReminders,
  FireReminder,
  JobRefusedError,
  PatchTask,
  REMINDERS_QUEUE,
  ReminderScheduler,
  ReplaceTask,
  TaskUpdater,
  reminderJob,
  type JobOptions,
  type JobPayload,
  type JobQueue,
  type JobWorker,
  type Reminder,
  type TransactionRunner,
} from '../../../src/application/index.js';
import type { Task, TaskInput } from '../../../src/domain/index.js';
import { InMemoryJobQueue } from '../../../src/adapters/jobs/in-memory-job-queue.js';
import { InMemoryChangeLog } from '../../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../../../src/adapters/persistence/memory/in-memory-event-publisher.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { SystemClock } from '../../../src/adapters/system/system-clock.js';
import { aPrincipal } from '../../support/task-builders.js';

/**
 * Reminders on the in-memory adapters, on faked time: the queue, its worker and the clock all
 * read Date, so moving time runs what falls due.
 */
const START = new Date('2026-11-22T10:00:00.000Z');
const MINUTE = 60_000;
const inMinutes = (minutes: number): string => new Date(Date.now() + minutes * MINUTE).toISOString();

/** A queue that accepts nothing: every enqueue and cancel fails, as a queue whose server is down. */
class UnreachableJobQueue implements JobQueue {
  async enqueue(_queue: string, _payload: JobPayload, _options?: JobOptions): Promise<void> {
    throw new Error('queue unreachable');
  }
  async repeat(): Promise<void> {
    throw new Error('queue unreachable');
  }
  async cancel(): Promise<void> {
    throw new Error('queue unreachable');
  }
  async waiting(): Promise<number> {
    throw new Error('queue unreachable');
  }
}

/** A runner whose units die after their work, before committing: nothing they wrote stays. */
const crashingBeforeCommit = (runner: TransactionRunner): TransactionRunner => ({
  run: (work) =>
    runner.run(async (scope) => {
      await work(scope);
      throw new Error('process died');
    }),
});

function reminderHarness(queue: JobQueue = new InMemoryJobQueue()) {
  const clock = new SystemClock();
  const tasks = new InMemoryTaskRepository();
  const keys = new InMemoryIdempotencyStore();
  const log = new InMemoryChangeLog();
  const transactions = new InMemoryTransactionRunner(tasks, keys, log);
  const publisher = new InMemoryEventPublisher(log);
  const failures: unknown[] = [];
  const scheduler = new ReminderScheduler(queue, (error) => failures.push(error));
  const updater = new TaskUpdater(tasks, transactions, publisher, clock, scheduler);
  const fireReminder = new FireReminder(transactions, clock);
  const actor = aPrincipal(1);
  return {
    tasks,
    transactions,
    failures,
    fireReminder,
    sweep: (batchSize?: number) => new FireDueReminders(tasks, fireReminder, clock, batchSize).execute(),
    create: async (input: Partial<TaskInput>, key?: string) =>
      (await new CreateTask(tasks, keys, transactions, publisher, clock, scheduler).execute(actor, { title: 'Call the bank', ...input }, key)).task,
    patch: (task: Task, patch: Partial<TaskInput>) => new PatchTask(updater).execute(actor, task.id, patch),
    replace: (task: Task, input: TaskInput) => new ReplaceTask(updater).execute(actor, task.id, input),
    remove: (task: Task) => new DeleteTask(tasks, publisher, clock, scheduler).execute(actor, task.id),
    /** The tasks of the task.reminder events appended so far, oldest first. */
    reminded: async (): Promise<Task[]> =>
      (await log.readAfter(actor.userId, 0, 10_000)).filter((event) => event.type === 'task.reminder').map((event) => (event.payload as { task: Task }).task),
  };
}

const reminderOf = (task: Task): Reminder => ({ userId: task.userId, taskId: task.id, remindAt: task.remindAt! });

describe('reminders', () => {
  let workers: JobWorker[];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'], now: START });
    workers = [];
  });
  afterEach(async () => {
    for (const worker of workers) await worker.stop(1_000);
    vi.useRealTimers();
  });

  /** A worker running the reminders queue with `fireReminder`, as a worker process would. */
  async function runReminders(queue: InMemoryJobQueue, fireReminder: FireReminder): Promise<void> {
    const worker = queue.worker();
    workers.push(worker);
    await worker.start({ [REMINDERS_QUEUE]: fireReminder });
    await vi.advanceTimersByTimeAsync(0);
  }
  const advanceMinutes = (minutes: number) => vi.advanceTimersByTimeAsync(minutes * MINUTE);

  describe('FireReminder', () => {
    it('appends task.reminder once, with the task as it is when it fires', async () => {
      const h = reminderHarness();
      const task = await h.create({ remindAt: inMinutes(-1) });
      const edited = await h.patch(task, { title: 'Call the bank before noon' });
      const { payload } = reminderJob(reminderOf(task));
      await h.fireReminder.run(payload);
      await h.fireReminder.run(payload);
      expect(await h.reminded()).toEqual([edited]);
      expect(await h.tasks.findById(1, task.id)).toEqual(edited);
    });

    it('consumes a done task\'s reminder without an event', async () => {
      const h = reminderHarness();
      const task = await h.create({ remindAt: inMinutes(-1), status: 'done' });
      expect(await h.fireReminder.fire(reminderOf(task))).toBe(true);
      expect(await h.reminded()).toEqual([]);
      expect(await h.sweep()).toBe(0);
    });

    it('does nothing for a deleted task, or for a time the task no longer has', async () => {
      const h = reminderHarness();
      const deleted = await h.create({ remindAt: inMinutes(-1) });
      await h.remove(deleted);
      expect(await h.fireReminder.fire(reminderOf(deleted))).toBe(false);
      const moved = await h.create({ remindAt: inMinutes(-2) });
      const now = await h.patch(moved, { remindAt: inMinutes(-1) });
      expect(await h.fireReminder.fire(reminderOf(moved))).toBe(false);
      expect(await h.reminded()).toEqual([]);
      expect(await h.fireReminder.fire(reminderOf(now))).toBe(true);
      expect(await h.reminded()).toEqual([now]);
    });

    it('fires once when several runs of one reminder race', async () => {
      const h = reminderHarness();
      const task = await h.create({ remindAt: inMinutes(-1) });
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => h.fireReminder.fire(reminderOf(task))));
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect(await h.reminded()).toEqual([task]);
    });

    it('leaves the reminder pending when its unit of work does not commit', async () => {
      const h = reminderHarness();
      const task = await h.create({ remindAt: inMinutes(-1) });
      await expect(new FireReminder(crashingBeforeCommit(h.transactions), new SystemClock()).fire(reminderOf(task))).rejects.toThrow('process died');
      expect(await h.reminded()).toEqual([]);
      expect(await h.tasks.findDueReminders(new Date(), 10)).toEqual([reminderOf(task)]);
      expect(await h.fireReminder.fire(reminderOf(task))).toBe(true);
    });

    it.each<[string, unknown]>([
      ['no payload', null],
      ['a list', [1, 2]],
      ['no user', { taskId: 1, remindAt: START.toISOString() }],
      ['a user id of 0', { userId: 0, taskId: 1, remindAt: START.toISOString() }],
      ['a task id as text', { userId: 1, taskId: '1', remindAt: START.toISOString() }],
      ['a fractional task id', { userId: 1, taskId: 1.5, remindAt: START.toISOString() }],
      ['no time', { userId: 1, taskId: 1 }],
      ['a time as a number', { userId: 1, taskId: 1, remindAt: START.getTime() }],
      ['a time that is not RFC 3339', { userId: 1, taskId: 1, remindAt: 'tomorrow' }],
    ])('refuses a job with %s, so it fails at once instead of retrying', async (_name, payload) => {
      const h = reminderHarness();
      await expect(h.fireReminder.run(payload)).rejects.toBeInstanceOf(JobRefusedError);
    });
  });

  describe('ReminderScheduler after task writes', () => {
    it('fires at remind_at and not before', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      await runReminders(queue, h.fireReminder);
      const task = await h.create({ remindAt: inMinutes(10) });
      await advanceMinutes(9);
      expect(await h.reminded()).toEqual([]);
      await advanceMinutes(1);
      expect(await h.reminded()).toEqual([task]);
      await advanceMinutes(60);
      expect(await h.reminded()).toEqual([task]);
    });

    it('fires a time already past at once', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      await runReminders(queue, h.fireReminder);
      const task = await h.create({ remindAt: inMinutes(-30) });
      await advanceMinutes(0);
      expect(await h.reminded()).toEqual([task]);
    });

    it('reschedules on PATCH: the old time passes without a reminder, the new one fires', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      await runReminders(queue, h.fireReminder);
      const task = await h.create({ remindAt: inMinutes(10) });
      const moved = await h.patch(task, { remindAt: inMinutes(20) });
      await advanceMinutes(15);
      expect(await h.reminded()).toEqual([]);
      await advanceMinutes(5);
      expect(await h.reminded()).toEqual([moved]);
    });

    it('leaves the queue alone when a write keeps remind_at', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      const task = await h.create({ remindAt: inMinutes(-1) });
      await h.patch(task, { title: 'Call the bank today' });
      expect(await queue.waiting(REMINDERS_QUEUE)).toBe(1);
    });

    it('cancels the old job on DELETE, on PUT without remind_at, on PATCH to null and on PATCH to another time', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      const deleted = await h.create({ remindAt: inMinutes(-1) });
      const replaced = await h.create({ remindAt: inMinutes(-1) });
      const cleared = await h.create({ remindAt: inMinutes(-1) });
      const moved = await h.create({ remindAt: inMinutes(-1) });
      expect(await queue.waiting(REMINDERS_QUEUE)).toBe(4);
      await h.remove(deleted);
      await h.replace(replaced, { title: 'No reminder' });
      await h.patch(cleared, { remindAt: null });
      const movedAgain = await h.patch(moved, { remindAt: inMinutes(-2) });
      expect(await queue.waiting(REMINDERS_QUEUE)).toBe(1);
      await runReminders(queue, h.fireReminder);
      await advanceMinutes(60);
      expect(await h.reminded()).toEqual([movedAgain]);
    });

    it('schedules once for a create replayed by its Idempotency-Key', async () => {
      const queue = new InMemoryJobQueue();
      const h = reminderHarness(queue);
      const remindAt = inMinutes(-1);
      const first = await h.create({ remindAt }, 'retry-me');
      const again = await h.create({ remindAt }, 'retry-me');
      expect(again).toEqual(first);
      expect(await queue.waiting(REMINDERS_QUEUE)).toBe(1);
    });

    it('reports a queue that fails, never fails the write, and leaves the reminder to the sweep', async () => {
      const h = reminderHarness(new UnreachableJobQueue());
      const task = await h.create({ remindAt: inMinutes(5) });
      const moved = await h.patch(task, { remindAt: inMinutes(10) });
      expect(h.failures).toEqual([new Error('queue unreachable'), new Error('queue unreachable'), new Error('queue unreachable')]);
      expect(await h.sweep()).toBe(0);
      await advanceMinutes(10);
      expect(await h.sweep()).toBe(1);
      expect(await h.reminded()).toEqual([moved]);
    });
  });

  describe('FireDueReminders', () => {
    it('fires every pending reminder due by now, in batches, done ones without an event, and none twice', async () => {
      const h = reminderHarness();
      const due = [];
      for (let minutes = -5; minutes < 0; minutes += 1) due.push(await h.create({ remindAt: inMinutes(minutes) }));
      await h.create({ remindAt: inMinutes(-3), status: 'done' });
      const future = await h.create({ remindAt: inMinutes(30) });
      await h.create({});

      expect(await h.sweep(2)).toBe(6);
      expect(await h.reminded()).toEqual(due);
      expect(await h.sweep(2)).toBe(0);
      await advanceMinutes(30);
      expect(await h.sweep(2)).toBe(1);
      expect(await h.reminded()).toEqual([...due, future]);
    });

    it('ends when a batch consumes nothing, instead of reading it again and again', async () => {
      const h = reminderHarness();
      for (let n = 0; n < 3; n += 1) await h.create({ remindAt: inMinutes(-1) });
      class AlwaysBeaten extends FireReminder {
        attempts = 0;
        override async fire(): Promise<boolean> {
          this.attempts += 1;
          return false;
        }
      }
      const beaten = new AlwaysBeaten(h.transactions, new SystemClock());
      expect(await new FireDueReminders(h.tasks, beaten, new SystemClock(), 2).execute()).toBe(0);
      expect(beaten.attempts).toBe(2);
    });
  });
});
