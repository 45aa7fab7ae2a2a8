import { describe, expect, it } from 'vitest';
import type { IdempotencyClaim } from '../../../src/application/index.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { heldForUpdateOrder } from '../../support/held-for-update.js';
import { aNewTask } from '../../support/task-builders.js';

const now = new Date('2026-11-22T10:00:00.000Z');
const claimOf = (key: string): IdempotencyClaim => ({
  userId: 1,
  key,
  fingerprint: 'f1',
  now,
  expiredBefore: new Date(now.getTime() - 86_400_000),
  abandonedBefore: new Date(now.getTime() - 60_000),
});

function stores() {
  const tasks = new InMemoryTaskRepository();
  const keys = new InMemoryIdempotencyStore();
  return { tasks, keys, runner: new InMemoryTransactionRunner(tasks, keys) };
}

describe('InMemoryTransactionRunner', () => {
  it('holds a task read for update against every other unit until the first ends, as a row lock does', async () => {
    const { tasks, runner } = stores();
    expect(await heldForUpdateOrder(runner, tasks, 1)).toEqual(['first released', 'first wrote', 'second read version 2']);
  });

  it('keeps what the work wrote when it succeeds', async () => {
    const { tasks, keys, runner } = stores();
    const claimed = await keys.claim(claimOf('k'));
    const task = await runner.run(async (scope) => {
      const created = await scope.tasks.create(aNewTask(1));
      await scope.idempotency.complete(1, 'k', (claimed as { token: string }).token, [created]);
      return created;
    });
    expect(await tasks.findById(1, task.id)).toEqual(task);
    expect(await keys.claim(claimOf('k'))).toEqual({ kind: 'replay', tasks: [task] });
  });

  it('undoes every write of work that throws: creates, updates, deletes and the key outcomes', async () => {
    const { tasks, keys, runner } = stores();
    const kept = await tasks.create(aNewTask(1, { title: 'before' }));
    const doomed = await tasks.create(aNewTask(1, { title: 'doomed' }));
    const claimed = await keys.claim(claimOf('k'));
    let createdId = 0;
    await expect(
      runner.run(async (scope) => {
        const created = await scope.tasks.create(aNewTask(1));
        createdId = created.id;
        await scope.idempotency.complete(1, 'k', (claimed as { token: string }).token, [created]);
        await scope.idempotency.claim(claimOf('other'));
        await scope.tasks.update(1, kept.id, 1, { ...kept, title: 'after', version: 2 });
        await scope.tasks.delete(1, doomed.id);
        throw new Error('died before commit');
      }),
    ).rejects.toThrow('died before commit');

    expect(await tasks.findById(1, createdId)).toBeNull();
    expect(await tasks.findById(1, kept.id)).toEqual(kept);
    expect(await tasks.findById(1, doomed.id)).toEqual(doomed);
    expect(await tasks.count(1, {})).toBe(2);
    // The claim made before the unit of work stays, unfinished; the one made inside it is gone.
    expect(await keys.claim(claimOf('k'))).toEqual({ kind: 'in_flight' });
    expect(await keys.claim(claimOf('other'))).toEqual({ kind: 'claimed', token: expect.any(String) });
  });
});
