import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { JobQueue, JobWorker } from '../application/index.js';
import { BullmqJobQueue, type BullmqConnection } from '../adapters/jobs/bullmq-job-queue.js';
import { EmbeddedJobQueue } from '../adapters/jobs/embedded-job-queue.js';
import { InMemoryJobQueue } from '../adapters/jobs/in-memory-job-queue.js';
import { DEFAULT_JOB_QUEUE_SETTINGS, type JobQueueSettings } from '../adapters/jobs/job-settings.js';
import type { Config } from './config.js';

/** The job queue adapters, named by where their jobs live. */
export type JobQueueKind = 'bullmq-redis' | 'bullmq-postgres' | 'embedded-sqlite' | 'in-memory';

/**
 * Which queue a deployment uses: Redis when REDIS_URL is set (BullMQ); else the database the
 * instances already share — PostgreSQL through BullMQ's PostgreSQL backend, SQLite through the
 * embedded queue in that file; in-memory stores get the in-memory queue, which nothing else sees.
 */
export function jobQueueKind(config: Pick<Config, 'redisUrl' | 'database'>, persistence: 'sql' | 'memory'): JobQueueKind {
  if (persistence === 'memory') return 'in-memory';
  if (config.redisUrl) return 'bullmq-redis';
  return config.database.kind === 'postgres' ? 'bullmq-postgres' : 'embedded-sqlite';
}

/** An open job queue: what producers use, and how this process runs its jobs. */
export interface OpenedJobQueue {
  kind: JobQueueKind;
  queue: JobQueue;
  /** A worker in this process; it opens its own connections where the adapter needs them. */
  worker(): JobWorker;
  /** Closes every connection the queue opened. Stop its workers first. */
  close(): Promise<void>;
}

/** What an adapter may be built from. */
export interface JobQueueSources {
  config: Config;
  /** The service's database; null with in-memory stores. */
  db: Knex | null;
  settings: JobQueueSettings;
  logger: Logger;
}

export type JobQueueOpener = (sources: JobQueueSources) => Promise<OpenedJobQueue>;

const openInMemory: JobQueueOpener = async ({ settings }) => {
  const queue = new InMemoryJobQueue(settings);
  return { kind: 'in-memory', queue, worker: () => queue.worker(), close: async () => {} };
};

const openEmbedded: JobQueueOpener = async ({ config, db, settings, logger }) => {
  if (!db) throw new Error('the embedded job queue lives in the service database, and there is none');
  const log = logger.child({ component: 'jobs' });
  const queue = new EmbeddedJobQueue(db, { ...settings, leaseMs: config.jobs.leaseMs, log: { warn: (message) => log.warn(message) } });
  return { kind: 'embedded-sqlite', queue, worker: () => queue.worker(), close: () => queue.close() };
};

/** BullMQ's PostgreSQL tables live in a schema of their own, beside the service's. */
export const BULLMQ_POSTGRES_SCHEMA = 'taskforge_jobs';

/**
 * The schema of BullMQ's tables for a deployment: `taskforge_jobs`, or `<schema>_jobs` when
 * DATABASE_URL puts the service in a schema of its own (`options=-c search_path=<schema>`), so
 * that deployments sharing one database never take each other's jobs.
 */
export function bullmqSchemaOf(databaseUrl: string): string {
  const options = new URL(databaseUrl).searchParams.get('options') ?? '';
  const schema = /search_path\s*=\s*"?([A-Za-z_][A-Za-z0-9_]{0,53})"?(?:[,\s]|$)/.exec(options)?.[1];
  return schema && schema.toLowerCase() !== 'public' ? `${schema}_jobs` : BULLMQ_POSTGRES_SCHEMA;
}

function bullmqConnection(config: Config): BullmqConnection {
  if (config.redisUrl) return { kind: 'redis', url: config.redisUrl, prefix: `${config.redisKeyPrefix}jobs` };
  if (config.database.kind === 'postgres') return { kind: 'postgres', connectionString: config.database.url, schema: bullmqSchemaOf(config.database.url) };
  throw new Error('BullMQ needs Redis (REDIS_URL) or a PostgreSQL database');
}

const openBullmq: JobQueueOpener = async ({ config, settings, logger }) => {
  const log = logger.child({ component: 'jobs' });
  const queue = await BullmqJobQueue.open({
    connection: bullmqConnection(config),
    settings,
    leaseMs: config.jobs.leaseMs,
    onError: (error) => log.warn({ err: error }, 'the job queue reported an error'),
  });
  return { kind: config.redisUrl ? 'bullmq-redis' : 'bullmq-postgres', queue, worker: () => queue.worker(), close: () => queue.close() };
};

/** How each kind of queue is opened from the service's configuration. */
export const JOB_QUEUE_OPENERS: Record<JobQueueKind, JobQueueOpener> = {
  'in-memory': openInMemory,
  'embedded-sqlite': openEmbedded,
  'bullmq-redis': openBullmq,
  'bullmq-postgres': openBullmq,
};

export function jobQueueSettings(config: Config): JobQueueSettings {
  const { attempts, concurrency, failedRetentionMs } = config.jobs;
  return { ...DEFAULT_JOB_QUEUE_SETTINGS, attempts, concurrency, failedRetentionMs };
}

export async function openJobQueue(
  config: Config,
  { db, persistence, logger, kind: chosen }: { db: Knex | null; persistence: 'sql' | 'memory'; logger: Logger; kind?: JobQueueKind },
): Promise<OpenedJobQueue> {
  const kind = chosen ?? jobQueueKind(config, persistence);
  const sources: JobQueueSources = { config, db, settings: jobQueueSettings(config), logger };
  return JOB_QUEUE_OPENERS[kind](sources);
}
