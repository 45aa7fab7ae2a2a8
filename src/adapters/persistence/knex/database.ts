import knex, { type Knex } from 'knex';
import { migrationSource } from '../../../../migrations/index.js';
import { SqliteSessionClient } from './sqlite/sqlite-client.js';
import type { SqliteThreading } from './sqlite/sqlite-session.js';

export type DatabaseTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

export interface DatabaseOptions {
  /** How long a query may wait for a connection before failing (fail fast when the database is gone). */
  acquireTimeoutMs?: number;
  /** PostgreSQL statement_timeout; a runaway query is cut rather than holding the pool. */
  statementTimeoutMs?: number;
  poolMax?: number;
  /** Where SQLite runs: on a thread of its own (the service) or on the event loop (the default). */
  sqliteThreading?: SqliteThreading;
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

export function createDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Knex {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 5_000;
  if (target.kind === 'sqlite') {
    // better-sqlite3 (synchronous) rather than the asynchronous sqlite3 binding, whose every query
    // hopped to libuv's thread pool and back; with `sqliteThreading: 'worker'` it runs on a thread
    // of its own. See README "Performance: benchmark".
    return knex({
      client: SqliteSessionClient as unknown as typeof Knex.Client,
      connection: { filename: target.filename, threading: options.sqliteThreading ?? 'main' } as Knex.Sqlite3ConnectionConfig,
      useNullAsDefault: true,
      acquireConnectionTimeout,
      log: knexLog(options.log),
      // SQLite has one writer and one connection. On its thread, the pool's connections are lanes
      // of that one connection, so statements are sent without waiting for each other's answers.
      pool: { min: 1, max: options.sqliteThreading === 'worker' ? 8 : 1 },
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
