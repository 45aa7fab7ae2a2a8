import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { JOB_QUEUE_NAMES } from '../application/index.js';
import { buildWorkerHttpApp } from '../adapters/http/worker-http-app.js';
import { closeReadPool, closeSnapshotPool, openReadPool, openSnapshotPool } from '../adapters/persistence/knex/database.js';
import { createChangeNotifier } from './change-notifier.js';
import type { Config } from './config.js';
import { createContainer, openBlobStorage } from './container.js';
import { createJobInstrumentation } from './job-instrumentation.js';
import { openJobQueue } from './job-queue.js';
import { startJobs } from './jobs.js';
import { createLogger } from './logger.js';
import { createRedisClient, redisAnswers } from './redis.js';
import { databaseOptions, databaseReadiness, openServiceDatabase } from './service-database.js';

export interface WorkerApplication {
  /** The probes and metrics; `close()` stops the jobs first, then releases everything the worker opened. */
  http: FastifyInstance;
  logger: Logger;
}

export interface WorkerApplicationOptions {
  logger?: Logger;
  /** Apply pending migrations on start-up; default: only for the embedded SQLite database, as the server does. */
  migrate?: boolean;
  /** An already open database (tests); the worker then leaves closing it to the caller. */
  db?: Knex;
}

/**
 * A process that runs jobs and serves only `/health`, `/ready` and `/metrics`. It wires the same
 * stores and use cases as the API, so what a job writes reaches the API's live streams through
 * the same change notices.
 */
export async function createWorkerApplication(config: Config, options: WorkerApplicationOptions = {}): Promise<WorkerApplication> {
  const logger = options.logger ?? createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);

  const db = options.db ?? (await openServiceDatabase(config, options.migrate, logger));
  const reads = openReadPool(db, databaseOptions(config, logger));
  const snapshots = openSnapshotPool(reads, databaseOptions(config, logger));
  const redis = config.redisUrl ? createRedisClient(config.redisUrl, logger) : null;
  const { notifier, started: notifierStarted } = createChangeNotifier(config, { redis, sharedStores: true, logger });
  const jobQueue = await openJobQueue(config, { db, persistence: 'sql', logger });
  const blobs = openBlobStorage(config);
  const container = createContainer({ config, db, reads, snapshots, notifier, jobQueue: jobQueue.queue, blobStorage: blobs.storage });
  const instrumentation = createJobInstrumentation(jobQueue.queue, JOB_QUEUE_NAMES, logger);

  const readiness = databaseReadiness(db);
  if (redis) readiness.redis = () => redisAnswers(redis);
  // Only exports need the storage: reminders and housekeeping run without it.
  const readinessAdvisories: Record<string, () => Promise<boolean>> = blobs.readiness ? { storage: blobs.readiness } : {};
  const http = await buildWorkerHttpApp({ logger, readiness, readinessAdvisories, metricsToken: config.metricsToken, metricsRegistries: [instrumentation.registry] });

  await notifierStarted;
  const jobs = await startJobs({ container, jobQueue, instrumentation, logger });
  // Stopping starts with the drain: from then on no job is taken, and running ones get SHUTDOWN_TIMEOUT_MS.
  http.onDrain(() => void jobs.stop(config.shutdownTimeoutMs).catch((error: unknown) => logger.error({ err: error }, 'stopping the job worker failed')));
  http.addHook('onClose', async () => {
    await jobs.stop(config.shutdownTimeoutMs);
    await jobQueue.close();
    await notifier.close();
    redis?.disconnect();
    blobs.close();
    await closeSnapshotPool(snapshots, reads);
    await closeReadPool(reads, db);
    if (!options.db) await db.destroy();
  });
  return { http, logger };
}
