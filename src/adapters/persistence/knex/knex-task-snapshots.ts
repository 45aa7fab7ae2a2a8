import type { Knex } from 'knex';
import { attachmentsByTask, sortPositionOf, type SnapshotTask, type SortPosition, type TaskSnapshots, type TaskSort } from '../../../application/index.js';
import type { Attachment } from '../../../domain/index.js';
import { isPostgres } from './dialect.js';
import { KnexAttachmentRepository } from './knex-attachment-repository.js';
import { KnexTaskRepository, taskFromRecord, type TaskRecord } from './knex-task-repository.js';

/** Oldest first: the (user_id, created_at, id) index serves every page as one range. */
const CREATION_ORDER: TaskSort = { key: 'created_at', descending: false };

/**
 * A page's tasks with their attachments, each task made from its row as the page is iterated and
 * dropped once written.
 * Not the whole page at once: hundreds of new tasks alive together, all from taskFromRecord's one
 * object literal, are what V8's pretenuring takes for long-lived objects when a young-generation
 * GC finds them (likely at the first page, while that literal is new): from then on it allocates
 * every task in the old generation, each keeps its young strings and dates alive until they are
 * promoted too, and the whole export piles up as old-generation garbage until a full GC. A
 * 100,000-task export then grew the process by ~58 MiB (about one run in three) instead of ~7 MiB.
 * One task at a time, the GC never finds more than one or two of them alive.
 *
 * A plain iterator, not a generator: measured, a generator per page got every page's rows
 * promoted to the old generation (~30 MiB more heap over the same export).
 */
class TasksOfRows implements Iterable<SnapshotTask> {
  constructor(
    private readonly rows: readonly TaskRecord[],
    private readonly attachmentsByTask: ReadonlyMap<number, Attachment[]>,
  ) {}

  [Symbol.iterator](): Iterator<SnapshotTask, undefined> {
    const { rows, attachmentsByTask } = this;
    let next = 0;
    const snapshotOf = (row: TaskRecord): SnapshotTask => ({ task: taskFromRecord(row), attachments: attachmentsByTask.get(Number(row.id)) ?? [] });
    return {
      next: () => (next < rows.length ? { value: snapshotOf(rows[next++]!), done: false } : { value: undefined, done: true }),
    };
  }
}

/**
 * A user's tasks and their attachments as of one moment, read in one transaction on `reads`, the
 * read pool (openReadPool), never on the writing connection, so an export of any size holds up no
 * write:
 * - PostgreSQL: `repeatable read, read only`, whose every statement sees the snapshot taken by
 *   the first;
 * - SQLite (WAL): a read transaction, which sees the database as of its first read until it ends,
 *   while the writer goes on beside it.
 * Pages are keyset ranges inside the transaction; only the current one is in memory, as rows
 * (see TasksOfRows). Each page's attachments are read with it, in the same transaction and by
 * the page's task ids (one statement per page, on the (task_id, created_at, id) index), never task
 * by task: they are of the same moment as their tasks. On an in-memory SQLite database `reads` is
 * the one connection there is, so writes wait for the export there: that mode is for tests and
 * demos.
 */
export class KnexTaskSnapshots implements TaskSnapshots {
  constructor(private readonly reads: Knex) {}

  async *eachPage(userId: number, pageSize: number): AsyncIterable<Iterable<SnapshotTask>> {
    const trx = await this.reads.transaction(isPostgres(this.reads) ? { isolationLevel: 'repeatable read', readOnly: true } : {});
    try {
      const tasks = new KnexTaskRepository(trx);
      const attachments = new KnexAttachmentRepository(trx);
      let after: SortPosition | undefined;
      for (;;) {
        const rows = await tasks.findRecordPage(userId, { filter: {}, sort: CREATION_ORDER, limit: pageSize, after });
        if (rows.length > 0) yield new TasksOfRows(rows, attachmentsByTask(await attachments.listOfTasks(userId, rows.map((row) => Number(row.id)))));
        if (rows.length < pageSize) return;
        after = sortPositionOf(taskFromRecord(rows[rows.length - 1]!), CREATION_ORDER.key);
      }
    } finally {
      // It only read: nothing to keep. Ending it returns the connection and lets SQLite's WAL move on.
      await trx.rollback();
    }
  }
}
