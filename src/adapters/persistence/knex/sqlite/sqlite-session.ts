import { commitTogether, type PendingWrite, type WriteOutcome } from '../group-commit.js';
import type { StatementRunner } from '../statement-runner.js';
import { SqliteExecutor, type QueryOutcome } from './sqlite-executor.js';

/**
 * Where SQLite runs. 'worker' (the service's default): the writer connection on a thread of its
 * own, so the event loop only sends statements and receives rows — on two cores, SQLite's time
 * and the HTTP work overlap — and, for a database file, a reader on another thread (which also
 * takes the WAL checkpoints) for the query builder's SELECTs, so a slow filtered listing (~20 ms over 200,000 tasks) holds
 * up neither the event loop nor the other requests' statements. 'main': one connection on the
 * event loop, each statement ~10 µs of messaging cheaper; for tools and debugging.
 */
export type SqliteThreading = 'worker' | 'main';

/** A connection to a SQLite database, whichever thread runs it; it runs prepared statements itself. */
export interface SqliteSession extends StatementRunner {
  readonly open: boolean;
  /** knex's query path: rows for a reader, the change count and rowid for a write. */
  query(sql: string, params: unknown[]): Promise<QueryOutcome>;
  /** Group commit's transaction (see commitTogether), run where the connection is. */
  commitTogether(batch: readonly PendingWrite[]): Promise<WriteOutcome[]>;
  close(): Promise<void>;
}

export class InThreadSession implements SqliteSession {
  private readonly executor: SqliteExecutor;

  private readonly statements: StatementRunner;

  open = true;

  constructor(filename: string) {
    this.executor = new SqliteExecutor(filename);
    this.statements = this.executor.asStatementRunner();
  }

  async query(sql: string, params: unknown[]): Promise<QueryOutcome> {
    return this.executor.query(sql, params);
  }

  all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.statements.all<T>(sql, params);
  }

  first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return this.statements.first<T>(sql, params);
  }

  tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]> {
    return this.statements.tuples<T>(sql, params);
  }

  run(sql: string, params: unknown[]): Promise<number> {
    return this.statements.run(sql, params);
  }

  commitTogether(batch: readonly PendingWrite[]): Promise<WriteOutcome[]> {
    return commitTogether(this.statements, batch.map(({ unit, args }) => (statements) => unit.run(statements, args as never)));
  }

  async close(): Promise<void> {
    this.open = false;
    this.executor.close();
  }
}
