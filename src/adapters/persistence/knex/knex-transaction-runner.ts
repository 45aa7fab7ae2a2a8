import type { Knex } from 'knex';
import type { TransactionRunner, TransactionScope } from '../../../application/index.js';
import { KnexIdempotencyStore } from './knex-idempotency-store.js';
import { KnexTaskRepository } from './knex-task-repository.js';

/**
 * One database transaction per unit of work. The scope's repositories are built on the
 * transaction itself, so every query they run uses its connection: asking the pool for another
 * one would wait forever on SQLite, whose pool holds exactly one.
 */
export class KnexTransactionRunner implements TransactionRunner {
  constructor(private readonly db: Knex) {}

  run<T>(work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    return this.db.transaction((trx) => work({ tasks: new KnexTaskRepository(trx), idempotency: new KnexIdempotencyStore(trx) }));
  }
}
