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

/** knex's configuration for a target; knexfile.ts gives the same to knex's own command line. */
export function knexConfig(target: DatabaseTarget, options: DatabaseOptions = {}): Knex.Config {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 5_000;
  if (target.kind === 'sqlite') {
    return {
      client: 'sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
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
    connection: {
      connectionString: target.url,
      statement_timeout: statementTimeout,
      // The server-side timeout cannot fire when the network itself is gone; this one can.
      query_timeout: statementTimeout + 2_000,
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

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export { isPostgres } from './dialect.js';
