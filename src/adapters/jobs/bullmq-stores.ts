import { Job, Queue, Worker, createPostgresBackend, runMigrations, withBackend, type JobsOptions, type PgPoolConfig } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { JobPayload } from '../../application/index.js';

/** Where the jobs are kept: BullMQ on Redis, or BullMQ 6 on PostgreSQL. */
export type BullmqConnection =
  | { kind: 'redis'; url: string; /** BullMQ's key prefix: it puts `<prefix>:<queue>:` before every key. */ prefix: string }
  | { kind: 'postgres'; connectionString: string; /** The schema BullMQ's tables live in, migrated by openStore(). */ schema: string };

/** How long a producer waits for its store before an enqueue fails: a request never hangs on it. */
const PRODUCER_PATIENCE_MS = 2_000;
/** Connections of one queue's producer on PostgreSQL: an enqueue holds one for a millisecond or two. */
const PRODUCER_POOL_SIZE = 3;

/** The store for a connection; on PostgreSQL, BullMQ's schema is brought up to date before its first use (once, not on every connection). */
export async function openStore(connection: BullmqConnection): Promise<Store> {
  if (connection.kind === 'redis') return new RedisStore(connection.url, connection.prefix);
  return new PostgresStore(connection.connectionString, connection.schema);
}

/** What the queue uses of a BullMQ Queue, whichever store it runs on. */
export interface Producer {
  add(name: string, data: JobPayload, options: JobsOptions): Promise<unknown>;
  upsertJobScheduler(id: string, repeat: { every: number; startDate: number }, template: { name: string; data: JobPayload; opts: JobsOptions }): Promise<unknown>;
  remove(jobId: string): Promise<number>;
  removeJobScheduler(id: string): Promise<boolean>;
  getWaitingCount(): Promise<number>;
  getDelayedCount(timestamp?: number): Promise<number>;
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
}

/** What a worker uses of a BullMQ Worker. */
export interface Consumer {
  waitUntilReady(): Promise<void>;
  pause(doNotWaitActive?: boolean): Promise<void>;
  /**
   * Closes the worker's connections: cleanly (BullMQ lets a fetch in flight end and says goodbye
   * to the store) while the store answers, for CLOSE_PATIENCE_MS at most; by force otherwise.
   */
  close(force?: boolean): Promise<void>;
  /** The state of a job of this queue ('unknown' when there is none). */
  jobState(jobId: string): Promise<string>;
}

/**
 * How long a clean close of a worker may take. Against a store that answers it takes
 * milliseconds; against one that stopped answering halfway it would wait for it to come back.
 */
const CLOSE_PATIENCE_MS = 2_000;

type BullmqWorker = Omit<Consumer, 'jobState'> & Parameters<typeof Job.fromId>[0] & { disconnect(): Promise<void> };

/**
 * A BullMQ Worker, of either store, as a Consumer. `answering` says whether the store answers
 * now: BullMQ's clean close waits for its connections to end, and a connection that is
 * reconnecting to a store that is away never ends (taskforcesh/bullmq#4656), so with the store
 * away the worker is closed by force at once. A force close records nothing in the store, and
 * neither could a clean one while the store is away.
 */
function consumerOf(worker: BullmqWorker, answering: () => boolean): Consumer {
  return {
    waitUntilReady: () => worker.waitUntilReady(),
    pause: (doNotWaitActive) => worker.pause(doNotWaitActive),
    close: async (force) => {
      if (force || !answering()) return worker.close(true);
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        worker.close().then(() => false),
        new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_PATIENCE_MS))),
      ]);
      clearTimeout(timer);
      // The store went away during the close: BullMQ waits on, so its connections are cut (which
      // ends their reconnection timers) and the close is left to end with them, or never.
      if (late) void worker.disconnect().catch(() => {});
    },
    jobState: async (jobId) => (await (await Job.fromId(worker, jobId))?.getState()) ?? 'unknown',
  };
}

export interface ConsumerTuning {
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}

export interface ConsumerEvents {
  error(error: Error): void;
  failed(job: Job<JobPayload> | undefined, error: Error): void;
}

export type Process = (job: Job<JobPayload>) => Promise<void>;

