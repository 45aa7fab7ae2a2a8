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

class ClientThreads {
  writer: Promise<SqliteThread> | null = null;
  current: SqliteThread | null = null;
  reader: Promise<SqliteSession> | null = null;
}

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
  /**
   * The threads, held by reference: knex copies a client for its migrator (lodash `merge`, which
   * deep-copies plain objects but shares class instances) and builds transaction clients from
   * the prototype, and all of them must reach the same threads.
   */
  private readonly threads = new ClientThreads();

  /**
   * On the SQLite thread, a lane for single statements outside any transaction: they are sent
   * at once, without a turn through the pool (~10% of a GET). The thread makes them wait while
   * another lane's transaction is open, as the pool would. Null on the event loop, where the
   * pool's one connection may be inside a transaction, and until the thread is open.
   */
  autocommitLane(): SqliteSession | null {
    const { current } = this.threads;
    return current?.alive ? current.autocommitLane() : null;
  }

  async acquireRawConnection(): Promise<SqliteSession> {
    const { filename, threading = 'main' } = this.connectionSettings;
    if (threading === 'main') return new InThreadSession(filename);
    this.threads.current = await this.writer();
    return this.threads.current.lane();
  }

  /**
   * The one writer thread. The pool asks for connections concurrently (its minimum and the first
   * query at start-up): they must all be lanes of the same thread, or two connections would
   * contend for SQLite's write lock. Only the first caller to find it dead opens another.
   */
  private async writer(): Promise<SqliteThread> {
    const { threads } = this;
    const opening = (threads.writer ??= this.openThread());
    const thread = await opening.catch(() => null);
    if (thread?.alive) return thread;
    if (threads.writer === opening) threads.writer = this.openThread();
    return threads.writer;
  }

  private openThread(options?: { readonly: boolean }): Promise<SqliteThread> {
    return SqliteThread.open(this.connectionSettings.filename, this.config.acquireConnectionTimeout ?? 60_000, options);
  }

  async destroyRawConnection(connection: SqliteSession): Promise<void> {
    await connection.close();
  }

  validateConnection(connection: SqliteSession): boolean {
    return connection.open;
  }

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
    const { threads } = this;
    const opening = (threads.reader ??= this.openReader());
    const reader = await opening.catch(() => null);
    if (reader?.open) return reader;
    if (threads.reader === opening) threads.reader = this.openReader();
    return threads.reader;
  }

  private openReader(): Promise<SqliteSession> {
    return this.openThread({ readonly: true }).then((thread) => thread.lane());
  }

  override async destroy(callback?: (error?: unknown) => void): Promise<void> {
    const { reader } = this.threads;
    this.threads.reader = null;
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
