import type { AttachmentRepository, ChangeLog, ExportRepository, TaskRepository, TaskSnapshots, TransactionRunner } from '../../src/application/index.js';
import { clientReadTimeoutMs, closeReadPool, closeSnapshotPool, openReadPool, openSnapshotPool } from '../../src/adapters/persistence/knex/database.js';
import { KnexAttachmentRepository } from '../../src/adapters/persistence/knex/knex-attachment-repository.js';
import { KnexChangeLog } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { KnexExportRepository } from '../../src/adapters/persistence/knex/knex-export-repository.js';
import { KnexTaskSnapshots } from '../../src/adapters/persistence/knex/knex-task-snapshots.js';
import { KnexTransactionRunner } from '../../src/adapters/persistence/knex/knex-transaction-runner.js';
import { InMemoryAttachmentRepository } from '../../src/adapters/persistence/memory/in-memory-attachment-repository.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryExportRepository } from '../../src/adapters/persistence/memory/in-memory-export-repository.js';
import type { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import type { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTaskSnapshots } from '../../src/adapters/persistence/memory/in-memory-task-snapshots.js';
import { InMemoryTransactionRunner } from '../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { openTaskStores, storeKinds, type StoreKind } from './task-stores.js';

/** The stores an export touches, of one kind, wired as the container wires them. */
export interface ExportStores {
  kind: StoreKind;
  exports: ExportRepository;
  tasks: TaskRepository;
  attachments: AttachmentRepository;
  snapshots: TaskSnapshots;
  transactions: TransactionRunner;
  log: ChangeLog;
  newUser(): Promise<number>;
  deleteUser(userId: number): Promise<void>;
  close(): Promise<void>;
}

export { storeKinds as exportStoreKinds };

export async function openExportStores(kind: StoreKind): Promise<ExportStores> {
  if (kind === 'memory') {
    const base = await openTaskStores('memory');
    const tasks = base.tasks as InMemoryTaskRepository;
    const attachments = new InMemoryAttachmentRepository(tasks);
    tasks.onDelete.push((userId, taskId) => attachments.deleteAllOfTask(userId, taskId));
    const exports = new InMemoryExportRepository();
    const log = new InMemoryChangeLog();
    return {
      kind,
      exports,
      tasks,
      attachments,
      snapshots: new InMemoryTaskSnapshots(tasks, attachments),
      transactions: new InMemoryTransactionRunner(tasks, base.idempotency as InMemoryIdempotencyStore, log, undefined, exports, attachments),
      log,
      newUser: () => base.newUser(),
      deleteUser: async (userId) => {
        await base.deleteUser(userId);
        exports.deleteAllOf(userId);
        attachments.deleteAllOf(userId);
      },
      close: () => base.close(),
    };
  }
  const base = await openTaskStores(kind);
  const db = base.database!.db;
  // As the service reads: an SQLite file's read pool beside its one writing connection.
  const reads = openReadPool(db);
  const snapshots = openSnapshotPool(reads);
  return {
    kind,
    exports: new KnexExportRepository(db, reads),
    tasks: base.tasks,
    attachments: new KnexAttachmentRepository(db, reads),
    snapshots: new KnexTaskSnapshots(snapshots, clientReadTimeoutMs(10_000)),
    transactions: new KnexTransactionRunner(db),
    log: new KnexChangeLog(db, reads),
    newUser: () => base.newUser(),
    deleteUser: (userId) => base.deleteUser(userId),
    close: async () => {
      await closeSnapshotPool(snapshots, reads);
      await closeReadPool(reads, db);
      await base.close();
    },
  };
}
