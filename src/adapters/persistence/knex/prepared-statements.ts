import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres } from './database.js';
import { GroupCommit } from './group-commit.js';
import { inTransaction, type StatementRunner } from './statement-runner.js';

/**
 * Prepared statements for the queries every request runs (the session check, a task by id, a
 * page of tasks). Knex compiles its query builder while it holds the connection, and SQLite has
 * exactly one: the compile time, plus SQLite parsing the same SQL again, was spent on the one
 * resource every request queues for. Here the SQL is fixed text written once, prepared once per
 * connection (better-sqlite3 Statement objects; named statements on PostgreSQL) and only bound
 * and run per call. The connection still comes from knex's pool — or from the transaction given — so
 * transactions, timeouts and pool limits behave exactly as for any other knex query.
 *
 * SQL uses `?` placeholders; they become $1, $2… for PostgreSQL.
 */

/** better-sqlite3's Statement and Database, as far as they are used here. */
interface SqliteStatement {
  all(params: unknown[]): unknown[];
  run(params: unknown[]): { changes: number };
  raw(toggle: boolean): SqliteStatement;
}

interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

type Executor = Knex | Knex.Transaction;

/**
 * Statements of each SQLite connection. better-sqlite3 needs no finalizing: a statement dies with
 * its connection, and the WeakMap lets both be collected once the pool drops the connection.
 */
const sqliteStatements = new WeakMap<object, Map<string, SqliteStatement>>();
/** Statements that return rows as arrays, kept apart: raw mode is a setting of the statement. */
const sqliteTupleStatements = new WeakMap<object, Map<string, SqliteStatement>>();
const pgText = new Map<string, { name: string; text: string }>();

function toPg(sql: string): { name: string; text: string } {
  let entry = pgText.get(sql);
  if (!entry) {
    let n = 0;
    entry = { name: `tf_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    pgText.set(sql, entry);
  }
  return entry;
}

function sqliteStatement(connection: SqliteConnection, sql: string, tuples = false): SqliteStatement {
  const cache = tuples ? sqliteTupleStatements : sqliteStatements;
  let statements = cache.get(connection);
  if (!statements) cache.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = tuples ? connection.prepare(sql).raw(true) : connection.prepare(sql)));
  return statement;
}

/**
 * better-sqlite3 binds only numbers, strings, bigints, buffers and null: it rejects undefined and
 * booleans, and Dates. They are bound as the sqlite3 driver and knex's better-sqlite3 client bind
 * them (null, 1/0, epoch milliseconds), so a statement means the same through either path.
 */
function sqliteParams(params: unknown[]): unknown[] {
  let converted: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    let next: unknown;
    if (value === undefined) next = null;
    else if (typeof value === 'boolean') next = value ? 1 : 0;
    else if (value instanceof Date) next = value.valueOf();
    else continue;
    converted ??= params.slice();
    converted[i] = next;
  }
  return converted ?? params;
}


/** The statements of one connection held for a unit of work. */
class ConnectionStatements implements StatementRunner {
  constructor(
    private readonly connection: unknown,
    private readonly postgres: boolean,
  ) {}

  async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    if (this.postgres) return (await (this.connection as PgConnection).query({ ...toPg(sql), values: params })).rows as T[];
    return sqliteStatement(this.connection as SqliteConnection, sql).all(sqliteParams(params)) as T[];
  }

  async first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]> {
    if (this.postgres) return (await (this.connection as PgConnection).query({ ...toPg(sql), values: params, rowMode: 'array' })).rows as T[];
    return sqliteStatement(this.connection as SqliteConnection, sql, true).all(sqliteParams(params)) as T[];
  }

  async run(sql: string, params: unknown[]): Promise<number> {
    if (this.postgres) return (await (this.connection as PgConnection).query({ ...toPg(sql), values: params })).rowCount ?? 0;
    return sqliteStatement(this.connection as SqliteConnection, sql).run(sqliteParams(params)).changes;
  }
}

/** One per SQLite database (knex client): its writes share commits. */
const groupCommits = new WeakMap<object, GroupCommit>();

export class PreparedStatements implements StatementRunner {
  private readonly postgres: boolean;

  /** `db` may be a knex transaction: every statement then runs on its connection, inside it. */
  constructor(private readonly db: Executor) {
    this.postgres = isPostgres(db);
  }

  all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.withConnection((connection) => connection.all<T>(sql, params));
  }

  async first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]> {
    return this.withConnection((connection) => connection.tuples<T>(sql, params));
  }

  run(sql: string, params: unknown[]): Promise<number> {
    return this.withConnection((connection) => connection.run(sql, params));
  }

  /**
   * Runs `work` in a transaction of fixed statements on one connection, rolled back when it throws.
   * It costs what its statements cost; a knex transaction added ~60 µs of builder, runner and
   * savepoint machinery to every write. On SQLite, writes arriving together share one commit
   * (GroupCommit). Inside a knex transaction (a unit of work) the statements simply join it.
   */
  transaction<T>(work: (statements: StatementRunner) => Promise<T>): Promise<T> {
    if ((this.db as Knex.Transaction).isTransaction) return work(this);
    if (!this.postgres) return this.groupCommit().transaction(work);
    return this.withConnection((connection) => inTransaction(connection, 'begin', () => work(connection)));
  }

  private groupCommit(): GroupCommit {
    const { client } = this.db;
    let group = groupCommits.get(client);
    if (!group) groupCommits.set(client, (group = new GroupCommit((use) => this.withConnection(use))));
    return group;
  }

  private async withConnection<T>(work: (connection: ConnectionStatements) => Promise<T>): Promise<T> {
    const client = this.db.client as Knex.Client;
    const connection: unknown = await client.acquireConnection();
    try {
      return await work(new ConnectionStatements(connection, this.postgres));
    } finally {
      await client.releaseConnection(connection);
    }
  }
}
