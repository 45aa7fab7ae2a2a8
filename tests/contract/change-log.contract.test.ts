import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CreateTask,
  DeleteTask,
  PatchTask,
  TaskUpdater,
  type ChangeLog,
  type DomainEvent,
  type EventPublisher,
  type IdempotencyStore,
  type LoggedEvent,
  type TaskRepository,
  type TransactionRunner,
} from '../../src/application/index.js';
import type { Task } from '../../src/domain/index.js';
import { closeReadPool, openReadPool } from '../../src/adapters/persistence/knex/database.js';
import { KnexChangeLog, KnexEventAppender, KnexEventPublisher } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { KnexTransactionRunner } from '../../src/adapters/persistence/knex/knex-transaction-runner.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../../src/adapters/persistence/memory/in-memory-event-publisher.js';
import { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { availableEngines, type SqlEngine } from '../support/databases.js';
import { FixedClock } from '../support/fakes.js';
import { aNewTask, aPrincipal, aTask, aTaskInput } from '../support/task-builders.js';
import { openTaskStores } from '../support/task-stores.js';
import { aReminderScheduler } from '../support/reminders.js';
import { gate } from '../support/gate.js';

type LogKind = 'memory' | SqlEngine;
const kinds: LogKind[] = ['memory', ...(await availableEngines())];

/** A change log with the unit of work and the publisher that append to it, as the service wires them. */
interface LogUnderTest {
  log: ChangeLog;
  runner: TransactionRunner;
  /** The publisher for writes made outside a unit of work. */
  events: EventPublisher;
  tasks: TaskRepository;
  idempotency: IdempotencyStore;
  /** The SQL connection (null in memory). */
  db: Knex | null;
  newUser(): Promise<number>;
  close(): Promise<void>;
}

let memoryUsers = 0;

async function openLog(kind: LogKind): Promise<LogUnderTest> {
  if (kind === 'memory') {
    const tasks = new InMemoryTaskRepository();
    const idempotency = new InMemoryIdempotencyStore();
    const log = new InMemoryChangeLog();
    const runner = new InMemoryTransactionRunner(tasks, idempotency, log);
    return { log, runner, events: new InMemoryEventPublisher(log), tasks, idempotency, db: null, newUser: async () => ++memoryUsers, close: async () => {} };
  }
  const stores = await openTaskStores(kind);
  const db = stores.database!.db;
  // Reads on their own connections, as the service reads: on an SQLite file, a pool beside the
  // one writing connection, so a read while a unit of work is open does not wait for it.
  const reads = openReadPool(db);
  return {
    log: new KnexChangeLog(db, reads),
    runner: new KnexTransactionRunner(db),
    events: new KnexEventPublisher(db),
    tasks: stores.tasks,
    idempotency: stores.idempotency,
    db,
    newUser: () => stores.newUser(),
    close: async () => {
      await closeReadPool(reads, db);
      await stores.close();
    },
  };
}

const now = new Date('2026-12-08T10:00:00.000Z');
let notes = 0;

/**
 * The log's mechanics are tested with an event type of the tests' own, which every publisher
 * appends itself on every engine (task events, SQL appends with the write: see the end).
 */
const NOTE = 'test.noted';

/** A small event of `userId`'s; `n` tells events apart. */
const aNote = (userId: number, n = ++notes, occurredAt = now): DomainEvent => ({ type: NOTE, userId, occurredAt, payload: { n } });

const ALL = 10_000;
const positions = (events: LoggedEvent[]) => events.map((event) => event.position);
const notesOf = (events: LoggedEvent[]) => events.map((event) => (event.payload as { n: number }).n);

describe.each(kinds)('ChangeLog on %s', (kind) => {
  let subject: LogUnderTest;
  let log: ChangeLog;

  beforeAll(async () => {
    subject = await openLog(kind);
    log = subject.log;
  });
  afterAll(() => subject.close());

  /** One unit of work that appends `events`, in order. */
  const append = (...events: DomainEvent[]) =>
    subject.runner.run(async (scope) => {
      for (const event of events) await scope.events.publish(event);
    });

  it('numbers each user\'s events 1, 2, 3… in commit order, with ids unique across users', async () => {
    const [a, b] = [await subject.newUser(), await subject.newUser()];
    await append(aNote(a, 1));
    await append(aNote(b, 2), aNote(a, 3));
    await append(aNote(a, 4), aNote(b, 5));

    const ofA = await log.readAfter(a, 0, ALL);
    const ofB = await log.readAfter(b, 0, ALL);
    expect(positions(ofA)).toEqual([1, 2, 3]);
    expect(notesOf(ofA)).toEqual([1, 3, 4]);
    expect(positions(ofB)).toEqual([1, 2]);
    expect(notesOf(ofB)).toEqual([2, 5]);
    const ids = [...ofA, ...ofB].map((event) => event.id);
    expect(new Set(ids).size).toBe(5);
    for (const event of [...ofA, ...ofB]) expect(event.id).toMatch(/^[1-9][0-9]*$/);
    expect([...ofA, ...ofB].every((event) => event.type === NOTE && event.userId === (ofA.includes(event) ? a : b))).toBe(true);
  });

  it('reads a user\'s events after a position, oldest first, at most `limit`, and nobody else\'s', async () => {
    const [user, other] = [await subject.newUser(), await subject.newUser()];
    for (let i = 1; i <= 5; i++) await append(aNote(user, 100 + i), aNote(other));

    expect(notesOf(await log.readAfter(user, 2, ALL))).toEqual([103, 104, 105]);
    expect(notesOf(await log.readAfter(user, 0, 2))).toEqual([101, 102]);
    expect(positions(await log.readAfter(user, 3, 1))).toEqual([4]);
    expect(await log.readAfter(user, 5, ALL)).toEqual([]);
    expect(await log.readAfter(await subject.newUser(), 0, ALL)).toEqual([]);
    expect((await log.readAfter(user, 0, ALL)).every((event) => event.userId === user)).toBe(true);
  });

  it('finds an event\'s position only for its own user: another user\'s, unknown and malformed ids are null', async () => {
    const [user, other] = [await subject.newUser(), await subject.newUser()];
    await append(aNote(user), aNote(user));
    await append(aNote(other));
    const [, second] = await log.readAfter(user, 0, ALL);
    const [foreign] = await log.readAfter(other, 0, ALL);

    expect(await log.positionOf(user, second!.id)).toBe(2);
    expect(await log.positionOf(user, foreign!.id)).toBeNull();
    expect(await log.positionOf(other, second!.id)).toBeNull();
    for (const unknown of ['999999999999', '0', 'abc', '', '1.5', '-1', `${second!.id} `, '99999999999999999999999']) {
      expect(await log.positionOf(user, unknown)).toBeNull();
    }
  });

  it('reports the newest event and head: none and 0 at first, then the last appended', async () => {
    const user = await subject.newUser();
    expect(await log.latest(user)).toBeNull();
    expect(await log.head(user)).toBe(0);
    await append(aNote(user, 7), aNote(user, 8));
    const latest = await log.latest(user);
    expect(latest).toMatchObject({ userId: user, position: 2, payload: { n: 8 } });
    expect(await log.positionOf(user, latest!.id)).toBe(2);
    expect(await log.head(user)).toBe(2);
  });

  it('purges events older than the cutoff only, keeps the head, and goes on numbering where it was', async () => {
    const user = await subject.newUser();
    const old = new Date('2000-01-01T00:00:00.000Z');
    await append(aNote(user, 1, old), aNote(user, 2, old));
    await append(aNote(user, 3, now));
    const before = await log.readAfter(user, 0, ALL);

    // Other tests' events are all at `now`: only these two are older than the cutoff.
    expect(await log.purgeBefore(new Date('2000-01-02T00:00:00.000Z'))).toBe(2);
    expect(notesOf(await log.readAfter(user, 0, ALL))).toEqual([3]);
    expect(await log.positionOf(user, before[0]!.id)).toBeNull();
    expect(await log.positionOf(user, before[2]!.id)).toBe(3);
    expect(await log.head(user)).toBe(3);

    await log.purgeBefore(new Date('2100-01-01T00:00:00.000Z'));
    expect(await log.latest(user)).toBeNull();
    expect(await log.head(user)).toBe(3);

    await append(aNote(user, 4));
    const [next] = await log.readAfter(user, 0, ALL);
    expect(next).toMatchObject({ position: 4, payload: { n: 4 } });
    // An id names one event for good: a purged event's id never comes back.
    expect(before.map((event) => event.id)).not.toContain(next!.id);
    expect(Number(next!.id)).toBeGreaterThan(Math.max(...before.map((event) => Number(event.id))));
  });

  it('reads the heads of many users at once: 0 for a user without events, the purged ones counted', async () => {
    const [a, b, c] = [await subject.newUser(), await subject.newUser(), await subject.newUser()];
    await append(aNote(a), aNote(a));
    await append(aNote(b));
    expect(await log.heads([a, b, c])).toEqual(new Map([[a, 2], [b, 1], [c, 0]]));
    expect(await log.heads([])).toEqual(new Map());
  });

  it('purges a prefix of each log: an event older than the cutoff takes every earlier position with it, so resuming never skips one', async () => {
    const user = await subject.newUser();
    // Positions follow commit order, times are taken before the commit: a later position can carry an earlier time.
    await append(aNote(user, 1, new Date('2000-01-03T00:00:00.000Z')));
    await append(aNote(user, 2, new Date('2000-01-01T00:00:00.000Z')));
    await append(aNote(user, 3, now));
    const [first] = await log.readAfter(user, 0, ALL);

    expect(await log.purgeBefore(new Date('2000-01-02T00:00:00.000Z'))).toBe(2);
    expect(positions(await log.readAfter(user, 0, ALL))).toEqual([3]);
    expect(await log.positionOf(user, first!.id)).toBeNull();
  });

  it('keeps nothing of a unit of work that rolls back: no event, no advanced head, no id handed on', async () => {
    const user = await subject.newUser();
    await append(aNote(user, 1));
    const [kept] = await log.readAfter(user, 0, ALL);

    await expect(
      subject.runner.run(async (scope) => {
        await scope.events.publish(aNote(user, 2));
        await scope.events.publish(aNote(user, 3));
        throw new Error('died before commit');
      }),
    ).rejects.toThrow('died before commit');
    expect(notesOf(await log.readAfter(user, 0, ALL))).toEqual([1]);
    expect(await log.head(user)).toBe(1);
    expect(await log.latest(user)).toEqual(kept);

    await append(aNote(user, 4));
    const events = await log.readAfter(user, 0, ALL);
    expect(positions(events)).toEqual([1, 2]);
    expect(notesOf(events)).toEqual([1, 4]);
    expect(Number(events[1]!.id)).toBeGreaterThan(Number(kept!.id));
  });

  it('keeps nothing of a unit that rolls back while another unit of the same user commits', async () => {
    const user = await subject.newUser();
    const held = gate();
    const failing = subject.runner.run(async (scope) => {
      await scope.events.publish(aNote(user, 1));
      await held.pass();
      throw new Error('died before commit');
    });
    await held.reached;
    const committing = append(aNote(user, 2));
    held.open();
    await expect(failing).rejects.toThrow('died before commit');
    await committing;
    const events = await log.readAfter(user, 0, ALL);
    expect(notesOf(events)).toEqual([2]);
    expect(positions(events)).toEqual([1]);
    expect(await log.head(user)).toBe(1);
  });

  it('shows a unit\'s events to readers only once it has committed', async () => {
    const user = await subject.newUser();
    const held = gate();
    const unit = subject.runner.run(async (scope) => {
      await scope.events.publish(aNote(user, 1));
      await held.pass();
    });
    await held.reached;
    expect(await log.readAfter(user, 0, ALL)).toEqual([]);
    expect(await log.latest(user)).toBeNull();
    held.open();
    await unit;
    expect(notesOf(await log.readAfter(user, 0, ALL))).toEqual([1]);
  });

  it('gives back the payload as it was published: a task with its dates and tags, nulls, numbers', async () => {
    const user = await subject.newUser();
    const task = aTask({
      userId: user,
      title: 'Ship it — ✓ "quoted"',
      tags: ['release', 'q4'],
      dueDate: new Date('2026-12-24T17:30:00.000Z'),
      status: 'done',
      createdAt: new Date('2026-12-01T08:00:00.123Z'),
      updatedAt: new Date('2026-12-02T09:15:00.456Z'),
      version: 3,
    });
    const occurredAt = new Date('2026-12-02T09:15:00.456Z');
    const payload = { task, taskId: task.id, nothing: null };
    await append({ type: NOTE, userId: user, occurredAt, payload });

    const [logged] = await log.readAfter(user, 0, ALL);
    expect(logged).toEqual({ id: expect.any(String), position: 1, type: NOTE, userId: user, occurredAt, payload });
    const roundTripped = (logged!.payload as typeof payload).task;
    expect(roundTripped.dueDate).toBeInstanceOf(Date);
    expect(roundTripped.completedAt).toEqual(task.completedAt);
  });

  it('never shows a reader a later position without every earlier one, while units commit side by side', async () => {
    const user = await subject.newUser();
    const writers = Promise.all(Array.from({ length: 12 }, (_, i) => append(aNote(user, 1000 + i))));
    let done = false;
    void writers.finally(() => (done = true));
    const seen: number[][] = [];
    while (!done) seen.push(positions(await log.readAfter(user, 0, ALL)));
    await writers;
    seen.push(positions(await log.readAfter(user, 0, ALL)));
    for (const snapshot of seen) expect(snapshot).toEqual(snapshot.map((_, i) => i + 1));
    expect(seen.at(-1)).toHaveLength(12);
  });

  it('logs twenty concurrent PATCHes of one task as twenty task.updated events, versions in position order', async () => {
    const user = await subject.newUser();
    const task = await subject.tasks.create(aNewTask(user));
    const start = await log.head(user);
    const patch = new PatchTask(new TaskUpdater(subject.tasks, subject.runner, subject.events, new FixedClock(), aReminderScheduler()));
    await Promise.all(Array.from({ length: 20 }, (_, i) => patch.execute(aPrincipal(user), task.id, { title: `edit ${i}` })));

    const events = await log.readAfter(user, start, ALL);
    expect(events.map((event) => event.type)).toEqual(Array(20).fill('task.updated'));
    expect(positions(events)).toEqual(Array.from({ length: 20 }, (_, i) => start + i + 1));
    expect(events.map((event) => (event.payload as { task: { version: number } }).task.version)).toEqual(Array.from({ length: 20 }, (_, i) => task.version + i + 1));
    const stored = await subject.tasks.findById(user, task.id);
    expect((events.at(-1)!.payload as { task: unknown }).task).toEqual(stored);
  });

  describe('task writes', () => {
    const taskUseCases = () => {
      const clock = new FixedClock();
      return {
        clock,
        create: new CreateTask(subject.tasks, subject.idempotency, subject.runner, subject.events, clock, aReminderScheduler()),
        patch: new PatchTask(new TaskUpdater(subject.tasks, subject.runner, subject.events, clock, aReminderScheduler())),
        remove: new DeleteTask(subject.tasks, subject.events, clock, aReminderScheduler()),
      };
    };

    it('are logged once each, holding the task as the use case returned it; a write that changes nothing, or a replay, is not', async () => {
      const actor = aPrincipal(await subject.newUser());
      const { clock, create, patch, remove } = taskUseCases();
      const input = aTaskInput({ title: 'Ship it — ✓ "quoted" 𝄞', description: 'line\nbreak', tags: ['b', 'a'], dueDate: '2026-12-24T17:30:00.123Z', priority: 'high' });
      const { task: created } = await create.execute(actor, input);
      clock.advanceMs(1_000);
      const updated = await patch.execute(actor, created.id, { status: 'done' });
      await patch.execute(actor, created.id, { status: 'done' });
      const { task: keyed } = await create.execute(actor, aTaskInput(), 'the-key');
      await create.execute(actor, aTaskInput(), 'the-key');
      await remove.execute(actor, created.id);

      const events = await log.readAfter(actor.userId, 0, ALL);
      expect(events.map(({ type, userId, payload }) => ({ type, userId, payload }))).toEqual([
        { type: 'task.created', userId: actor.userId, payload: { task: created } },
        { type: 'task.updated', userId: actor.userId, payload: { task: updated } },
        { type: 'task.created', userId: actor.userId, payload: { task: keyed } },
        { type: 'task.deleted', userId: actor.userId, payload: { taskId: created.id } },
      ]);
      expect(positions(events)).toEqual([1, 2, 3, 4]);
      expect(events.slice(0, 3).map((event) => event.occurredAt)).toEqual([created.createdAt, updated.updatedAt, keyed.createdAt]);
      expect(events[3]!.occurredAt).toBeInstanceOf(Date);
      expect(Number.isNaN(events[3]!.occurredAt.getTime())).toBe(false);
    });

    it('of a conditional update or delete that loses to another writer are not logged', async () => {
      const actor = aPrincipal(await subject.newUser());
      const { patch, remove, create } = taskUseCases();
      const { task } = await create.execute(actor, aTaskInput());
      await patch.execute(actor, task.id, { title: 'v2' });
      const head = await log.head(actor.userId);

      await expect(patch.execute(actor, task.id, { title: 'v3' }, [task.version])).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
      await expect(remove.execute(actor, task.id, [task.version])).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
      expect(await subject.tasks.update(actor.userId, task.id, task.version, { ...task, title: 'stale', version: task.version + 1 })).toBeNull();
      expect(await subject.tasks.delete(actor.userId, task.id, task.version)).toBe(false);
      expect(await log.head(actor.userId)).toBe(head);
    });
  });

  if (kind !== 'memory') {
    describe('task writes on SQL, logged by the write itself', () => {
      const taskOf = (event: LoggedEvent | undefined): Task => (event!.payload as { task: Task }).task;

      it('logs a write made through the repository alone, in the same statement', async () => {
        const user = await subject.newUser();
        const created = await subject.tasks.create(aNewTask(user, { tags: ['x'], dueDate: new Date('2027-01-02T03:04:05.678Z') }));
        const next = { ...created, title: 'Renamed', status: 'done' as const, completedAt: now, updatedAt: now, version: created.version + 1 };
        const updated = await subject.tasks.update(user, created.id, created.version, next);
        expect(await subject.tasks.delete(user, created.id)).toBe(true);

        const events = await log.readAfter(user, 0, ALL);
        expect(events.map((event) => event.type)).toEqual(['task.created', 'task.updated', 'task.deleted']);
        expect(taskOf(events[0])).toEqual(created);
        expect(taskOf(events[1])).toEqual(updated);
        expect(events[2]!.payload).toEqual({ taskId: created.id });
        expect(events[0]!.occurredAt).toEqual(created.createdAt);
        expect(events[1]!.occurredAt).toEqual(now);
      });

      it('logs nothing for a write that keeps the version, as holding a task for update on SQLite does', async () => {
        const user = await subject.newUser();
        const task = await subject.tasks.create(aNewTask(user));
        await subject.runner.run((scope) => scope.tasks.findForUpdate(user, task.id));
        expect(await log.head(user)).toBe(1);
      });

      it('keeps no event and no advanced head of a unit of work that wrote tasks and rolled back', async () => {
        const user = await subject.newUser();
        await subject.tasks.create(aNewTask(user));
        await expect(
          subject.runner.run(async (scope) => {
            const created = await scope.tasks.create(aNewTask(user));
            await scope.tasks.update(user, created.id, created.version, { ...created, title: 'changed', version: created.version + 1 });
            await scope.tasks.delete(user, created.id);
            throw new Error('died before commit');
          }),
        ).rejects.toThrow('died before commit');
        expect(positions(await log.readAfter(user, 0, ALL))).toEqual([1]);
        expect(await log.head(user)).toBe(1);

        const next = await subject.tasks.create(aNewTask(user));
        const [, logged] = await log.readAfter(user, 0, ALL);
        expect(logged).toMatchObject({ position: 2, type: 'task.created' });
        expect(taskOf(logged)).toEqual(next);
      });

      it('logs nothing, and fails nothing, when deleting a user takes their tasks with them', async () => {
        const db = subject.db!;
        const [user, other] = [await subject.newUser(), await subject.newUser()];
        for (let i = 0; i < 3; i++) await subject.tasks.create(aNewTask(user, { tags: [`t${i}`] }));
        await subject.tasks.create(aNewTask(other));
        const before = await log.latest(other);

        expect(await db('users').where({ id: user }).delete()).toBe(1);
        expect(await db('tasks').where({ user_id: user })).toEqual([]);
        expect(await db('events').where({ user_id: user })).toEqual([]);
        expect(await log.head(user)).toBe(0);
        // Not even appended and then cascaded away: the next event anywhere takes the next id.
        await subject.tasks.create(aNewTask(other));
        expect(Number((await log.latest(other))!.id)).toBe(Number(before!.id) + 1);
      });
    });
  }

  if (kind === 'postgres') {
    /** Whether some other backend is waiting for a lock that `pid` holds. */
    const blocksAnother = async (db: Knex, pid: number): Promise<boolean> => {
      const result = await db.raw<{ rows: Array<{ blocked: boolean }> }>('select exists (select 1 from pg_stat_activity where ? = any(pg_blocking_pids(pid))) as blocked', [pid]);
      return result.rows[0]!.blocked;
    };

    /** Two ways a transaction appends to a user's log: the application's publisher, and a task write (its trigger). */
    const APPENDERS: Array<[string, (trx: Knex.Transaction, user: number, n: number) => Promise<unknown>]> = [
      ['publishing an event', (trx, user, n) => new KnexEventAppender(trx).publish(aNote(user, n))],
      ['writing a task', (trx, user, n) => new KnexTaskRepository(trx).create(aNewTask(user, { title: `#${n}` }))],
    ];
    /** What each event says it is: the note's number, or the number in the task's title. */
    const numbersOf = (events: LoggedEvent[]) =>
      events.map((event) => (event.type === NOTE ? (event.payload as { n: number }).n : Number((event.payload as { task: Task }).task.title.slice(1))));

    it.each(APPENDERS)('makes a second transaction %s for the same user wait for the first to commit, so positions follow commits', async (_how, appendIn) => {
      const db = subject.db!;
      const user = await subject.newUser();
      const first = gate();
      let firstPid = 0;
      const t1 = db.transaction(async (trx) => {
        firstPid = Number((await trx.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid')).rows[0]!.pid);
        await appendIn(trx, user, 1);
        await first.pass();
      });
      await first.reached;

      const second = gate();
      let secondAppended = false;
      const t2 = db.transaction(async (trx) => {
        await appendIn(trx, user, 2);
        secondAppended = true;
        await second.pass();
      });
      await vi.waitFor(async () => expect(await blocksAnother(db, firstPid)).toBe(true), { timeout: 5_000, interval: 20 });
      expect(secondAppended).toBe(false);
      expect(await log.readAfter(user, 0, ALL)).toEqual([]);

      first.open();
      await t1;
      await second.reached;
      // T2 has appended but not committed: a reader sees T1's event alone.
      expect(numbersOf(await log.readAfter(user, 0, ALL))).toEqual([1]);
      second.open();
      await t2;
      const events = await log.readAfter(user, 0, ALL);
      expect(numbersOf(events)).toEqual([1, 2]);
      expect(positions(events)).toEqual([1, 2]);
    });

    it('lets transactions of different users append side by side', async () => {
      const db = subject.db!;
      const [a, b] = [await subject.newUser(), await subject.newUser()];
      const held = gate();
      const t1 = db.transaction(async (trx) => {
        await new KnexEventAppender(trx).publish(aNote(a));
        await held.pass();
      });
      await held.reached;
      await db.transaction((trx) => new KnexEventAppender(trx).publish(aNote(b)));
      expect(await log.head(b)).toBe(1);
      held.open();
      await t1;
      expect(await log.head(a)).toBe(1);
    });
  }
});
