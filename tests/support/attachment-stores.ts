import type { AttachmentRepository, TaskRepository, TransactionRunner } from '../../src/application/index.js';
import { closeReadPool, openReadPool } from '../../src/adapters/persistence/knex/database.js';
import { KnexAttachmentRepository } from '../../src/adapters/persistence/knex/knex-attachment-repository.js';
import { KnexChangeLog } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { KnexTransactionRunner } from '../../src/adapters/persistence/knex/knex-transaction-runner.js';
import { InMemoryAttachmentRepository } from '../../src/adapters/persistence/memory/in-memory-attachment-repository.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryExportRepository } from '../../src/adapters/persistence/memory/in-memory-export-repository.js';
import type { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import type { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import type { ChangeLog } from '../../src/application/index.js';
import { aNewTask } from './task-builders.js';
import { openTaskStores, storeKinds, type StoreKind } from './task-stores.js';

/** The stores an attachment touches, of one kind, wired as the container wires them. */
export interface AttachmentStores {
  kind: StoreKind;
  attachments: AttachmentRepository;
  tasks: TaskRepository;
  transactions: TransactionRunner;
  log: ChangeLog;
  newUser(): Promise<number>;
  newTask(userId: number): Promise<number>;
  deleteTask(userId: number, taskId: number): Promise<void>;
  deleteUser(userId: number): Promise<void>;
  close(): Promise<void>;
}

export { storeKinds as attachmentStoreKinds };

export async function openAttachmentStores(kind: StoreKind): Promise<AttachmentStores> {
  const base = await openTaskStores(kind);
  const newTask = async (userId: number) => (await base.tasks.create(aNewTask(userId))).id;
  if (kind === 'memory') {
    const tasks = base.tasks as InMemoryTaskRepository;
    const attachments = new InMemoryAttachmentRepository(tasks);
    tasks.onDelete.push((userId, taskId) => attachments.deleteAllOfTask(userId, taskId));
    const log = new InMemoryChangeLog();
    return {
      kind,
      attachments,
      tasks,
      transactions: new InMemoryTransactionRunner(tasks, base.idempotency as InMemoryIdempotencyStore, log, undefined, new InMemoryExportRepository(), attachments),
      log,
      newUser: () => base.newUser(),
      newTask,
      deleteTask: async (userId, taskId) => void (await tasks.delete(userId, taskId)),
      deleteUser: async (userId) => {
        await base.deleteUser(userId);
        attachments.deleteAllOf(userId);
      },
      close: () => base.close(),
    };
  }
  const db = base.database!.db;
  const reads = openReadPool(db);
  return {
    kind,
    attachments: new KnexAttachmentRepository(db, reads),
    tasks: base.tasks,
    transactions: new KnexTransactionRunner(db),
    log: new KnexChangeLog(db, reads),
    newUser: () => base.newUser(),
    newTask,
    // As the service deletes them: one statement, the cascade does the rest.
    deleteTask: async (userId, taskId) => void (await db('tasks').where({ id: taskId, user_id: userId }).delete()),
    deleteUser: (userId) => base.deleteUser(userId),
    close: async () => {
      await closeReadPool(reads, db);
      await base.close();
    },
  };
}
