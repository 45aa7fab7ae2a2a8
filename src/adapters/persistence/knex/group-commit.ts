import { inTransaction, type StatementRunner } from './statement-runner.js';

type Work<T> = (statements: StatementRunner) => Promise<T>;

/** Lends the one connection for as long as `use` runs (knex's pool, so other queries queue behind it). */
type ConnectionLender = <T>(use: Work<T>) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Enough to amortise the commit; few enough that the last write of a batch does not wait long. */
const MAX_BATCH = 64;

/**
 * Group commit for SQLite. Committing writes every page the transaction changed to the WAL, one
 * frame at a time: for a task, its five sort indexes and its tags that is ~60 µs, more than the
 * statements themselves. Writes that arrive in the same turn of the event loop share one
 * transaction, and the pages they share (the same index leaves, mostly) are written once.
 *
 * Each write runs in its own savepoint, so one that fails rolls back alone and the others go on.
 * None is answered before the shared COMMIT has returned: if it fails, every write of the batch
 * fails with it and nothing was acknowledged. What a committed write promises is unchanged.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly lend: ConnectionLender) {}

  transaction<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    this.scheduled = this.queue.length > 0;
    if (this.scheduled) setImmediate(() => void this.flush());

    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.lend((statements) =>
        inTransaction(statements, 'begin immediate', async () => {
          for (const { work } of batch) outcomes.push(await inSavepoint(statements, work));
        }),
      );
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }
}

async function inSavepoint(statements: StatementRunner, work: Work<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  await statements.run('savepoint write', []);
  try {
    const value = await work(statements);
    await statements.run('release write', []);
    return { ok: true, value };
  } catch (error) {
    await statements.run('rollback to write', []);
    await statements.run('release write', []);
    return { ok: false, error };
  }
}
