import type { IdempotencyStore, TaskRepository } from '../../src/application/index.js';
import { KnexIdempotencyStore } from '../../src/adapters/persistence/knex/knex-idempotency-store.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { closeReadPool, openReadPool, type DatabaseOptions } from '../../src/adapters/persistence/knex/database.js';
import { openTestDatabase, repositoryEngines, type SqlEngine, type TestDatabase } from './databases.js';

export type StoreKind = 'memory' | SqlEngine;

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

/** Every kind of task store. */
export const storeKinds = async (): Promise<StoreKind[]> => ['memory', ...(await repositoryEngines())];

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
  const database = await openTestDatabase(kind, options);
  const { db } = database;
  // As the service runs it: reads outside transactions on the read pool (an SQLite file's own).
  const reads = openReadPool(db, options);
  const stores: TaskStores = {
    kind,
    tasks: new KnexTaskRepository(db, reads),
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
    },
    deleteUser: async (userId) => {
      await db('users').where({ id: userId }).delete();
    },
    close: async () => {
      await closeReadPool(reads, db);
      await database.destroy();
    },
  };
  return stores;
}
