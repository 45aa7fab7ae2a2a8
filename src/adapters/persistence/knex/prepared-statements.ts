import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres } from './database.js';
import { GroupCommit } from './group-commit.js';
import { SqliteSessionClient } from './sqlite/sqlite-client.js';
import type { SqliteSession } from './sqlite/sqlite-session.js';
import { inTransaction, type StatementRunner } from './statement-runner.js';
import type { WriteUnit } from './write-unit.js';

/**
 * Prepared statements for the queries every request runs (the session check, a task by id, a
 * page of tasks). Knex compiles its query builder while it holds the connection, and SQLite has
 * exactly one: the compile time, plus SQLite parsing the same SQL again, was spent on the one
 * resource every request queues for. Here the SQL is fixed text written once, prepared once per
 * connection (by the SqliteExecutor; named statements on PostgreSQL) and only bound and run per
 * call. The connection comes from knex's pool — or from the transaction given — so transactions,
 * timeouts and pool limits behave as for any other knex query; single statements on the SQLite
 * thread take its autocommit lane instead.
 *
 * SQL uses `?` placeholders; they become $1, $2… for PostgreSQL.
 */

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

type Executor = Knex | Knex.Transaction;

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

/** The statements of one PostgreSQL connection held for a unit of work (SQLite's sessions run their own). */
class PgStatements implements StatementRunner {
  constructor(private readonly connection: PgConnection) {}

  async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.connection.query({ ...toPg(sql), values: params })).rows as T[];
  }

  async first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.connection.query({ ...toPg(sql), values: params, rowMode: 'array' })).rows as T[];
  }

  async run(sql: string, params: unknown[]): Promise<number> {
    return (await this.connection.query({ ...toPg(sql), values: params })).rowCount ?? 0;
  }
}

/** One per SQLite database (knex client): its writes share commits. */
const groupCommits = new WeakMap<object, GroupCommit>();

export class PreparedStatements implements StatementRunner {
  private readonly postgres: boolean;

  private readonly inTransaction: boolean;

  /** Outside a transaction on SQLite: the client whose thread may offer its autocommit lane. */
  private readonly autocommitClient: SqliteSessionClient | null;

  /** `db` may be a knex transaction: every statement then runs on its connection, inside it. */
  constructor(private readonly db: Executor) {
    this.postgres = isPostgres(db);
    this.inTransaction = (db as Knex.Transaction).isTransaction === true;
    this.autocommitClient = !this.inTransaction && db.client instanceof SqliteSessionClient ? db.client : null;
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
   * Runs a write unit in a transaction of fixed statements on one connection, rolled back when it
   * throws. It costs what its statements cost; a knex transaction added ~60 µs of builder, runner
   * and savepoint machinery to every write. On SQLite, writes arriving together share one commit
   * (GroupCommit), run where the connection is. Inside a knex transaction (a unit of work) the
   * statements simply join it. On PostgreSQL a one-statement unit is its own transaction.
   */
  transaction<A, R>(unit: WriteUnit<A, R>, args: A): Promise<R> {
    if (this.inTransaction) return unit.run(this, args);
    if (!this.postgres) return this.groupCommit().transaction(unit, args);
    if (unit.oneStatement) return this.withConnection((connection) => unit.run(connection, args));
    return this.withConnection((connection) => inTransaction(connection, 'begin', () => unit.run(connection, args)));
  }

  private groupCommit(): GroupCommit {
    const { client } = this.db;
    let group = groupCommits.get(client);
    if (!group) {
      // A group is one message to the SQLite thread, which runs it whole before the next: like a
      // single statement, it needs no turn through the pool where the thread offers its lane.
      group = new GroupCommit((batch) => {
        const lane = this.autocommitClient?.autocommitLane();
        return lane ? lane.commitTogether(batch) : this.withRawConnection((session) => (session as SqliteSession).commitTogether(batch));
      });
      groupCommits.set(client, group);
    }
    return group;
  }

  private withConnection<T>(work: (connection: StatementRunner) => Promise<T>): Promise<T> {
    const autocommit = this.autocommitClient?.autocommitLane();
    if (autocommit) return work(autocommit);
    return this.withRawConnection((connection) => work(this.postgres ? new PgStatements(connection as PgConnection) : (connection as SqliteSession)));
  }

  private async withRawConnection<T>(work: (connection: unknown) => Promise<T>): Promise<T> {
    const client = this.db.client as Knex.Client;
    const connection: unknown = await client.acquireConnection();
    try {
      return await work(connection);
    } finally {
      await client.releaseConnection(connection);
    }
  }
}
