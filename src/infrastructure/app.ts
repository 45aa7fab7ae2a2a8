import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import { CreateAdmin, DEFAULT_LIVE_EVENTS_OPTIONS, JOB_QUEUE_NAMES, type JobQueue } from '../application/index.js';
import { buildHttpApp } from '../adapters/http/http-app.js';
import { closeReadPool, closeSnapshotPool, openReadPool, openSnapshotPool } from '../adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../adapters/persistence/knex/database-unavailable.js';
import { FallbackWindowCounter } from '../adapters/redis/fallback-window-counter.js';
import { RedisWindowCounter } from '../adapters/redis/redis-window-counter.js';
import { InMemoryWindowCounter } from '../adapters/shared/in-memory-window-counter.js';
import type { Argon2Options } from '../adapters/security/argon2-password-hasher.js';
import { createJwtTokenService } from '../adapters/security/jwt-token-service.js';
import type { Config } from './config.js';
import { createChangeNotifier } from './change-notifier.js';
import { createContainer, openBlobStorage, resolveHttpUseCases } from './container.js';
import { createGenerationInstrumentation } from './generation-instrumentation.js';
import { createJobInstrumentation } from './job-instrumentation.js';
import { openJobQueue, type JobQueueKind } from './job-queue.js';
import { startJobs, type RunningJobs } from './jobs.js';
import { createLogger } from './logger.js';
import { createRedisClient, redisAnswers } from './redis.js';
import { databaseOptions, databaseReadiness, openServiceDatabase } from './service-database.js';
import { VERSION } from './version.js';

export { openDatabase } from './service-database.js';

export interface Application {
  http: FastifyInstance;
  container: DependencyContainer;
  db: Knex | null;
  /** Where use cases hand work to the workers (also in the container, under JOB_QUEUE). */
  jobQueue: JobQueue;
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
  /** The job queue to use instead of the one the configuration leads to (tests that run jobs themselves). */
  jobQueue?: JobQueueKind;
}

/** Builds the whole service from configuration; `http.close()` releases everything it opened. */
export async function createApplication(config: Config, options: ApplicationOptions = {}): Promise<Application> {
  const logger = options.logger ?? createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);

  const ownsDatabase = options.persistence !== 'memory' && !options.db;
  const db = options.persistence === 'memory' ? null : (options.db ?? (await openServiceDatabase(config, options.migrate, logger)));
  const reads = db && openReadPool(db, databaseOptions(config, logger));
  const snapshots = reads && openSnapshotPool(reads, databaseOptions(config, logger));
  const tokenService = await createJwtTokenService(config.jwt);
  const redis = config.redisUrl ? createRedisClient(config.redisUrl, logger) : null;
  const { notifier, connected: notifierConnected, started: notifierStarted } = createChangeNotifier(config, { redis, sharedStores: db !== null, logger });
  const jobQueue = await openJobQueue(config, { db, persistence: db ? 'sql' : 'memory', logger, kind: options.jobQueue });
  // In-memory stores keep blobs in memory too: files would outlive the rows that name them.
  const blobs = db ? openBlobStorage(config) : null;
  const generation = createGenerationInstrumentation(logger);
  const container = createContainer({
    config,
    db: db ?? undefined,
    reads: reads ?? undefined,
    snapshots: snapshots ?? undefined,
    argon2: options.argon2,
    tokenService,
    notifier,
    liveEvents: { ...DEFAULT_LIVE_EVENTS_OPTIONS, maxStreamsPerUser: config.events.maxStreamsPerUser },
    jobQueue: jobQueue.queue,
    blobStorage: blobs?.storage,
    // The AI quota holds across instances only when they count in one place.
    windowCounter: redis
      ? new FallbackWindowCounter(new RedisWindowCounter(redis, `${config.redisKeyPrefix}quota:`), { log: logger, counts: 'AI generation quotas' })
      : new InMemoryWindowCounter(),
    generationMonitor: generation.monitor,
    reportError: (error, what) => logger.error({ err: error }, what),
  });

  if (config.admin) {
    const admin = await container.resolve(CreateAdmin).execute(config.admin, { onlyIfNoAdmin: true });
    if (admin) logger.info({ userId: admin.id, username: admin.username }, 'created the first administrator from ADMIN_*');
  }

  const readiness: Record<string, () => Promise<boolean>> = db ? databaseReadiness(db) : {};
  if (redis) readiness.redis = () => redisAnswers(redis);
  // Without it, this instance's streams get other instances' events only at the sweep.
  if (notifierConnected) readiness.fan_out = async () => notifierConnected();
  // Only attachments and exports need the storage: the tasks are served without it.
  const readinessAdvisories: Record<string, () => Promise<boolean>> = blobs?.readiness ? { storage: blobs.readiness } : {};

  const jobInstrumentation = createJobInstrumentation(jobQueue.queue, JOB_QUEUE_NAMES, logger);
  const http = await buildHttpApp(
    {
      useCases: resolveHttpUseCases(container),
      readiness,
      readinessAdvisories,
      readinessNotes: { ai: config.ai ? 'configured' : 'not_configured' },
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
      metricsRegistries: [jobInstrumentation.registry, generation.registry],
      eventStreams: { heartbeatSeconds: config.events.heartbeatSeconds, maxBufferBytes: config.events.maxBufferBytes },
      attachmentUploads: { maxBytes: config.attachments.maxBytes, timeoutMs: config.attachments.uploadTimeoutMs },
      webClientDir: config.webClientDir,
    },
  );
  await notifierStarted;
  const jobs: RunningJobs | null =
    config.jobs.workers === 'embedded' ? await startJobs({ container, jobQueue, instrumentation: jobInstrumentation, logger }) : null;
  // A draining process starts no job: the worker stops taking them the moment the drain begins,
  // and the running ones get the same time to finish as the requests in flight.
  http.onDrain(() => void jobs?.stop(config.shutdownTimeoutMs).catch((error: unknown) => logger.error({ err: error }, 'stopping the job worker failed')));
  http.addHook('onClose', async () => {
    await jobs?.stop(config.shutdownTimeoutMs);
    await jobQueue.close();
    await notifier.close();
    redis?.disconnect();
    blobs?.close();
    if (reads && snapshots) await closeSnapshotPool(snapshots, reads);
    if (db && reads) await closeReadPool(reads, db);
    if (ownsDatabase) await db?.destroy();
  });
  return { http, container, db, jobQueue: jobQueue.queue, logger };
}
