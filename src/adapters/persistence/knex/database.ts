import knex, { type Knex } from 'knex';
import { migrationSource } from '../../../../migrations/index.js';

export type DatabaseTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

export interface DatabaseOptions {
  /** How long a query may wait for a connection before failing (fail fast when the database is gone). */
  acquireTimeoutMs?: number;
  /** PostgreSQL statement_timeout; a runaway query is cut rather than holding the pool. */
  statementTimeoutMs?: number;
  poolMax?: number;
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

/** The better-sqlite3 Database the pool hands out (only what is used here). */
type SqliteConnection = { pragma(source: string): unknown };

/**
 * SQLite runs in WAL mode with synchronous=NORMAL: a committed write survives the process being
 * killed; on power loss the last transactions before the crash may roll back (never corrupt).
 * busy_timeout: better-sqlite3 is synchronous, so a write waiting for another process's lock
 * (the CLI, a migration) blocks the event loop for up to this long before failing with
 * SQLITE_BUSY (a 503). The service itself never waits: it has one connection.
 */
const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'foreign_keys = ON', 'busy_timeout = 5000'];

export function createDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Knex {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 5_000;
  if (target.kind === 'sqlite') {
    // better-sqlite3 (synchronous, in-process) rather than the asynchronous sqlite3 binding: every
    // query used to hop to libuv's thread pool and back; see README "Performance: benchmark".
    return knex({
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      acquireConnectionTimeout,
      log: knexLog(options.log),
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: SqliteConnection, done: (error: Error | null, conn: SqliteConnection) => void) => {
          try {
            const pragmas = target.filename === ':memory:' ? SQLITE_PRAGMAS.slice(2) : SQLITE_PRAGMAS;
            for (const pragma of pragmas) conn.pragma(pragma);
            done(null, conn);
          } catch (error) {
            done(error as Error, conn);
          }
        },
      },
    });
  }
  const statementTimeout = options.statementTimeoutMs ?? 10_000;
  return knex({
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
  });
}

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export async function rollbackLast(db: Knex): Promise<string[]> {
  const [, reverted] = (await db.migrate.rollback({ migrationSource })) as [number, string[]];
  return reverted;
}

export { isPostgres } from './dialect.js';
