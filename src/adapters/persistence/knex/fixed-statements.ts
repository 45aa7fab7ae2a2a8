import type { Knex } from 'knex';

/**
 * A statement whose text never varies, run through knex.raw: nothing to build per call. On
 * PostgreSQL it is also a named statement (node-postgres prepares it once per connection and
 * then only binds and executes it), so the server stops parsing and planning it on every
 * request. SQLite's client ignores the name.
 */
export interface FixedStatement {
  name: string;
  text: string;
}

export const fixedStatement = (name: string, text: string): FixedStatement => ({ name: `taskforge_${name}`, text });

/** The rows a fixed statement returns (`returning` makes writes return theirs on both engines). */
export async function runFixed<T>(db: Knex | Knex.Transaction, statement: FixedStatement, bindings: readonly Knex.Value[]): Promise<T[]> {
  return rowsOf<T>(await db.raw(statement.text, bindings).options({ name: statement.name }));
}

/** node-postgres gives a result object holding the rows, sqlite3 the array itself. */
function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}
