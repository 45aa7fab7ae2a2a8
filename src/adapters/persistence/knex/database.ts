import knex, { type Knex } from 'knex';
import { migrationSource } from '../../../../migrations/index.js';

export type DatabaseTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

export interface DatabaseOptions {
  /** How long a query may wait for a connection before failing (fail fast when the database is gone). */
  acquireTimeoutMs?: number;
  /** PostgreSQL statement_timeout; a runaway query is cut rather than holding the pool. */
  statementTimeoutMs?: number;
  poolMax?: number;
  /** How long an SQLite write waits for another process's write lock before failing (SQLITE_BUSY). */
  sqliteBusyTimeoutMs?: number;
  /** Connections of an SQLite file's read pool (see openReadPool). */
  sqliteReadConnections?: number;
  /** Connections of PostgreSQL's snapshot pool (see openSnapshotPool). */
  snapshotConnections?: number;
  /** Where knex's own warnings go (connection errors during an outage); console otherwise. */
  log?: DatabaseLog;
}

export interface DatabaseLog {
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

const knexLog = (log: DatabaseLog | undefined) =>
  log && {
    warn: (message: unknown) => log.warn(String(message)),
    error: (message: unknown) => log.error(String(message)),
    debug: (message: unknown) => log.debug(String(message)),
    deprecate: (method: string, alternative: string) => log.warn(`knex: ${method} is deprecated, use ${alternative}`),
  };

/** The parts of a node-sqlite3 `Database` that a new connection is set up with. */
interface SqliteConnection {
  exec(sql: string, callback: (error: Error | null) => void): void;
  configure(option: 'busyTimeout', milliseconds: number): void;
}

/**
 * Every SQLite connection, as it opens:
 * - WAL, so readers never block the writer nor the writer readers, in this process or another;
 * - synchronous=NORMAL: a committed write survives the process being killed; on power loss the
 *   last transactions may roll back, never corrupt the file;
 * - foreign keys on (SQLite leaves them off by default): deleting a user cascades to their data;
 * - a busy timeout, so a write that finds another process (a second instance, the CLI) holding
 *   the write lock waits for it instead of failing at once.
 */
function sqliteSetUp(filename: string, busyTimeoutMs: number) {
  const pragmas = [
    ...(filename === ':memory:' ? [] : ['pragma journal_mode = WAL', 'pragma synchronous = NORMAL']),
    'pragma foreign_keys = ON',
  ];
  return (connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void): void => {
    connection.configure('busyTimeout', busyTimeoutMs);
    connection.exec(pragmas.join('; '), (error) => done(error, connection));
  };
}

/**
 * A connection of the read pool: read-only, so a write sent to it by mistake fails instead of
 * slipping past the one writing connection; and the same busy timeout, for the rare moments a
 * reader must wait (a checkpoint resetting the WAL).
 */
function sqliteReaderSetUp(busyTimeoutMs: number) {
  return (connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void): void => {
    connection.configure('busyTimeout', busyTimeoutMs);
    connection.exec('pragma query_only = ON', (error) => done(error, connection));
  };
}

/**
 * How long the client waits for PostgreSQL's answer to a statement before giving up on the
 * connection: past the server's own statement_timeout, so that a slow statement is the server's
 * to cancel (it answers 57014), and this one only fires when no answer can come.
 */
export const clientReadTimeoutMs = (statementTimeoutMs: number): number => statementTimeoutMs + 2_000;

/**
 * An error's message keeps the statement's placeholders: by default knex writes the values into
 * it, and errors are logged and printed, so password hashes and token digests would go with them.
 */
const ERRORS_WITHOUT_VALUES = { compileSqlOnError: false } as const;

/** knex's configuration for a target; knexfile.ts gives the same to knex's own command line. */
export function knexConfig(target: DatabaseTarget, options: DatabaseOptions = {}): Knex.Config {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 5_000;
  if (target.kind === 'sqlite') {
    return {
      client: 'sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      ...ERRORS_WITHOUT_VALUES,
      acquireConnectionTimeout,
      log: knexLog(options.log),
      // One connection: SQLite has one writer, and a transaction holds the connection it runs on,
      // so the writes of this process queue here rather than contend for the file's lock.
      pool: { min: 1, max: 1, afterCreate: sqliteSetUp(target.filename, options.sqliteBusyTimeoutMs ?? 5_000) },
    };
  }
  const statementTimeout = options.statementTimeoutMs ?? 10_000;
  return {
    client: 'pg',
    ...ERRORS_WITHOUT_VALUES,
    connection: {
      connectionString: target.url,
      statement_timeout: statementTimeout,
      // The server-side timeout cannot fire when the network itself is gone; this one can.
      query_timeout: clientReadTimeoutMs(statementTimeout),
      connectionTimeoutMillis: acquireConnectionTimeout,
      keepAlive: true,
    },
    acquireConnectionTimeout,
    log: knexLog(options.log),
    pool: { min: 0, max: options.poolMax ?? 10 },
  };
}

export function createDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Knex {
  return knex(knexConfig(target, options));
}

/**
 * Connections for the statements that only read, beside `db`. On an SQLite file, a pool of its
 * own: `db` has one connection, and every statement on it waits for the one before it, each
 * making several trips between the event loop and the thread pool; WAL lets readers run beside
 * the writer, so reads run side by side and writes no longer queue behind them. Transactions
 * stay on `db`, and a read pool sees every write as soon as it is committed. Elsewhere `db`
 * itself: PostgreSQL's pool already reads in parallel, and a second connection to `:memory:`
 * would open a second, empty database. Close it with closeReadPool.
 */
export function openReadPool(db: Knex, options: DatabaseOptions = {}): Knex {
  const { client, connection } = db.client.config as Knex.Config;
  const filename = (connection as Knex.Sqlite3ConnectionConfig | undefined)?.filename;
  if (client !== 'sqlite3' || !filename || filename === ':memory:') return db;
  return knex({
    client: 'sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    ...ERRORS_WITHOUT_VALUES,
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 5_000,
    log: knexLog(options.log),
    // Opened on first use, after start-up has created and migrated the file through `db`.
    pool: { min: 0, max: options.sqliteReadConnections ?? 3, afterCreate: sqliteReaderSetUp(options.sqliteBusyTimeoutMs ?? 5_000) },
  });
}

/** Closes a pool from openReadPool, and only that: `db` itself belongs to whoever opened it. */
export async function closeReadPool(reads: Knex, db: Knex): Promise<void> {
  if (reads !== db) await reads.destroy();
}

/**
 * Connections for reading one snapshot page after page (exports), beside `reads`. On PostgreSQL,
 * a small pool of its own, with the same server-side statement_timeout but without node-postgres'
 * `query_timeout`: that option replaces the callback of every query with a wrapper, and with it
 * in place the rows of nearly every page survived young-generation GCs and were promoted, so a
 * 100,000-task read left 22-38 MiB of garbage in the old generation against ~3 MiB without it
 * (docs/performance.md, "Background jobs"). What `query_timeout` protects against, a server or
 * network that stops answering, KnexTaskSnapshots guards itself, a page at a time. Elsewhere
 * `reads` itself. Close it with closeSnapshotPool.
 */
export function openSnapshotPool(reads: Knex, options: DatabaseOptions = {}): Knex {
  const config = reads.client.config as Knex.Config;
  const connection = config.connection;
  if (config.client !== 'pg' || typeof connection !== 'object' || connection === null || !('query_timeout' in connection)) return reads;
  const { query_timeout: _guardedPerPage, ...withoutClientTimeout } = connection as Knex.PgConnectionConfig & { query_timeout?: number };
  return knex({
    ...config,
    connection: withoutClientTimeout,
    log: knexLog(options.log) ?? config.log,
    // An export holds one connection for as long as it runs; two let a second one run beside it.
    pool: { min: 0, max: options.snapshotConnections ?? 2 },
  });
}

/**
 * Closes a pool from openSnapshotPool, and only that. A snapshot whose server stopped answering
 * holds its connection until the socket answers or fails (KnexTaskSnapshots gives up on it, not
 * the socket): closing waits for it at most `patienceMs`, then leaves it to the process's end.
 */
export async function closeSnapshotPool(snapshots: Knex, reads: Knex, patienceMs = 5_000): Promise<void> {
  if (snapshots === reads) return;
  let timer: NodeJS.Timeout | undefined;
  const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, patienceMs).unref()));
  try {
    await Promise.race([snapshots.destroy(), patience]);
  } finally {
    clearTimeout(timer);
  }
}

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export { isPostgres } from './dialect.js';
