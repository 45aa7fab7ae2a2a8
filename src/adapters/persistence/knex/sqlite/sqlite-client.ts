import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import { InThreadSession, type SqliteSession, type SqliteThreading } from './sqlite-session.js';
import type { SqliteAccess } from './sqlite-executor.js';
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

/**
 * How often the reader checkpoints the WAL, taking that work (and its waits for the disk) off
 * the writer. At ~4,000 writes/s, 100 ms of them make a few hundred pages of WAL.
 */
const CHECKPOINT_EVERY_MS = 100;

/**
 * Something opened on first use and shared by every caller: concurrent callers get the same
 * one, and only the first to find it dead (a thread that stopped) opens another.
 */
class Shared<T> {
  private opening: Promise<T> | null = null;

  constructor(
    private readonly open: () => Promise<T>,
    private readonly alive: (value: T) => boolean,
  ) {}

  async get(): Promise<T> {
    const opening = (this.opening ??= this.open());
    const value = await opening.catch(() => null);
    if (value !== null && this.alive(value)) return value;
    if (this.opening === opening) this.opening = this.open();
    return this.opening;
  }

  /** Forgets it, handing back what was open or opening. */
  take(): Promise<T> | null {
    const opening = this.opening;
    this.opening = null;
    return opening;
  }
}

/** A class, not a plain object, so that lodash `merge` shares it rather than copying it. */
class ClientThreads {
  /** The writer as last handed out, for the autocommit lane (which must not wait to open it). */
  current: SqliteThread | null = null;

  constructor(
    readonly writer: Shared<SqliteThread>,
    readonly reader: Shared<SqliteSession>,
  ) {}
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
   *
   * The writer is one per database: the pool asks for connections concurrently (its minimum and
   * the first query at start-up), and they must all be lanes of the same thread, or two
   * connections would contend for SQLite's write lock.
   */
  private readonly threads = new ClientThreads(
    new Shared(() => this.openWriter(), (thread) => thread.alive),
    new Shared(() => this.openThread({ mode: 'read' }, CHECKPOINT_EVERY_MS).then((thread) => thread.lane()), (lane) => lane.open),
  );

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
    this.threads.current = await this.threads.writer.get();
    return this.threads.current.lane();
  }

  /**
   * A database file on threads has a reader beside its writer; an in-memory database has only the
   * one connection, and on the event loop there is no thread to put a reader on.
   */
  private get hasReader(): boolean {
    const { filename, threading } = this.connectionSettings;
    return threading === 'worker' && filename !== ':memory:';
  }

  /** The reader, which also checkpoints, is opened as soon as the writer is. */
  private async openWriter(): Promise<SqliteThread> {
    const writer = await this.openThread({ mode: 'write', checkpointer: this.hasReader });
    if (this.hasReader) void this.threads.reader.get().catch(() => undefined);
    return writer;
  }

  private openThread(access: SqliteAccess, checkpointEveryMs = 0): Promise<SqliteThread> {
    const { filename } = this.connectionSettings;
    return SqliteThread.open({ filename, access, checkpointEveryMs, waitLimitMs: this.config.acquireConnectionTimeout ?? 60_000 });
  }

  async destroyRawConnection(connection: SqliteSession): Promise<void> {
    await connection.close();
  }

  validateConnection(connection: SqliteSession): boolean {
    return connection.open;
  }

  /**
   * Whether a statement goes to the reader: a connection that only reads, on a thread of its own,
   * for the SELECTs the query builder writes outside transactions — the filtered listings and their
   * totals, the ones that can take tens of milliseconds. WAL lets it read while the writer
   * writes, so the statements of every other request (prepared reads and writes, on the writer)
   * do not wait behind them.
   */
  private readsOnReader(connection: KnexConnection, sql: string): boolean {
    return this.hasReader && connection.__knexTxId === undefined && SELECT.test(sql);
  }

  override async destroy(callback?: (error?: unknown) => void): Promise<void> {
    const reader = this.threads.reader.take();
    await (await reader?.catch(() => null))?.close();
    return super.destroy(callback);
  }

  async _query(connection: KnexConnection, obj: QueryObject): Promise<QueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    const target = this.readsOnReader(connection, obj.sql) ? await this.threads.reader.get() : connection;
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
