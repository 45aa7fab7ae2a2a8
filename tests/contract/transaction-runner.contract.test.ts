import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTask,
  IDEMPOTENCY_IN_FLIGHT_LEASE_MS,
  type ClaimOutcome,
  type IdempotencyClaim,
  type IdempotencyStore,
  type TransactionRunner,
} from '../../src/application/index.js';
import type { Task } from '../../src/domain/index.js';
import { createDatabase } from '../../src/adapters/persistence/knex/database.js';
import { KnexTransactionRunner } from '../../src/adapters/persistence/knex/knex-transaction-runner.js';
import { availableEngines } from '../support/databases.js';
import { openTaskStores, type TaskStores } from '../support/task-stores.js';
import { FixedClock, RecordingEventPublisher, aPrincipal, aTask, aTaskInput } from '../support/task-builders.js';

const engines = await availableEngines();

/** Short, so a query that waits for a second connection inside a transaction fails fast and by name. */
const ACQUIRE_TIMEOUT_MS = 1_000;

const now = new Date('2026-11-22T10:00:00.000Z');
const claimOf = (userId: number, key: string): IdempotencyClaim => ({
  userId,
  key,
  fingerprint: 'f1',
  now,
  expiredBefore: new Date(now.getTime() - 86_400_000),
  abandonedBefore: new Date(now.getTime() - 60_000),
});
const newTask = (userId: number, overrides: Partial<Task> = {}) => {
  const { id: _id, ...task } = aTask({ userId, ...overrides });
  return task;
};

/** Delegates to a real store; lets a test make one method fail or do nothing. */
class AlteredIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly inner: IdempotencyStore,
    private readonly changes: { complete?: IdempotencyStore['complete']; release?: IdempotencyStore['release'] },
  ) {}

  claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    return this.inner.claim(claim);
  }

  complete(userId: number, key: string, task: Task): Promise<void> {
    return (this.changes.complete ?? this.inner.complete.bind(this.inner))(userId, key, task);
  }

  release(userId: number, key: string): Promise<void> {
    return (this.changes.release ?? this.inner.release.bind(this.inner))(userId, key);
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

describe.each(engines)('KnexTransactionRunner on %s', (engine) => {
  let stores: TaskStores;
  let runner: KnexTransactionRunner;
  let owner: number;

  beforeAll(async () => {
    stores = await openTaskStores(engine, { acquireTimeoutMs: ACQUIRE_TIMEOUT_MS });
    runner = new KnexTransactionRunner(stores.database!.db);
    owner = await stores.newUser();
  });
  afterAll(() => stores.close());

  it('commits the task and the key\'s outcome together', async () => {
    expect(await stores.idempotency.claim(claimOf(owner, 'commit'))).toEqual({ kind: 'claimed' });
    const task = await runner.run(async (scope) => {
      const created = await scope.tasks.create(newTask(owner, { tags: ['a', 'b'] }));
      await scope.idempotency.complete(owner, 'commit', created);
      return created;
    });
    expect(await stores.tasks.findById(owner, task.id)).toEqual(task);
    expect(await stores.idempotency.claim(claimOf(owner, 'commit'))).toEqual({ kind: 'replay', task });
  });

  it('keeps neither the task nor the key\'s outcome when the work throws after writing both', async () => {
    const db = stores.database!.db;
    const before = await stores.tasks.count(owner, {});
    expect(await stores.idempotency.claim(claimOf(owner, 'rollback'))).toEqual({ kind: 'claimed' });
    let createdId = 0;
    await expect(
      runner.run(async (scope) => {
        const created = await scope.tasks.create(newTask(owner, { tags: ['gone'] }));
        createdId = created.id;
        await scope.idempotency.complete(owner, 'rollback', created);
        throw new Error('died before commit');
      }),
    ).rejects.toThrow('died before commit');

    expect(createdId).toBeGreaterThan(0);
    expect(await db('tasks').where({ id: createdId })).toEqual([]);
    expect(await db('task_tags').where({ task_id: createdId })).toEqual([]);
    expect(await stores.tasks.count(owner, {})).toBe(before);
    // The claim made before the transaction survives, still unfinished: releasable, or taken over after the lease.
    expect(await stores.idempotency.claim(claimOf(owner, 'rollback'))).toEqual({ kind: 'in_flight' });
    await stores.idempotency.release(owner, 'rollback');
    expect(await stores.idempotency.claim(claimOf(owner, 'rollback'))).toEqual({ kind: 'claimed' });
  });

  it('runs every store method on the transaction\'s own connection and sees its own writes', async () => {
    const user = await stores.newUser();
    await runner.run(async ({ tasks, idempotency }) => {
      expect(await idempotency.claim(claimOf(user, 'inside'))).toEqual({ kind: 'claimed' });
      const first = await tasks.create(newTask(user, { title: 'b first', tags: ['x'], dueDate: new Date('2026-12-01T00:00:00Z') }));
      const second = await tasks.create(newTask(user, { title: 'a second' }));
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
      await idempotency.complete(user, 'inside', updated!);
      await idempotency.release(user, 'inside');
      expect(await idempotency.claim(claimOf(user, 'inside'))).toEqual({ kind: 'replay', task: updated });
    });
    expect(await stores.tasks.count(user, {})).toBe(1);
    expect(await stores.tasks.count(user, { tags: ['y'] })).toBe(1);
  });

  if (engine === 'sqlite') {
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
      const events = new RecordingEventPublisher();
      // A killed process releases nothing either: its claim stays in flight.
      const dead = new AlteredIdempotencyStore(stores.idempotency, { release: async () => {} });
      const dying = new CreateTask(stores.tasks, dead, dyingBeforeComplete(runner), events, clock);
      await expect(dying.execute(actor, aTaskInput(), 'crash')).rejects.toThrow('process killed');
      expect(await stores.tasks.count(user, {})).toBe(0);
      expect(events.events).toEqual([]);

      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, events, clock);
      await expect(healthy.execute(actor, aTaskInput(), 'crash')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      clock.advance(IDEMPOTENCY_IN_FLIGHT_LEASE_MS + 1);
      const retried = await healthy.execute(actor, aTaskInput(), 'crash');
      expect(retried.replayed).toBe(false);
      expect(await healthy.execute(actor, aTaskInput(), 'crash')).toEqual({ task: retried.task, replayed: true });
      expect(await stores.tasks.count(user, {})).toBe(1);
      expect(events.events.filter((e) => e.type === 'task.created')).toHaveLength(1);
    });

    it('when the failure is reported instead, frees the key with no task left, so an immediate retry creates the one task', async () => {
      const user = await stores.newUser();
      const actor = aPrincipal(user);
      const clock = new FixedClock();
      const events = new RecordingEventPublisher();
      const failing = new CreateTask(stores.tasks, stores.idempotency, dyingBeforeComplete(runner), events, clock);
      await expect(failing.execute(actor, aTaskInput(), 'fails')).rejects.toThrow('process killed');
      expect(await stores.tasks.count(user, {})).toBe(0);

      const healthy = new CreateTask(stores.tasks, stores.idempotency, runner, events, clock);
      const retried = await healthy.execute(actor, aTaskInput(), 'fails');
      expect(retried.replayed).toBe(false);
      expect(await stores.tasks.count(user, {})).toBe(1);
      expect(events.events.map((e) => e.type)).toEqual(['task.created']);
    });
  });
});
