import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoggedEvent, NewTask, Principal, SyncPage, TaskFilter, TaskPageQuery } from '../../src/application/index.js';
import { isDomainError, type Task } from '../../src/domain/index.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { SyncClient, syncHarness } from '../support/sync-harness.js';
import { aPrincipal, aTaskInput } from '../support/task-builders.js';

type Gate = () => Promise<void>;
const open: Gate = async () => {};

/** Every read and write waits at a gate first, where the scheduler decides who goes next. */
class GatedTaskRepository extends InMemoryTaskRepository {
  gate: Gate = open;
  override async create(task: NewTask): Promise<Task> {
    await this.gate();
    return super.create(task);
  }
  override async findById(userId: number, id: number): Promise<Task | null> {
    await this.gate();
    return super.findById(userId, id);
  }
  override async findByIds(userId: number, ids: readonly number[]): Promise<Task[]> {
    await this.gate();
    return super.findByIds(userId, ids);
  }
  override async update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    await this.gate();
    return super.update(userId, id, expectedVersion, next);
  }
  override async delete(userId: number, id: number, expectedVersion?: number): Promise<boolean> {
    await this.gate();
    return super.delete(userId, id, expectedVersion);
  }
  override async findPage(userId: number, query: TaskPageQuery): Promise<Task[]> {
    await this.gate();
    return super.findPage(userId, query);
  }
  override async count(userId: number, filter: TaskFilter): Promise<number> {
    await this.gate();
    return super.count(userId, filter);
  }
  /** The user's tasks in id order, past the gate: what the test compares a client's copy with. */
  async allOf(userId: number): Promise<Task[]> {
    const all = await super.findPage(userId, { filter: {}, sort: { key: 'created_at', descending: false }, limit: Number.MAX_SAFE_INTEGER });
    return all.sort((a, b) => a.id - b.id);
  }
}

class GatedChangeLog extends InMemoryChangeLog {
  gate: Gate = open;
  override async head(userId: number): Promise<number> {
    await this.gate();
    return super.head(userId);
  }
  override async readAfter(userId: number, position: number, limit: number): Promise<LoggedEvent[]> {
    await this.gate();
    return super.readAfter(userId, position, limit);
  }
}

const USERS = [aPrincipal(1), aPrincipal(2)];
const user = fc.constantFrom(0, 0, 1);

const writeOp = fc.record({
  kind: fc.constantFrom('create', 'create', 'update', 'update', 'delete'),
  user,
  /** Which of the user's tasks, whatever their number then. */
  pick: fc.nat(),
  /** Milliseconds the clock moves first: 0 makes creation times tie. */
  tick: fc.constantFrom(0, 0, 1, 5),
});
type WriteOp = typeof writeOp extends fc.Arbitrary<infer T> ? T : never;

const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('writes' as const), ops: fc.array(writeOp, { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('page' as const),
      client: user,
      limit: fc.integer({ min: 1, max: 4 }),
      racing: fc.array(writeOp, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), client: user }) },
);

/** What every page must be, whatever raced it. */
function expectWellFormed(page: SyncPage, actor: Principal, limit: number, fullSyncStart: boolean): void {
  const taskIds = page.tasks.map((task) => task.id);
  const deletedIds = page.deleted.map((tombstone) => tombstone.id);
  expect(new Set([...taskIds, ...deletedIds]).size).toBe(taskIds.length + deletedIds.length);
  expect(taskIds.length + deletedIds.length).toBeLessThanOrEqual(limit);
  expect(page.tasks.every((task) => task.userId === actor.userId)).toBe(true);
  expect(page.fullSync).toBe(fullSyncStart);
  if (page.fullSync) expect(page.deleted).toEqual([]);
}

describe('delta sync converges', () => {
  it('leaves every client with exactly the server\'s tasks whenever a page says has_more=false, with writes racing the pages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.scheduler(), async (steps, s) => {
        const tasks = new GatedTaskRepository();
        const log = new GatedChangeLog();
        const h = syncHarness({ tasks, log });
        const clients = USERS.map((actor) => new SyncClient(h.syncTasks, actor));
        const gate: Gate = () => s.schedule(Promise.resolve());
        tasks.gate = gate;
        log.gate = gate;

        const serverTasks = (actor: Principal) => tasks.allOf(actor.userId);
        const idsOf = async (actor: Principal) => (await serverTasks(actor)).map((task) => task.id);

        async function write(op: WriteOp, ids: number[]): Promise<void> {
          h.clock.advanceMs(op.tick);
          const actor = USERS[op.user]!;
          const id = ids[op.pick % Math.max(ids.length, 1)];
          try {
            if (op.kind === 'create' || id === undefined) await h.createTask.execute(actor, aTaskInput({ title: `t${op.pick % 97}` }));
            else if (op.kind === 'update') await h.patchTask.execute(actor, id, { title: `changed ${op.pick % 89}`, status: op.pick % 2 ? 'done' : 'todo' });
            else await h.deleteTask.execute(actor, id);
          } catch (error) {
            // A concurrent delete got there first: the only failure racing writes may meet.
            if (!(isDomainError(error) && error.code === 'TASK_NOT_FOUND')) throw error;
          }
        }
        const writes = async (ops: WriteOp[]) => {
          const ids = await Promise.all(USERS.map(idsOf));
          return ops.map((op) => write(op, ids[op.user]!));
        };
        /** One page for client `index`, checked; returns it. */
        const page = async (index: number, limit: number, racing: WriteOp[]) => {
          const client = clients[index]!;
          const fullSyncStart = client.token === undefined;
          const racers = await writes(racing);
          const [result] = await s.waitFor(Promise.all([client.page(limit), ...racers]));
          expectWellFormed(result, USERS[index]!, limit, fullSyncStart);
          return result;
        };

        for (const current of steps) {
          if (current.kind === 'writes') await s.waitFor(Promise.all(await writes(current.ops)));
          else if (current.kind === 'restart') clients[current.client]!.restart();
          else {
            const result = await page(current.client, current.limit, current.racing);
            if (!result.hasMore && current.racing.length === 0) {
              expect(clients[current.client]!.tasks()).toEqual(await serverTasks(USERS[current.client]!));
            }
          }
        }
        // Whatever state each client was left in, paging on until has_more=false converges.
        for (const [index, client] of clients.entries()) {
          let last: SyncPage;
          do last = await page(index, 3, []);
          while (last.hasMore);
          expect(client.tasks()).toEqual(await serverTasks(USERS[index]!));
        }
      }),
      { numRuns: 150 },
    );
  });
});
