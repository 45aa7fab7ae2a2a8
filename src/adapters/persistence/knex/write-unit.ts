import type { StatementRunner } from './statement-runner.js';

/**
 * A write that commits on its own: statements run in one transaction. It is named, and takes and
 * returns plain data, so that it can run where the connection is — on the SQLite thread, with the
 * other writes of its group commit — rather than wait there for each statement to cross over.
 */
export interface WriteUnit<A, R> {
  readonly name: string;
  /**
   * Its work is one statement, atomic by itself with its triggers: where writes do not share
   * commits (PostgreSQL) it runs without BEGIN and COMMIT, two round trips fewer.
   */
  readonly oneStatement?: boolean;
  run(statements: StatementRunner, args: A): Promise<R>;
}
