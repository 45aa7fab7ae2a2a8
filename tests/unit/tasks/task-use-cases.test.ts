import { beforeEach, describe, expect, it } from 'vitest';
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasks,
  PatchTask,
  ReplaceTask,
  TaskUpdater,
  IDEMPOTENCY_IN_FLIGHT_LEASE_MS,
  IDEMPOTENCY_KEY_TTL_MS,
  type NewTask,
  type TaskRepository,
} from '../../../src/application/index.js';
import type { DomainErrorCode, Task } from '../../../src/domain/index.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { InMemoryChangeLog } from '../../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../../../src/adapters/persistence/memory/in-memory-event-publisher.js';
import { HmacCursorCodec } from '../../../src/adapters/security/hmac-cursor-codec.js';
import { FixedClock } from '../../support/fakes.js';
import { LoggedEvents, aPrincipal, aTaskInput } from '../../support/task-builders.js';
import { aReminderScheduler } from '../../support/reminders.js';

async function failsWith(promise: Promise<unknown>, code: DomainErrorCode, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
  if (field) await expect(promise).rejects.toMatchObject({ fieldErrors: expect.arrayContaining([expect.objectContaining({ field })]) });
}

/** A repository whose writes can be held open, to stage races and in-flight requests. */
class GatedTaskRepository extends InMemoryTaskRepository {
  gate: Promise<void> | null = null;
  failNextCreate = false;
  beforeUpdate: (() => Promise<void>) | null = null;

  override async create(task: NewTask): Promise<Task> {
    if (this.gate) await this.gate;
    if (this.failNextCreate) {
      this.failNextCreate = false;
      throw new Error('database went away');
    }
    return super.create(task);
  }

  override async update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    const hook = this.beforeUpdate;
    this.beforeUpdate = null;
    if (hook) await hook();
    return super.update(userId, id, expectedVersion, next);
  }
}

class FlakyIdempotencyStore extends InMemoryIdempotencyStore {
  failNextComplete = false;

  override async complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void> {
    if (this.failNextComplete) {
      this.failNextComplete = false;
      throw new Error('lost');
    }
    return super.complete(userId, key, token, created);
  }
}

/** Lets every pending in-memory step run, so a request held at a gate is parked there. */
const parked = () => new Promise<void>((resolve) => setImmediate(resolve));
/** The value or the error a request ends with, without leaving a rejection unhandled meanwhile. */
const settled = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error);

