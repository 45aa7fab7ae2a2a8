import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import { InThreadSession, type SqliteSession, type SqliteThreading } from './sqlite-session.js';
import { SqliteThread } from './sqlite-thread.js';

/** knex's better-sqlite3 client, as far as it is extended here (knex declares no types for it). */
interface BetterSqliteClient {
  connectionSettings: { filename: string; threading?: SqliteThreading };
  config: { acquireConnectionTimeout?: number };
  _formatBindings(bindings: unknown[] | undefined): unknown[];
  destroy(callback?: (error?: unknown) => void): Promise<void>;
}
type BetterSqliteClientClass = new (config: Knex.Config) => BetterSqliteClient;

const BetterSqlite3Client = createRequire(import.meta.url)('knex/lib/dialects/better-sqlite3') as BetterSqliteClientClass;

/** A knex connection inside a transaction carries its id. */
type KnexConnection = SqliteSession & { __knexTxId?: string };

const SELECT = /^\s*select\b/i;

interface QueryObject {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
  context?: { lastID: number | bigint; changes: number };
}

/**
 * knex's better-sqlite3 dialect over a SqliteSession: the same SQL and results, with the
 * connection on the event loop or on a thread of its own (`connection.threading`).
 */
export class SqliteSessionClient extends BetterSqlite3Client {
  private thread: Promise<SqliteThread> | null = null;

  private current: SqliteThread | null = null;

  /**
   * On the SQLite thread, a lane for single statements outside any transaction: they are sent
   * at once, without a turn through the pool (~10% of a GET). The thread makes them wait while
   * another lane's transaction is open, as the pool would. Null on the event loop, where the
   * pool's one connection may be inside a transaction, and until the thread is open.
   */
  autocommitLane(): SqliteSession | null {
    return this.current?.alive ? this.current.autocommitLane() : null;
  }

  async acquireRawConnection(): Promise<SqliteSession> {
    const { filename, threading = 'main' } = this.connectionSettings;
    if (threading === 'main') return new InThreadSession(filename);
    const current = this.thread && (await this.thread.catch(() => null));
    if (!current?.alive) this.thread = SqliteThread.open(filename, this.config.acquireConnectionTimeout ?? 60_000);
    this.current = await this.thread!;
    return this.current.lane();
  }

  async destroyRawConnection(connection: SqliteSession): Promise<void> {
    await connection.close();
  }

  validateConnection(connection: SqliteSession): boolean {
    return connection.open;
  }

  private reader: Promise<SqliteSession> | null = null;

  /**
   * A read-only connection on a thread of its own, for the SELECTs the query builder writes
   * outside transactions: the filtered listings and their totals, the ones that can take tens of
   * milliseconds. WAL lets it read while the writer writes, so the statements of every other
   * request — prepared reads and writes, on the writer — do not wait behind them. Null for an
   * in-memory database (one connection is all it has) and on the event loop.
   */
  private async readerFor(connection: KnexConnection, sql: string): Promise<SqliteSession | null> {
    const { filename, threading } = this.connectionSettings;
    if (threading !== 'worker' || filename === ':memory:' || connection.__knexTxId !== undefined || !SELECT.test(sql)) return null;
    const current = this.reader && (await this.reader.catch(() => null));
    if (!current?.open) {
      this.reader = SqliteThread.open(filename, this.config.acquireConnectionTimeout ?? 60_000, { readonly: true }).then((thread) => thread.lane());
    }
    return this.reader;
  }

  override async destroy(callback?: (error?: unknown) => void): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    await (await reader?.catch(() => null))?.close();
    return super.destroy(callback);
  }

  async _query(connection: KnexConnection, obj: QueryObject): Promise<QueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    const target = (await this.readerFor(connection, obj.sql)) ?? connection;
    const outcome = await target.query(obj.sql, this._formatBindings(obj.bindings));
    if (outcome.reader) {
      obj.response = outcome.rows;
    } else {
      obj.response = outcome;
      obj.context = { lastID: outcome.lastInsertRowid, changes: outcome.changes };
    }
    return obj;
  }
}
