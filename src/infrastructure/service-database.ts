import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { createDatabase, migrateToLatest, type DatabaseOptions } from '../adapters/persistence/knex/database.js';
import { describeConnectionFailure, waitForDatabase } from '../adapters/persistence/knex/connection-check.js';
import { schemaStatus } from '../adapters/persistence/knex/schema-status.js';
import type { Config } from './config.js';
import { StartupError } from './startup-error.js';

export function databaseOptions(config: Config, logger?: Logger): DatabaseOptions {
  return {
    acquireTimeoutMs: config.databaseTimeouts.acquireMs,
    statementTimeoutMs: config.databaseTimeouts.statementMs,
    log: logger && {
      warn: (message) => logger.warn({ component: 'knex' }, message),
      error: (message) => logger.error({ component: 'knex' }, message),
      debug: (message) => logger.debug({ component: 'knex' }, message),
    },
  };
}

function createConfiguredDatabase(config: Config, logger?: Logger): Knex {
  // DATA_DIR is the service's own: its default database is created there even when nothing else
  // has made the folder yet (in production no generated secret does). A folder named by
  // DATABASE_URL is the operator's, and a mistyped one should fail rather than appear.
  if (config.database.kind === 'sqlite' && path.dirname(config.database.filename) === config.dataDir) mkdirSync(config.dataDir, { recursive: true });
  return createDatabase(config.database, databaseOptions(config, logger));
}

export async function openDatabase(config: Config, migrate?: boolean, logger?: Logger): Promise<Knex> {
  const db = createConfiguredDatabase(config, logger);
  if (migrate ?? config.database.kind === 'sqlite') await migrateToLatest(db);
  return db;
}

/**
 * The service's database, answering and with every migration of this code applied; otherwise a
 * StartupError naming why not. A process that started without them would report itself ready and
 * then fail every request or job that touches the database. Migrations are applied only when
 * asked, by default only to the embedded SQLite database.
 */
export async function openServiceDatabase(config: Config, migrate: boolean | undefined, logger: Logger): Promise<Knex> {
  const db = createConfiguredDatabase(config, logger);
  try {
    await waitForDatabase(db, {
      timeoutMs: config.databaseConnectTimeoutMs,
      onFirstFailure: (error) =>
        logger.warn(`database not answering yet (${describeConnectionFailure(error, config.database)}); retrying for up to ${config.databaseConnectTimeoutMs} ms`),
    });
  } catch (error) {
    await db.destroy();
    throw new StartupError(`cannot connect to the database: ${describeConnectionFailure(error, config.database)}`);
  }
  try {
    if (migrate ?? config.database.kind === 'sqlite') await migrateToLatest(db);
    const { pending } = await schemaStatus(db);
    if (pending.length > 0) {
      throw new StartupError(
        `the database schema is behind this version: ${pending.length} migration(s) not applied (${pending.join(', ')}); run \`npm run migrate\` first`,
      );
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/** For /ready: the database answers, and its schema is still the one this code needs. */
export function databaseReadiness(db: Knex): Record<string, () => Promise<boolean>> {
  return {
    database: async () => (await db.raw('select 1'), true),
    // A rollback while the process runs leaves it running code the schema no longer matches.
    schema: async () => (await schemaStatus(db)).pending.length === 0,
  };
}