describe('task use cases', () => {
  const ada = aPrincipal(1);
  const bob = aPrincipal(2);
  let tasks: GatedTaskRepository;
  let idempotency: InMemoryIdempotencyStore;
  let events: LoggedEvents;
  let changes: InMemoryChangeLog;
  let clock: FixedClock;
  let createTask: CreateTask;
  let getTask: GetTask;
  let patchTask: PatchTask;
  let replaceTask: ReplaceTask;
  let deleteTask: DeleteTask;
  let listTasks: ListTasks;

  beforeEach(() => {
    tasks = new GatedTaskRepository();
    idempotency = new InMemoryIdempotencyStore();
    changes = new InMemoryChangeLog();
    events = new LoggedEvents(changes);
    clock = new FixedClock();
    const repo: TaskRepository = tasks;
    const transactions = new InMemoryTransactionRunner(tasks, idempotency, changes);
    const publisher = new InMemoryEventPublisher(changes);
    createTask = new CreateTask(repo, idempotency, transactions, publisher, clock, aReminderScheduler());
    getTask = new GetTask(repo);
    const updater = new TaskUpdater(repo, transactions, publisher, clock, aReminderScheduler());
    patchTask = new PatchTask(updater);
    replaceTask = new ReplaceTask(updater);
    deleteTask = new DeleteTask(repo, publisher, clock, aReminderScheduler());
    listTasks = new ListTasks(repo, HmacCursorCodec.fromSecret('unit-test-secret'));
  });

  describe('CreateTask', () => {
    it('stores the task for the caller and announces task.created', async () => {
      const { task, replayed } = await createTask.execute(ada, aTaskInput({ tags: ['a', 'a'] }));
      expect(replayed).toBe(false);
      expect(task).toMatchObject({ userId: 1, version: 1, tags: ['a'], createdAt: clock.now() });
      expect((await events.all())).toEqual([{ type: 'task.created', userId: 1, occurredAt: clock.now(), payload: { task } }]);
    });

    it('validates before anything is stored or announced', async () => {
      await failsWith(createTask.execute(ada, aTaskInput({ title: ' ' })), 'VALIDATION_FAILED', 'title');
      expect(await tasks.count(1, {})).toBe(0);
      expect((await events.all())).toEqual([]);
    });

    it('replays the first result for the same key and body, without creating or announcing again', async () => {
      const first = await createTask.execute(ada, aTaskInput({ priority: 'high' }), 'k1');
      await patchTask.execute(ada, first.task.id, { title: 'changed since' });
      const again = await createTask.execute(ada, { priority: 'high', title: 'Write the report' }, 'k1');
      expect(again).toEqual({ task: first.task, replayed: true });
      expect(await tasks.count(1, {})).toBe(1);
      expect((await events.all()).filter((e) => e.type === 'task.created')).toHaveLength(1);
    });

    it('refuses the same key with another body, and answers a key still in flight with 409', async () => {
      await createTask.execute(ada, aTaskInput(), 'k1');
      await failsWith(createTask.execute(ada, aTaskInput({ title: 'other' }), 'k1'), 'IDEMPOTENCY_KEY_REUSED');

      let open!: () => void;
      tasks.gate = new Promise((resolve) => (open = resolve));
      const slow = createTask.execute(ada, aTaskInput(), 'k2');
      await failsWith(createTask.execute(ada, aTaskInput(), 'k2'), 'IDEMPOTENCY_KEY_IN_FLIGHT');
      tasks.gate = null;
      open();
      const done = await slow;
      expect((await createTask.execute(ada, aTaskInput(), 'k2')).task).toEqual(done.task);
    });

    it('keeps keys per user', async () => {
      const a = await createTask.execute(ada, aTaskInput(), 'same');
      const b = await createTask.execute(bob, aTaskInput(), 'same');
      expect(b.replayed).toBe(false);
      expect(b.task.id).not.toBe(a.task.id);
    });

    it('frees a key whose request failed, and one whose first use is older than 24 hours', async () => {
      tasks.failNextCreate = true;
      await expect(createTask.execute(ada, aTaskInput(), 'k')).rejects.toThrow('database went away');
      const first = await createTask.execute(ada, aTaskInput(), 'k');
      expect(first.replayed).toBe(false);
      clock.advanceMs(IDEMPOTENCY_KEY_TTL_MS - 1);
      expect((await createTask.execute(ada, aTaskInput(), 'k')).replayed).toBe(true);
      clock.advanceMs(2);
      const fresh = await createTask.execute(ada, aTaskInput({ title: 'a new day' }), 'k');
      expect(fresh.replayed).toBe(false);
    });

    it('lets a retry take over a claim older than the lease, and then refuses the overtaken request\'s outcome', async () => {
      let openA!: () => void;
      tasks.gate = new Promise((resolve) => (openA = resolve));
      const a = settled(createTask.execute(ada, aTaskInput(), 'stuck'));
      await parked();
      tasks.gate = null;
      clock.advanceMs(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      const b = await createTask.execute(ada, aTaskInput(), 'stuck');
      expect(b.replayed).toBe(false);

      openA();
      // A's `complete` is refused, inside the transaction with its task: the SQL runners roll that
      // task back (the transaction-runner contract proves it); this runner cannot, so here the
      // use case's answer is what counts: A fails, announces nothing, and the key stays B's.
      expect(await a).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      expect(await createTask.execute(ada, aTaskInput(), 'stuck')).toEqual({ task: b.task, replayed: true });
      expect((await events.all()).filter((e) => e.type === 'task.created')).toEqual([expect.objectContaining({ payload: { task: b.task } })]);
    });

    it('never lets an overtaken request that fails free the key under the retry that took it over', async () => {
      let openA!: () => void;
      tasks.gate = new Promise((resolve) => (openA = resolve));
      const a = settled(createTask.execute(ada, aTaskInput(), 'held'));
      await parked();
      clock.advanceMs(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      let openB!: () => void;
      tasks.gate = new Promise((resolve) => (openB = resolve));
      const b = createTask.execute(ada, aTaskInput(), 'held');
      await parked();
      tasks.gate = null;

      tasks.failNextCreate = true;
      openA();
      expect(await a).toMatchObject({ message: 'database went away' });
      // B still holds the key: a third request must wait for it, not start a second task.
      await failsWith(createTask.execute(ada, aTaskInput(), 'held'), 'IDEMPOTENCY_KEY_IN_FLIGHT');
      openB();
      const done = await b;
      expect(done.replayed).toBe(false);
      expect(await createTask.execute(ada, aTaskInput(), 'held')).toEqual({ task: done.task, replayed: true });
      expect(await tasks.count(1, {})).toBe(1);
    });

    it('announces task.created only after the task and the key\'s outcome are written, and frees the key when they are not', async () => {
      const keys = new FlakyIdempotencyStore();
      keys.failNextComplete = true;
      const create = new CreateTask(tasks, keys, new InMemoryTransactionRunner(tasks, keys, changes), new InMemoryEventPublisher(changes), clock, aReminderScheduler());
      await expect(create.execute(ada, aTaskInput(), 'k')).rejects.toThrow('lost');
      expect((await events.all())).toEqual([]);
      expect(await tasks.count(ada.userId, {})).toBe(0); // rolled back with the key's outcome
      expect((await create.execute(ada, aTaskInput(), 'k')).replayed).toBe(false);
      expect(await tasks.count(ada.userId, {})).toBe(1);
      expect((await events.all()).map((e) => e.type)).toEqual(['task.created']);
    });

    it.each(['', 'has space', 'ünïcode', 'x'.repeat(256), 'tab\there'])('refuses the key %j', async (key) => {
      await failsWith(createTask.execute(ada, aTaskInput(), key), 'VALIDATION_FAILED', 'idempotency-key');
    });
  });

  describe('reading, changing and deleting', () => {
    it('hides another user\'s task behind TASK_NOT_FOUND for every verb', async () => {
      const { task } = await createTask.execute(ada, aTaskInput());
      await failsWith(getTask.execute(bob, task.id), 'TASK_NOT_FOUND');
      await failsWith(patchTask.execute(bob, task.id, { title: 'x' }), 'TASK_NOT_FOUND');
      await failsWith(replaceTask.execute(bob, task.id, aTaskInput()), 'TASK_NOT_FOUND');
      await failsWith(deleteTask.execute(bob, task.id), 'TASK_NOT_FOUND');
      await failsWith(deleteTask.execute(bob, task.id, [1]), 'TASK_NOT_FOUND');
      expect(await getTask.execute(ada, task.id)).toEqual(task);
      expect((await listTasks.execute(bob, { limit: 10 })).total).toBe(0);
    });

    it('a patch that changes nothing keeps the version and announces nothing', async () => {
      const { task } = await createTask.execute(ada, aTaskInput({ tags: ['a'] }));
      expect(await patchTask.execute(ada, task.id, { tags: ['a', 'a'], title: 'Write the report' })).toEqual(task);
      expect((await events.all()).map((e) => e.type)).toEqual(['task.created']);
    });

    it('a change grows the version by one and announces task.updated', async () => {
      const { task } = await createTask.execute(ada, aTaskInput());
      clock.advanceMs(1000);
      const updated = await replaceTask.execute(ada, task.id, { title: 'New', completed: true });
      expect(updated).toMatchObject({ version: 2, status: 'done', completedAt: clock.now(), updatedAt: clock.now(), createdAt: task.createdAt });
      expect((await events.all()).at(-1)).toEqual({ type: 'task.updated', userId: 1, occurredAt: clock.now(), payload: { task: updated } });
    });

    it('refuses a stale If-Match before writing', async () => {
      const { task } = await createTask.execute(ada, aTaskInput());
      await patchTask.execute(ada, task.id, { title: 'v2' });
      await failsWith(patchTask.execute(ada, task.id, { title: 'v3' }, [1]), 'VERSION_MISMATCH');
      await failsWith(patchTask.execute(ada, task.id, { title: 'v3' }, []), 'VERSION_MISMATCH');
      await failsWith(deleteTask.execute(ada, task.id, [1]), 'VERSION_MISMATCH');
      expect(await getTask.execute(ada, task.id)).toMatchObject({ title: 'v2', version: 2 });
      expect((await events.all()).map((e) => e.type)).toEqual(['task.created', 'task.updated']);
      expect(await patchTask.execute(ada, task.id, { title: 'v3' }, [1, 2])).toMatchObject({ title: 'v3', version: 3 });
    });

    it('a write that loses a race: 412 with If-Match, recomputed on the fresh state without', async () => {
      const { task } = await createTask.execute(ada, aTaskInput());
      // Another writer commits between this use case's read and its conditional write.
      const sneakIn = () => async () => {
        const current = (await tasks.findById(1, task.id))!;
        await tasks.update(1, task.id, current.version, { ...current, description: 'sneaked', version: current.version + 1 });
      };
      tasks.beforeUpdate = sneakIn();
      await failsWith(patchTask.execute(ada, task.id, { title: 'mine' }, [1]), 'VERSION_MISMATCH');
      expect(await getTask.execute(ada, task.id)).toMatchObject({ title: 'Write the report', description: 'sneaked', version: 2 });

      tasks.beforeUpdate = sneakIn();
      const merged = await patchTask.execute(ada, task.id, { title: 'mine' });
      expect(merged).toMatchObject({ title: 'mine', description: 'sneaked', version: 4 });
      // The lost attempts announced nothing; the write made on the held task announced itself once.
      expect((await events.all()).map((e) => e.type)).toEqual(['task.created', 'task.updated']);
      expect((await events.all()).at(-1)).toMatchObject({ payload: { task: merged } });
    });

    it('deletes once and announces task.deleted', async () => {
      const { task } = await createTask.execute(ada, aTaskInput());
      await deleteTask.execute(ada, task.id, [1]);
      expect((await events.all()).at(-1)).toMatchObject({ type: 'task.deleted', userId: 1, payload: { taskId: task.id } });
      await failsWith(deleteTask.execute(ada, task.id), 'TASK_NOT_FOUND');
    });
  });

  describe('ListTasks', () => {
    beforeEach(async () => {
      for (const [i, priority] of (['low', 'high', 'medium', 'urgent', 'low'] as const).entries()) {
        await createTask.execute(ada, aTaskInput({ title: `task ${i}`, priority, tags: i % 2 ? ['odd'] : [] }));
        clock.advanceMs(1000);
      }
    });

    it('pages by cursor through every task once, with total and a null offset', async () => {
      const first = await listTasks.execute(ada, { limit: 2, sort: 'priority' });
      expect(first).toMatchObject({ total: 5, limit: 2, offset: 0, nextCursor: expect.any(String) });
      const second = await listTasks.execute(ada, { limit: 2, cursor: first.nextCursor! });
      const third = await listTasks.execute(ada, { limit: 2, cursor: second.nextCursor! });
      expect(second.offset).toBeNull();
      expect(third.nextCursor).toBeNull();
      expect([...first.items, ...second.items, ...third.items].map((t) => t.title)).toEqual(['task 0', 'task 4', 'task 2', 'task 1', 'task 3']);
    });

    it('refuses a cursor of another user, with changed filters, or alongside an offset', async () => {
      const page = await listTasks.execute(ada, { limit: 1, tag: ['odd'] });
      await failsWith(listTasks.execute(bob, { limit: 1, cursor: page.nextCursor! }), 'INVALID_CURSOR', 'cursor');
      await failsWith(listTasks.execute(ada, { limit: 1, cursor: page.nextCursor!, tag: ['even'] }), 'INVALID_CURSOR', 'cursor');
      await failsWith(listTasks.execute(ada, { limit: 1, cursor: page.nextCursor!, sort: 'title' }), 'INVALID_CURSOR', 'cursor');
      await failsWith(listTasks.execute(ada, { limit: 1, cursor: page.nextCursor!, status: ['todo'] }), 'INVALID_CURSOR', 'cursor');
      await failsWith(listTasks.execute(ada, { limit: 1, cursor: `${page.nextCursor!}x` }), 'INVALID_CURSOR', 'cursor');
      await failsWith(listTasks.execute(ada, { limit: 1, cursor: page.nextCursor!, offset: 3 }), 'VALIDATION_FAILED', 'offset');
      expect((await listTasks.execute(ada, { limit: 5, cursor: page.nextCursor!, tag: ['odd', 'odd'] })).items).toHaveLength(1);
    });

    it('validates paging and filter values', async () => {
      await failsWith(listTasks.execute(ada, { limit: 0 }), 'VALIDATION_FAILED', 'limit');
      await failsWith(listTasks.execute(ada, { limit: 101 }), 'VALIDATION_FAILED', 'limit');
      await failsWith(listTasks.execute(ada, { limit: 1, sort: 'name' }), 'VALIDATION_FAILED', 'sort');
      await failsWith(listTasks.execute(ada, { limit: 1, status: ['nope'] }), 'VALIDATION_FAILED', 'status');
      await failsWith(listTasks.execute(ada, { limit: 1, due_before: 'soon' }), 'VALIDATION_FAILED', 'due_before');
    });
  });
});
