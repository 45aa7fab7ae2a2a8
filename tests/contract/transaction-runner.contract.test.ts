import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTask,
  IDEMPOTENCY_IN_FLIGHT_LEASE_MS,
  type ClaimOutcome,
  type IdempotencyClaim,
  type IdempotencyKeys,
  type TransactionRunner,
} from '../../src/application/index.js';
import type { Task } from '../../src/domain/index.js';
import { createDatabase } from '../../src/adapters/persistence/knex/database.js';
import { KnexTransactionRunner } from '../../src/adapters/persistence/knex/knex-transaction-runner.js';
import { KnexChangeLog, KnexEventPublisher } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { repositoryEngines } from '../support/databases.js';
import { heldForUpdateOrder } from '../support/held-for-update.js';
import { openTaskStores, type TaskStores } from '../support/task-stores.js';
import { FixedClock } from '../support/fakes.js';
import { aNewTask, aPrincipal, aTaskInput, LoggedEvents } from '../support/task-builders.js';
import { aReminderScheduler } from '../support/reminders.js';

const engines = await repositoryEngines();

/** Short, so a query that waits for a second connection inside a transaction fails fast and by name. */
const ACQUIRE_TIMEOUT_MS = 1_000;

const now = new Date('2026-11-22T10:00:00.000Z');
const claimOf = (userId: number, key: string, when = now): IdempotencyClaim => ({
  userId,
  key,
  fingerprint: 'f1',
  now: when,
  expiredBefore: new Date(when.getTime() - 86_400_000),
  abandonedBefore: new Date(when.getTime() - 60_000),
});
/** Delegates to a real store; lets a test make one method fail or do nothing. */
class AlteredIdempotencyStore implements IdempotencyKeys {
  constructor(
    private readonly inner: IdempotencyKeys,
    private readonly changes: { complete?: IdempotencyKeys['complete']; release?: IdempotencyKeys['release'] },
  ) {}

  claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    return this.inner.claim(claim);
  }

  complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void> {
    return (this.changes.complete ?? this.inner.complete.bind(this.inner))(userId, key, token, created);
  }

  release(userId: number, key: string, token: string): Promise<void> {
    return (this.changes.release ?? this.inner.release.bind(this.inner))(userId, key, token);
  }
}

/** A runner whose transactions die between inserting the task and completing the key. */
const dyingBeforeComplete = (runner: TransactionRunner): TransactionRunner => ({
  run: (work) =>
    runner.run((scope) =>
      work({
        ...scope,
        idempotency: new AlteredIdempotencyStore(scope.idempotency, {
          complete: () => Promise.reject(new Error('process killed')),
        }),
      }),
    ),
});

/** A runner that holds each unit of work until `open()`; `parked` resolves once one is waiting. */
function held(inner: TransactionRunner) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let arrived!: () => void;
  const parked = new Promise<void>((resolve) => (arrived = resolve));
  const runner: TransactionRunner = {
    run: async (work) => {
      arrived();
      await gate;
      return inner.run(work);
    },
  };
  return { runner, parked, open };
}

/** The value or the error a request ends with, without leaving a rejection unhandled meanwhile. */
const settled = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error);

