import type { StatementRunner } from './statement-runner.js';

/**
 * A write that commits on its own: statements run in one transaction. It is named, and takes and
 * returns plain data, so that it can run where the connection is — on the SQLite thread, with the
 * other writes of its group commit — rather than wait there for each statement to cross over.
 */
export interface WriteUnit<A, R> {
  readonly name: string;
  run(statements: StatementRunner, args: A): Promise<R>;
}
