/**
 * The rows of a `knex.raw` result: node-postgres gives a result object holding them, sqlite3 the
 * array itself.
 */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}
