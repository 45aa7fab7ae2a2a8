import type { Knex } from 'knex';
import type { ChangeNotifier, TransactionRunner, TransactionScope } from '../../../application/index.js';
import { KnexAttachmentRepository } from './knex-attachment-repository.js';
import { KnexEventAppender } from './knex-change-log.js';
import { KnexExportRepository } from './knex-export-repository.js';
import { KnexIdempotencyStore } from './knex-idempotency-store.js';
import { KnexTaskRepository } from './knex-task-repository.js';

/**
 * One database transaction per unit of work. The scope's repositories are built on the
 * transaction itself, so every query they run uses its connection: asking the pool for another
 * one would wait forever on SQLite, whose pool holds exactly one. Once it has committed, the
 * users whose change logs it wrote to are announced, so that their streams read the new events.
 */
export class KnexTransactionRunner implements TransactionRunner {
  constructor(
    private readonly db: Knex,
    private readonly notifier?: ChangeNotifier,
  ) {}

  async run<T>(work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    let events: KnexEventAppender | undefined;
    const result = await this.db.transaction((trx) => {
      events = new KnexEventAppender(trx);
      return work({
        tasks: new KnexTaskRepository(trx),
        idempotency: new KnexIdempotencyStore(trx),
        exports: new KnexExportRepository(trx),
        attachments: new KnexAttachmentRepository(trx),
        events,
      });
    });
    if (events && events.users.size > 0) this.notifier?.notify([...events.users]);
    return result;
  }
}
