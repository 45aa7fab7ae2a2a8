import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import { CreateAdmin, DEFAULT_LIVE_EVENTS_OPTIONS, PurgeExpiredEvents } from '../application/index.js';
import { buildHttpApp } from '../adapters/http/http-app.js';
import { closeReadPool, createDatabase, migrateToLatest, openReadPool, type DatabaseOptions } from '../adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../adapters/persistence/knex/database-unavailable.js';
import { describeConnectionFailure, waitForDatabase } from '../adapters/persistence/knex/connection-check.js';
import { schemaStatus } from '../adapters/persistence/knex/schema-status.js';
import { RedisWindowCounter } from '../adapters/redis/redis-window-counter.js';
import type { Argon2Options } from '../adapters/security/argon2-password-hasher.js';
import { createJwtTokenService } from '../adapters/security/jwt-token-service.js';
import type { Config } from './config.js';
import { createChangeNotifier } from './change-notifier.js';
import { createContainer, resolveHttpUseCases } from './container.js';
import { startEventPurgeTimer } from './event-purge-timer.js';
import { createLogger } from './logger.js';
import { createRedisClient, redisAnswers } from './redis.js';
import { StartupError } from './startup-error.js';
import { VERSION } from './version.js';

export interface Application {
  http: FastifyInstance;
  container: DependencyContainer;
  db: Knex | null;
  logger: Logger;
}

export interface ApplicationOptions {
  logger?: Logger;
  /** 'memory' builds the app on in-memory repositories (tests, demos). Default 'sql'. */
  persistence?: 'sql' | 'memory';
  /** Apply pending migrations on start-up; default: only for the embedded SQLite database. */
  migrate?: boolean;
  /** An already open database (tests); the application then leaves closing it to the caller. */
  db?: Knex;
  argon2?: Argon2Options;
}

function databaseOptions(config: Config, logger?: Logger): DatabaseOptions {
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
  return createDatabase(config.database, databaseOptions(config, logger));
}

export async function openDatabase(config: Config, migrate?: boolean, logger?: Logger): Promise<Knex> {
  const db = createConfiguredDatabase(config, logger);
  if (migrate ?? config.database.kind === 'sqlite') await migrateToLatest(db);
  return db;
}

/**
 * The service's database, answering and with every migration of this code applied; otherwise a
 * StartupError naming why not. A server that listened without them would report itself ready and
 * then fail every request that touches the database.
 */
async function openServiceDatabase(config: Config, migrate: boolean | undefined, logger: Logger): Promise<Knex> {
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

/** Builds the whole service from configuration; `http.close()` releases everything it opened. */
export async function createApplication(config: Config, options: ApplicationOptions = {}): Promise<Application> {
  const logger = options.logger ?? createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);

  const ownsDatabase = options.persistence !== 'memory' && !options.db;
  const db = options.persistence === 'memory' ? null : (options.db ?? (await openServiceDatabase(config, options.migrate, logger)));
  const reads = db && openReadPool(db, databaseOptions(config, logger));
  const tokenService = await createJwtTokenService(config.jwt);
  const redis = config.redisUrl ? createRedisClient(config.redisUrl, logger) : null;
  const { notifier, connected: notifierConnected, started: notifierStarted } = createChangeNotifier(config, { redis, sharedStores: db !== null, logger });
  const container = createContainer({
    config,
    db: db ?? undefined,
    reads: reads ?? undefined,
    argon2: options.argon2,
    tokenService,
    notifier,
    liveEvents: { ...DEFAULT_LIVE_EVENTS_OPTIONS, maxStreamsPerUser: config.events.maxStreamsPerUser },
    reportError: (error, what) => logger.error({ err: error }, what),
  });

  if (config.admin) {
    const admin = await container.resolve(CreateAdmin).execute(config.admin, { onlyIfNoAdmin: true });
    if (admin) logger.info({ userId: admin.id, username: admin.username }, 'created the first administrator from ADMIN_*');
  }

  const readiness: Record<string, () => Promise<boolean>> = {};
  if (db) {
    readiness.database = async () => (await db.raw('select 1'), true);
    // A rollback while the service runs leaves it serving code the schema no longer matches.
    readiness.schema = async () => (await schemaStatus(db)).pending.length === 0;
  }
  if (redis) readiness.redis = () => redisAnswers(redis);
  // Without it, this instance's streams get other instances' events only at the sweep.
  if (notifierConnected) readiness.fan_out = async () => notifierConnected();

  const http = await buildHttpApp(
    {
      useCases: resolveHttpUseCases(container),
      readiness,
      isUnavailable: isDatabaseUnavailable,
      sharedRateLimitCounter: redis ? new RedisWindowCounter(redis, `${config.redisKeyPrefix}rate-limit:`) : null,
    },
    {
      logger,
      bodyLimit: config.bodyLimit,
      trustProxy: config.trustProxy,
      version: VERSION,
      rateLimit: config.rateLimit,
      corsOrigins: config.corsOrigins,
      metricsToken: config.metricsToken,
      eventStreams: { heartbeatSeconds: config.events.heartbeatSeconds, maxBufferBytes: config.events.maxBufferBytes },
    },
  );
  await notifierStarted;
  // Until the job queue runs it (the jobs issue), the change log's retention is kept on a timer here.
  const eventPurge = startEventPurgeTimer(() => container.resolve(PurgeExpiredEvents).execute(), logger);
  http.addHook('onClose', async () => {
    await eventPurge.stop();
    await notifier.close();
    redis?.disconnect();
    if (db && reads) await closeReadPool(reads, db);
    if (ownsDatabase) await db?.destroy();
  });
  return { http, container, db, logger };
}
