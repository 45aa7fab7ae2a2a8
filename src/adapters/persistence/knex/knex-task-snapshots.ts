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
  /**
   * @param reads openSnapshotPool's pool
   * @param readTimeoutMs on PostgreSQL, how long the transaction's start and each page may wait
   *   for the server (clientReadTimeoutMs): the pool has no per-query `query_timeout` (see
   *   openSnapshotPool), and a server or network that stops answering must fail the export,
   *   not hang it. A slow statement is still cut by the server's statement_timeout first.
   */
  constructor(
    private readonly reads: Knex,
    private readonly readTimeoutMs?: number,
  ) {}

  async *eachPage(userId: number, pageSize: number): AsyncIterable<Iterable<SnapshotTask>> {
    const postgres = isPostgres(this.reads);
    const starting = this.reads.transaction(postgres ? { isolationLevel: 'repeatable read', readOnly: true } : {});
    let unanswered = false;
    const noAnswer = () => (unanswered = true);
    const trx = await this.withinReadTimeout(starting, noAnswer).catch((error: unknown) => {
      // A transaction that starts after all is ended at once: nobody will read from it.
      void starting.then((late) => late.rollback()).catch(() => undefined);
      throw error;
    });
    try {
      const tasks = new KnexTaskRepository(trx);
      const attachments = new KnexAttachmentRepository(trx);
      let after: SortPosition | undefined;
      for (;;) {
        const rows = await this.withinReadTimeout(tasks.findRecordPage(userId, { filter: {}, sort: CREATION_ORDER, limit: pageSize, after }), noAnswer);
        if (rows.length > 0) {
          const attached = await this.withinReadTimeout(attachments.listOfTasks(userId, rows.map((row) => Number(row.id))), noAnswer);
          yield new TasksOfRows(rows, attachmentsByTask(attached));
        }
        if (rows.length < pageSize) return;
        after = sortPositionOf(taskFromRecord(rows[rows.length - 1]!), CREATION_ORDER.key);
      }
    } finally {
      // It only read: nothing to keep. Ending it returns the connection and lets SQLite's WAL move
      // on. After a read that got no answer, the rollback would queue behind it on the same
      // connection: it is sent, not awaited, and ends when the connection answers or fails.
      const ending = trx.rollback();
      if (unanswered) void ending.catch(() => undefined);
      else await ending;
    }
  }

  /**
   * `work`, or once readTimeoutMs has passed without its answer (PostgreSQL only) the error
   * node-postgres' own `query_timeout` gives, which isDatabaseUnavailable knows; `onTimeout` is
   * called first. One timer per read, holding nothing of its result.
   */
  private withinReadTimeout<T>(work: Promise<T>, onTimeout: () => void): Promise<T> {
    const limit = this.readTimeoutMs;
    if (limit === undefined || !isPostgres(this.reads)) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => (onTimeout(), reject(new Error(`Query read timeout: no answer to a snapshot read within ${limit} ms`))), limit);
      work.then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
  }
}
