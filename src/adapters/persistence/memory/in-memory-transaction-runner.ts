import type { IdempotencyStore, TaskRepository, TransactionRunner, TransactionScope } from '../../../application/index.js';

/**
 * Runs the work on the in-memory stores as they are. It does NOT roll back: writes made before
 * `work` rejects stay. Enough for tests and demos, where nothing dies mid-request; atomicity is
 * the SQL runner's job, and its contract tests prove it.
 */
export class InMemoryTransactionRunner implements TransactionRunner {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly idempotency: IdempotencyStore,
  ) {}

  run<T>(work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    return work({ tasks: this.tasks, idempotency: this.idempotency });
  }
}
