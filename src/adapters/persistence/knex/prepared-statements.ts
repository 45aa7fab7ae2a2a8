import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres } from './database.js';

/**
 * Prepared statements for the queries every request runs (the session check, a task by id, a
 * page of tasks). Knex compiles its query builder while it holds the connection, and SQLite has
 * exactly one: the compile time, plus SQLite parsing the same SQL again, was spent on the one
 * resource every request queues for. Here the SQL is fixed text written once, prepared once per
 * connection (sqlite3 Statement objects; named statements on PostgreSQL) and only bound and run
 * per call. The connection still comes from knex's pool — or from the transaction given — so
 * transactions, timeouts and pool limits behave exactly as for any other knex query.
 *
 * SQL uses `?` placeholders; they become $1, $2… for PostgreSQL.
 */

interface SqliteStatement {
  all(params: unknown[], done: (this: unknown, error: Error | null, rows: unknown[]) => void): void;
  run(params: unknown[], done: (this: { changes: number }, error: Error | null) => void): void;
  finalize(done?: () => void): void;
}

interface SqliteConnection {
  prepare(sql: string, done: (error: Error | null) => void): SqliteStatement;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

type Executor = Knex | Knex.Transaction;

/** Statements of each SQLite connection, finalized before the pool closes that connection. */
const sqliteStatements = new WeakMap<object, Map<string, Promise<SqliteStatement>>>();
const pgText = new Map<string, { name: string; text: string }>();
const watchedPools = new WeakSet<object>();

function toPg(sql: string): { name: string; text: string } {
  let entry = pgText.get(sql);
  if (!entry) {
    let n = 0;
    entry = { name: `tf_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    pgText.set(sql, entry);
  }
  return entry;
}

function finalizeAll(connection: object): void {
  const statements = sqliteStatements.get(connection);
  if (!statements) return;
  sqliteStatements.delete(connection);
  for (const statement of statements.values()) statement.then((s) => s.finalize(), () => undefined);
}

function sqliteStatement(connection: SqliteConnection, sql: string): Promise<SqliteStatement> {
  let statements = sqliteStatements.get(connection);
  if (!statements) sqliteStatements.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) {
    statement = new Promise((resolve, reject) => {
      const prepared = connection.prepare(sql, (error) => (error ? reject(error) : resolve(prepared)));
    });
    statements.set(sql, statement);
    statement.catch(() => statements.delete(sql));
  }
  return statement;
}

export class PreparedStatements {
  private readonly postgres: boolean;

  constructor(private readonly db: Knex) {
    this.postgres = isPostgres(db);
  }

  /** The rows a statement returns (SELECT, or a write with RETURNING). */
  async all<T>(sql: string, params: unknown[], trx?: Knex.Transaction): Promise<T[]> {
    return this.withConnection(trx, async (connection) => {
      if (this.postgres) return (await (connection as PgConnection).query({ ...toPg(sql), values: params })).rows as T[];
      const statement = await sqliteStatement(connection as SqliteConnection, sql);
      return new Promise<T[]>((resolve, reject) => statement.all(params, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
    });
  }

  async first<T>(sql: string, params: unknown[], trx?: Knex.Transaction): Promise<T | undefined> {
    return (await this.all<T>(sql, params, trx))[0];
  }

  /** Runs a write and tells how many rows it changed. */
  async run(sql: string, params: unknown[], trx?: Knex.Transaction): Promise<number> {
    return this.withConnection(trx, async (connection) => {
      if (this.postgres) return (await (connection as PgConnection).query({ ...toPg(sql), values: params })).rowCount ?? 0;
      const statement = await sqliteStatement(connection as SqliteConnection, sql);
      return new Promise<number>((resolve, reject) =>
        statement.run(params, function (this: { changes: number }, error) {
          if (error) reject(error);
          else resolve(this.changes);
        }),
      );
    });
  }

  private async withConnection<T>(trx: Executor | undefined, work: (connection: unknown) => Promise<T>): Promise<T> {
    const client = (trx ?? this.db).client as Knex.Client & { pool?: { on(event: string, listener: (...args: unknown[]) => void): void } };
    if (!this.postgres) this.watchPool(client);
    const connection: unknown = await client.acquireConnection();
    try {
      return await work(connection);
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /** A connection's statements must be finalized before SQLite will close it. */
  private watchPool(client: { pool?: { on(event: string, listener: (...args: unknown[]) => void): void } }): void {
    const pool = client.pool;
    if (!pool || watchedPools.has(pool)) return;
    watchedPools.add(pool);
    pool.on('destroyRequest', (_eventId, connection) => finalizeAll(connection as object));
  }
}