/** The store underneath: how producers and workers connect to it. */
export interface Store {
  producer(queue: string): Producer;
  consumer(queue: string, process: Process, tuning: ConsumerTuning, events: ConsumerEvents): Consumer;
  /** Rejects soon when the store cannot be reached now, so that a producer never waits on it. */
  reachable(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis, as BullMQ's production guide connects to it. Producers share one connection that queues
 * nothing while Redis is away, so an enqueue fails at once instead of waiting for Redis to come
 * back; each worker has its own connections, which wait out an outage
 * (`maxRetriesPerRequest: null`).
 */
class RedisStore implements Store {
  private readonly client: Redis;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: PRODUCER_PATIENCE_MS,
      commandTimeout: PRODUCER_PATIENCE_MS, // a network gone silent
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.client.on('error', () => {}); // every producer call that fails says so itself
  }

  producer(queue: string): Producer {
    const producer = new Queue<JobPayload, void, string>(queue, { connection: this.client, prefix: this.prefix });
    producer.on('error', () => {}); // the shared connection's troubles, reported by the calls that fail
    return producer;
  }

  consumer(queue: string, process: Process, tuning: ConsumerTuning, events: ConsumerEvents): Consumer {
    const worker = new Worker<JobPayload, void, string>(queue, process, {
      ...tuning,
      connection: { url: this.url, maxRetriesPerRequest: null },
      prefix: this.prefix,
    });
    worker.on('error', events.error);
    worker.on('failed', events.failed);
    // Whether Redis answers, as the producers' connection last found: a worker's own connections
    // reconnect on much the same schedule.
    return consumerOf(worker, () => this.client.status === 'ready');
  }

  async reachable(): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', ready);
        reject(new Error(`Redis has not answered for ${PRODUCER_PATIENCE_MS} ms`));
      }, PRODUCER_PATIENCE_MS);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', ready);
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

const PostgresBullmq = withBackend(createPostgresBackend);

/**
 * PostgreSQL through BullMQ's backend for it: each producer and worker has a small pool of its own
 * in the one schema (a worker also holds one connection to LISTEN on).
 */
class PostgresStore implements Store {
  constructor(
    private readonly connectionString: string,
    private readonly schema: string,
  ) {}

  producer(queue: string): Producer {
    const producer = new PostgresBullmq.Queue<JobPayload, void, string>(queue, {
      connection: {
        ...this.server(),
        schema: this.schema,
        connectionTimeoutMillis: PRODUCER_PATIENCE_MS,
        query_timeout: PRODUCER_PATIENCE_MS, // a network gone silent
        max: PRODUCER_POOL_SIZE,
      },
    });
    producer.on('error', () => {}); // reported by the calls that fail
    return producer;
  }

  consumer(queue: string, process: Process, tuning: ConsumerTuning, events: ConsumerEvents): Consumer {
    const worker = new PostgresBullmq.Worker<JobPayload, void, string>(queue, process, {
      ...tuning,
      // A connection per job slot, and some for fetching, lock renewals and the stalled check.
      connection: { ...this.server(), schema: this.schema, max: tuning.concurrency + 2 },
    });
    worker.on('error', events.error);
    worker.on('failed', events.failed);
    // Nothing here knows whether the database answers now: a clean close is tried, within its patience.
    return consumerOf(worker, () => true);
  }

  private migrated: Promise<void> | null = null;

  /**
   * Once BullMQ's schema is up to date: a worker on a schema without its functions would fail in
   * a tight loop. Tried again on the next call when the database could not be reached.
   */
  reachable(): Promise<void> {
    this.migrated ??= migratePostgres(this.connectionString, this.schema).catch((error: unknown) => {
      this.migrated = null;
      throw error;
    });
    return this.migrated;
  }

  /**
   * The server and credentials, parsed here rather than handed over as a URL: BullMQ pins the
   * search_path to its schema through the connection's `options`, and options in a URL (a
   * deployment's own search_path) would override it.
   */
  private server(): PgPoolConfig {
    const { password, ...server } = parseIntoClientConfig(this.connectionString);
    return { ...server, password: typeof password === 'string' ? password : undefined };
  }

  async close(): Promise<void> {}
}

const MIGRATION_CONNECT_TIMEOUT_MS = 5_000;

/** BullMQ's own migrations, on one dedicated session as runMigrations requires. */
async function migratePostgres(connectionString: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: MIGRATION_CONNECT_TIMEOUT_MS });
  // A connection lost between two statements: the next statement fails with it, and that is what the caller hears.
  client.on('error', () => {});
  await client.connect();
  try {
    await runMigrations(client, schema);
  } finally {
    await client.end();
  }
}
