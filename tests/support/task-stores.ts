import type { IdempotencyStore, TaskRepository } from '../../src/application/index.js';
import { CachingTaskRepository } from '../../src/adapters/caching/caching-task-repository.js';
import { TaskCache } from '../../src/adapters/caching/task-cache.js';
import { KnexIdempotencyStore } from '../../src/adapters/persistence/knex/knex-idempotency-store.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import type { DatabaseOptions } from '../../src/adapters/persistence/knex/database.js';
import { openTestDatabase, repositoryEngines, type SqlEngine, type TestDatabase } from './databases.js';

/** 'sqlite-cached': SQLite behind the task cache, as the service runs it. */
export type StoreKind = 'memory' | SqlEngine | 'sqlite-cached';

/** The task adapters of one kind, with owners to give tasks to (SQL needs real users rows). */
export interface TaskStores {
  kind: StoreKind;
  tasks: TaskRepository;
  idempotency: IdempotencyStore;
  database: TestDatabase | null;
  newUser(): Promise<number>;
  /** Empties the task tables between generated cases. */
  clear(): Promise<void>;
  deleteUser(userId: number): Promise<void>;
  close(): Promise<void>;
}

/** Every kind of task store; with `cached`, SQLite behind the task cache as well. */
export const storeKinds = async ({ cached = false } = {}): Promise<StoreKind[]> => [
  'memory',
  ...(await repositoryEngines()),
  ...(cached ? (['sqlite-cached'] as const) : []),
];

let userCounter = 0;

export async function openTaskStores(kind: StoreKind, options: Pick<DatabaseOptions, 'acquireTimeoutMs'> = {}): Promise<TaskStores> {
  if (kind === 'memory') {
    let tasks = new InMemoryTaskRepository();
    let idempotency = new InMemoryIdempotencyStore();
    const stores: TaskStores = {
      kind,
      tasks,
      idempotency,
      database: null,
      newUser: async () => ++userCounter,
      clear: async () => {
        tasks = new InMemoryTaskRepository();
        idempotency = new InMemoryIdempotencyStore();
        stores.tasks = tasks;
        stores.idempotency = idempotency;
      },
      deleteUser: async (userId) => {
        tasks.deleteAllOf(userId);
        idempotency.deleteAllOf(userId);
      },
      close: async () => {},
    };
    return stores;
  }
  const database = await openTestDatabase(kind === 'sqlite-cached' ? 'sqlite' : kind, options);
  const { db } = database;
  let cache: TaskCache | undefined;
  const fresh = (): TaskRepository => {
    if (kind !== 'sqlite-cached') return new KnexTaskRepository(db);
    cache = new TaskCache({ ttlMs: 60_000, maxEntries: 10_000, maxTextLength: 2_200 });
    return new CachingTaskRepository(new KnexTaskRepository(db), cache);
  };
  const stores: TaskStores = {
    kind,
    tasks: fresh(),
    idempotency: new KnexIdempotencyStore(db),
    database,
    newUser: async () => {
      const name = `owner_${process.pid}_${++userCounter}`;
      const now = new Date().toISOString();
      const [row] = await db('users')
        .insert({ username: name, username_key: name, email: `${name}@example.com`, email_key: `${name}@example.com`, role: 'user', password_hash: 'x', created_at: now, updated_at: now })
        .returning('id');
      return Number(typeof row === 'object' ? (row as { id: number }).id : row);
    },
    clear: async () => {
      await db('idempotency_keys').delete();
      await db('tasks').delete();
      stores.tasks = fresh(); // the rows went behind the cache's back
    },
    deleteUser: async (userId) => {
      await db('users').where({ id: userId }).delete();
      cache?.forgetUser(userId); // as the service's user repository does (UserChangesForgetCached)
    },
    close: () => database.destroy(),
  };
  return stores;
}