describe.each(engines)('KnexTransactionRunner on %s', (engine) => {
  let stores: TaskStores;
  let runner: KnexTransactionRunner;
  let publisher: KnexEventPublisher;
  let owner: number;

  beforeAll(async () => {
    stores = await openTaskStores(engine, { acquireTimeoutMs: ACQUIRE_TIMEOUT_MS });
    runner = new KnexTransactionRunner(stores.database!.db);
    publisher = new KnexEventPublisher(stores.database!.db);
    owner = await stores.newUser();
  });
  afterAll(() => stores.close());

  /** Claims a key that must be free, and returns the claim's token. */
  const claimed = async (claim: IdempotencyClaim): Promise<string> => {
    const outcome = await stores.idempotency.claim(claim);
    expect(outcome).toEqual({ kind: 'claimed', token: expect.any(String) });
    return (outcome as { token: string }).token;
  };

  it('holds a task read for update against every other unit until the first commits', async () => {
    expect(await heldForUpdateOrder(runner, stores.tasks, owner)).toEqual(['first released', 'first wrote', 'second read version 2']);
  });

  it('commits the task and the key\'s outcome together', async () => {
    const token = await claimed(claimOf(owner, 'commit'));
    const task = await runner.run(async (scope) => {
      const created = await scope.tasks.create(aNewTask(owner, { tags: ['a', 'b'] }));
      await scope.idempotency.complete(owner, 'commit', token, [created]);
      return created;
    });
    expect(await stores.tasks.findById(owner, task.id)).toEqual(task);
    expect(await stores.idempotency.claim(claimOf(owner, 'commit'))).toEqual({ kind: 'replay', tasks: [task] });
  });

  it('keeps neither the task nor the key\'s outcome when the work throws after writing both', async () => {
    const db = stores.database!.db;
    const before = await stores.tasks.count(owner, {});
    const token = await claimed(claimOf(owner, 'rollback'));
    let createdId = 0;
    await expect(
      runner.run(async (scope) => {
        const created = await scope.tasks.create(aNewTask(owner, { tags: ['gone'] }));
        createdId = created.id;
        await scope.idempotency.complete(owner, 'rollback', token, [created]);
        throw new Error('died before commit');
      }),
    ).rejects.toThrow('died before commit');

    expect(createdId).toBeGreaterThan(0);
    expect(await db('tasks').where({ id: createdId })).toEqual([]);
    expect(await db('task_tags').where({ task_id: createdId })).toEqual([]);
    expect(await stores.tasks.count(owner, {})).toBe(before);
    // The claim made before the transaction survives, still unfinished: releasable, or taken over after the lease.
    expect(await stores.idempotency.claim(claimOf(owner, 'rollback'))).toEqual({ kind: 'in_flight' });
    await stores.idempotency.release(owner, 'rollback', token);
    await claimed(claimOf(owner, 'rollback'));
  });

  it('runs every store method on the transaction\'s own connection and sees its own writes', async () => {
    const user = await stores.newUser();
    await runner.run(async ({ tasks, idempotency }) => {
      const outcome = await idempotency.claim(claimOf(user, 'inside'));
      expect(outcome).toEqual({ kind: 'claimed', token: expect.any(String) });
      const { token } = outcome as { token: string };
      const first = await tasks.create(aNewTask(user, { title: 'b first', tags: ['x'], dueDate: new Date('2026-12-01T00:00:00Z') }));
      const second = await tasks.create(aNewTask(user, { title: 'a second' }));
      if (engine === 'postgres') {
        // Another connection cannot see uncommitted rows: the writes really are in the transaction.
        // (On SQLite the pool's one connection is this transaction's, so this would wait instead.)
        expect(await stores.tasks.findById(user, first.id)).toBeNull();
      }
      expect(await tasks.findById(user, first.id)).toEqual(first);
      expect(await tasks.count(user, {})).toBe(2);
      expect(await tasks.count(user, { tags: ['x'] })).toBe(1);
      const page = { filter: {}, limit: 10 };
      expect((await tasks.findPage(user, { ...page, sort: { key: 'created_at', descending: true } })).map((t) => t.id)).toEqual([second.id, first.id]);
      expect((await tasks.findPage(user, { ...page, sort: { key: 'title', descending: false }, offset: 1 })).map((t) => t.id)).toEqual([first.id]);
      expect((await tasks.findPage(user, { ...page, sort: { key: 'due_date', descending: false } })).map((t) => t.id)).toEqual([first.id, second.id]);
      const updated = await tasks.update(user, first.id, 1, { ...first, tags: ['y'], version: 2 });
      expect(updated).toMatchObject({ version: 2, tags: ['y'] });
      expect(await tasks.delete(user, second.id)).toBe(true);
      await idempotency.complete(user, 'inside', token, [updated!]);
      await idempotency.release(user, 'inside', token);
      expect(await idempotency.claim(claimOf(user, 'inside'))).toEqual({ kind: 'replay', tasks: [updated] });
    });
    expect(await stores.tasks.count(user, {})).toBe(1);
    expect(await stores.tasks.count(user, { tags: ['y'] })).toBe(1);
  });

  if (engine !== 'postgres') {
    it('(control) a query on the pool from inside a transaction waits for the one connection, and times out', async () => {
      const silent = { warn: () => {}, error: () => {}, debug: () => {} };
      const db = createDatabase({ kind: 'sqlite', filename: ':memory:' }, { acquireTimeoutMs: 300, log: silent });
      try {
        await expect(new KnexTransactionRunner(db).run(() => db.raw('select 1'))).rejects.toMatchObject({ name: 'KnexTimeoutError' });
        // The rolled-back transaction gave its connection back.
        expect(await db.raw('select 1 as one')).toEqual([{ one: 1 }]);
      } finally {
        await db.destroy();
      }
    });
  }

  describe('CreateTask when the process dies between inserting the task and completing the key', () => {
    it('leaves no task, and a retry after the lease creates exactly one', async () => {
      const user = await stores.newUser();
      const actor = aPrincipal(user);
      const clock = new FixedClock();
      const events = new LoggedEvents(new KnexChangeLog(stores.database!.db), [user]);
      // A killed process releases nothing either: its claim stays in flight.
      const dead = new AlteredIdempotencyStore(stores.idempotency, { release: async () => {} });
      const dying = new CreateTask(stores.tasks, dead, dyingBeforeComplete(runner), publisher, clock, aReminderScheduler());
      await expect(dying.execute(actor, aTaskInput(), 'crash')).rejects.toThrow('process killed');
      expect(await stores.tasks.count(user, {})).toBe(0);
      expect((await events.all())).toEqual([]);

      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, publisher, clock, aReminderScheduler());
      await expect(healthy.execute(actor, aTaskInput(), 'crash')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      clock.advanceMs(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      const retried = await healthy.execute(actor, aTaskInput(), 'crash');
      expect(retried.replayed).toBe(false);
      expect(await healthy.execute(actor, aTaskInput(), 'crash')).toEqual({ task: retried.task, replayed: true });
      expect(await stores.tasks.count(user, {})).toBe(1);
      expect((await events.all()).filter((e) => e.type === 'task.created')).toHaveLength(1);
    });

    it('when the failure is reported instead, frees the key with no task left, so an immediate retry creates the one task', async () => {
      const user = await stores.newUser();
      const actor = aPrincipal(user);
      const clock = new FixedClock();
      const events = new LoggedEvents(new KnexChangeLog(stores.database!.db), [user]);
      const failing = new CreateTask(stores.tasks, stores.idempotency, dyingBeforeComplete(runner), publisher, clock, aReminderScheduler());
      await expect(failing.execute(actor, aTaskInput(), 'fails')).rejects.toThrow('process killed');
      expect(await stores.tasks.count(user, {})).toBe(0);

      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, publisher, clock, aReminderScheduler());
      const retried = await healthy.execute(actor, aTaskInput(), 'fails');
      expect(retried.replayed).toBe(false);
      expect(await stores.tasks.count(user, {})).toBe(1);
      expect((await events.all()).map((e) => e.type)).toEqual(['task.created']);
    });
  });

  describe('CreateTask when a request outlives its in-flight lease and a retry takes its key over', () => {
    it('rolls the slow request\'s task back: the key has exactly one task, the retry\'s, and replays it', async () => {
      const user = await stores.newUser();
      const actor = aPrincipal(user);
      const clock = new FixedClock();
      const events = new LoggedEvents(new KnexChangeLog(stores.database!.db), [user]);
      // A is held after claiming the key and before its transaction (on SQLite a transaction held
      // open would keep the pool's one connection from B).
      const a = held(runner);
      const slow = new CreateTask(stores.tasks, stores.idempotency, a.runner, publisher, clock, aReminderScheduler());
      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, publisher, clock, aReminderScheduler());

      const aResult = settled(slow.execute(actor, aTaskInput(), 'slow'));
      await a.parked;
      clock.advanceMs(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      const b = await healthy.execute(actor, aTaskInput(), 'slow');
      expect(b.replayed).toBe(false);

      a.open();
      expect(await aResult).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      expect(await stores.tasks.count(user, {})).toBe(1);
      expect(await stores.tasks.findById(user, b.task.id)).toEqual(b.task);
      expect(await stores.database!.db('idempotency_keys').where({ user_id: user })).toHaveLength(1);
      expect(await healthy.execute(actor, aTaskInput(), 'slow')).toEqual({ task: b.task, replayed: true });
      expect((await events.all()).filter((e) => e.type === 'task.created')).toEqual([expect.objectContaining({ payload: { task: b.task } })]);
    });

    it('does not free the key under the retry when the slow request fails', async () => {
      const user = await stores.newUser();
      const actor = aPrincipal(user);
      const clock = new FixedClock();
      const a = held(dyingBeforeComplete(runner));
      const b = held(runner);
      const aResult = settled(new CreateTask(stores.tasks, stores.idempotency, a.runner, publisher, clock, aReminderScheduler()).execute(actor, aTaskInput(), 'held'));
      await a.parked;
      clock.advanceMs(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      const bResult = new CreateTask(stores.tasks, stores.idempotency, b.runner, publisher, clock, aReminderScheduler()).execute(actor, aTaskInput(), 'held');
      await b.parked;

      a.open();
      expect(await aResult).toMatchObject({ message: 'process killed' });
      // A's release after its rollback left B's claim alone: a third request waits, it does not create.
      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, publisher, clock, aReminderScheduler());
      await expect(healthy.execute(actor, aTaskInput(), 'held')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      b.open();
      const done = await bResult;
      expect(done.replayed).toBe(false);
      expect(await healthy.execute(actor, aTaskInput(), 'held')).toEqual({ task: done.task, replayed: true });
      expect(await stores.tasks.count(user, {})).toBe(1);
    });
  });
});
