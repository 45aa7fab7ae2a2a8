import type { Knex } from 'knex';
import { sortPositionOf, withAttachments, type SnapshotTask, type SortPosition, type TaskSnapshots, type TaskSort } from '../../../application/index.js';
import { isPostgres } from './dialect.js';
import { KnexAttachmentRepository } from './knex-attachment-repository.js';
import { KnexTaskRepository } from './knex-task-repository.js';

/** Oldest first: the (user_id, created_at, id) index serves every page as one range. */
const CREATION_ORDER: TaskSort = { key: 'created_at', descending: false };

/**
 * A user's tasks and their attachments as of one moment, read in one transaction on `reads`, the
 * read pool (openReadPool), never on the writing connection, so an export of any size holds up no
 * write:
 * - PostgreSQL: `repeatable read, read only`, whose every statement sees the snapshot taken by
 *   the first;
 * - SQLite (WAL): a read transaction, which sees the database as of its first read until it ends,
 *   while the writer goes on beside it.
 * Pages are keyset ranges inside the transaction. Each page's attachments are read with it, in
 * the same transaction and by the page's task ids (one statement per 500 tasks, on the
 * (task_id, created_at, id) index), never task by task: they are of the same moment as their
 * tasks, and only the current page's are in memory. On an in-memory SQLite database `reads` is
 * the one connection there is, so writes wait for the export there: that mode is for tests and
 * demos.
 */
export class KnexTaskSnapshots implements TaskSnapshots {
  constructor(private readonly reads: Knex) {}

  async *eachPage(userId: number, pageSize: number): AsyncIterable<SnapshotTask[]> {
    const trx = await this.reads.transaction(isPostgres(this.reads) ? { isolationLevel: 'repeatable read', readOnly: true } : {});
    try {
      const tasks = new KnexTaskRepository(trx);
      const attachments = new KnexAttachmentRepository(trx);
      let after: SortPosition | undefined;
      for (;;) {
        const page = await tasks.findPage(userId, { filter: {}, sort: CREATION_ORDER, limit: pageSize, after });
        if (page.length > 0) yield withAttachments(page, await attachments.listOfTasks(userId, page.map((task) => task.id)));
        if (page.length < pageSize) return;
        after = sortPositionOf(page[page.length - 1]!, CREATION_ORDER.key);
      }
    } finally {
      // It only read: nothing to keep. Ending it returns the connection and lets SQLite's WAL move on.
      await trx.rollback();
    }
  }
}
