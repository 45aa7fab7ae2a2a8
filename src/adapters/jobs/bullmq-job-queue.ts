import { Job, Queue, UnrecoverableError, Worker, createPostgresBackend, runMigrations, withBackend, type JobSchedulerJobOptions, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  JobRefusedError,
  type JobContext,
  type JobHandler,
  type JobOptions,
  type JobPayload,
  type JobQueue,
  type JobWorker,
  type RepeatOptions,
} from '../../application/index.js';
import { assertJobKey, backoffDelayMs, DEFAULT_JOB_QUEUE_SETTINGS, type JobQueueSettings } from './job-settings.js';

/** Where the jobs are kept: BullMQ on Redis, or BullMQ 6 on PostgreSQL. */
export type BullmqConnection =
  | { kind: 'redis'; url: string; /** BullMQ's key prefix: every key of these queues starts with it. */ prefix: string }
  | { kind: 'postgres'; connectionString: string; /** The schema BullMQ's tables live in, migrated by open(). */ schema: string };

export interface BullmqJobQueueOptions {
  connection: BullmqConnection;
  settings?: Partial<JobQueueSettings>;
  /**
   * How long a job stays claimed by a worker that vanished (killed, or stopped past its timeout)
   * before another worker runs it: BullMQ's lock duration. Running jobs renew it.
   */
  leaseMs?: number;
  /** What BullMQ reports in the background (a lost connection, a failed lock renewal); producers' failures reject their calls instead. */
  onError?: (error: Error) => void;
}

const DEFAULT_LEASE_MS = 30_000;
/** How long a producer waits for its store before an enqueue fails: a request never hangs on it. */
const PRODUCER_PATIENCE_MS = 2_000;

/**
 * The job queue on BullMQ, with Redis or PostgreSQL underneath. A job's key is its BullMQ job id
 * (BullMQ adds nothing for an id it holds), succeeded jobs are removed so their keys are free
 * again, failed ones are kept; repeats are BullMQ job schedulers named by their key.
 */
export class BullmqJobQueue implements JobQueue {
  private readonly producers = new Map<string, Promise<Producer>>();
  private readonly workers = new Set<BullmqJobWorker>();
  private readonly jobOptions: JobsOptions;
  readonly settings: JobQueueSettings;

  /** Opens the queue; on PostgreSQL it first brings BullMQ's schema up to date (once, here, not on every connection). */
  static async open(options: BullmqJobQueueOptions): Promise<BullmqJobQueue> {
    const { connection } = options;
    if (connection.kind === 'postgres') await migratePostgres(connection.connectionString, connection.schema);
    const store = connection.kind === 'redis' ? new RedisStore(connection.url, connection.prefix) : new PostgresStore(connection.connectionString, connection.schema);
    return new BullmqJobQueue(store, options);
  }

  private constructor(
    private readonly store: Store,
    private readonly options: BullmqJobQueueOptions,
  ) {
    this.settings = { ...DEFAULT_JOB_QUEUE_SETTINGS, ...options.settings };
    this.jobOptions = {
      attempts: this.settings.attempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs },
      removeOnComplete: true,
      removeOnFail: false,
    };
  }

  async enqueue(queue: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    if (options.key !== undefined) assertJobKey(options.key);
    const jobOptions: JobsOptions = { ...this.jobOptions };
    if (options.key !== undefined) jobOptions.jobId = jobIdOf(options.key);
    if (options.runAt) jobOptions.delay = Math.max(0, options.runAt.getTime() - Date.now());
    await (await this.producer(queue)).add(queue, payload, jobOptions);
  }

  async repeat(queue: string, payload: JobPayload, { key, everyMs }: RepeatOptions): Promise<void> {
    assertJobKey(key);
    // startDate puts the first run one interval from now. Declaring an existing schedule again
    // with the same interval keeps its next run and replaces its payload.
    await (await this.producer(queue)).upsertJobScheduler(
      key,
      { every: everyMs, startDate: Date.now() + everyMs },
      { name: queue, data: payload, opts: this.jobOptions },
    );
  }

  async cancel(queue: string, key: string): Promise<void> {
    const producer = await this.producer(queue);
    await producer.remove(jobIdOf(key)); // BullMQ keeps a job a worker holds locked: it finishes
    await producer.removeJobScheduler(key);
  }

  async waiting(queue: string): Promise<number> {
    const producer = await this.producer(queue);
    // A delayed job whose time has come is ready, even before a worker has moved it to waiting.
    const [waiting, due] = await Promise.all([producer.getWaitingCount(), producer.getDelayedCount(Date.now() + 1)]);
    return waiting + due;
  }

  /** A worker with its own connections, as another process would run one. */
  worker(): JobWorker {
    const worker = new BullmqJobWorker(this.store, this.settings, this.options.leaseMs ?? DEFAULT_LEASE_MS, this.reportError, () => this.workers.delete(worker));
    this.workers.add(worker);
    return worker;
  }

  /**
   * Closes every connection. Stop workers first: one still running jobs here leaves them as a
   * crash would, to run again once their lease has run out.
   */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.abandon()));
    const producers = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(producers.map(async (ready) => (await ready.catch(() => null))?.close()));
    await this.store.close();
  }

  /**
   * One producer per queue, made when first used. One whose connection failed to come up is
   * dropped, so that the next call tries again instead of failing forever.
   */
  private async producer(queue: string): Promise<Producer> {
    await this.store.reachable();
    let ready = this.producers.get(queue);
    if (!ready) {
      const producer = this.store.producer(queue);
      ready = producer.waitUntilReady().then(
        () => producer,
        async (error: unknown) => {
          this.producers.delete(queue);
          await producer.close().catch(() => {});
          throw error;
        },
      );
      this.producers.set(queue, ready);
    }
    return ready;
  }

  private readonly reportError = (error: Error): void => this.options.onError?.(error);
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

class BullmqJobWorker implements JobWorker {
  private consumers: Consumer[] = [];
  private readonly running = new Set<Running>();
  /** Set once stop() has given up waiting: a job failing from now on is handed back, not failed. */
  private handingBack = false;
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly settings: JobQueueSettings,
    private readonly leaseMs: number,
    private readonly reportError: (error: Error) => void,
    private readonly onStopped: () => void,
  ) {}

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    const tuning: ConsumerTuning = {
      concurrency: this.settings.concurrency,
      lockDuration: this.leaseMs,
      // A vanished worker's job is taken back within about a lease and a half.
      stalledInterval: Math.max(1, Math.round(this.leaseMs / 2)),
      // Each time a job's worker vanishes counts as a stall; a job that keeps killing its worker
      // fails after as many stalls as it has attempts, not at the second.
      maxStalledCount: this.settings.attempts,
    };
    this.consumers = Object.entries(handlers).map(([queue, handler]) => {
      const consumer: Consumer = this.store.consumer(queue, (job) => this.process(queue, handler, job, consumer), tuning, {
        // What a connection closed by force says on its way out is no news.
        error: (error) => {
          if (!this.handingBack) this.reportError(error);
        },
        failed: (job, error) => {
          // Failed by BullMQ without running it (stalled too often): the handler still hears of it.
          if (job?.deferredFailure) void this.tellFailed(handler, job, error, contextOf(queue, job, new AbortController().signal));
        },
      });
      return consumer;
    });
    try {
      await Promise.all(this.consumers.map((consumer) => consumer.waitUntilReady()));
    } catch (error) {
      await Promise.all(this.consumers.map((consumer) => consumer.close(true).catch(() => {})));
      throw error;
    }
  }

  stop(timeoutMs: number): Promise<void> {
    this.stopped ??= this.shutDown(timeoutMs).finally(this.onStopped);
    return this.stopped;
  }

  /** Ends like a process that died: connections closed, running jobs left to their lease, nothing aborted. */
  abandon(): Promise<void> {
    this.stopped ??= (async () => {
      this.handingBack = true;
      await Promise.all(this.consumers.map((consumer) => consumer.close(true)));
    })().finally(this.onStopped);
    return this.stopped;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.pause(true)));
    if (await this.runningFinishWithin(timeoutMs)) {
      await Promise.all(this.consumers.map((consumer) => consumer.close()));
      return;
    }
    // Closed by force, BullMQ records nothing more for the running jobs: they stay claimed until
    // their lease runs out, and then another worker runs them again, the attempt not counted.
    // Their signals are aborted only now, so that no handler's reaction counts as a failure.
    this.handingBack = true;
    await Promise.all(this.consumers.map((consumer) => consumer.close(true)));
    for (const { abort } of this.running) abort.abort();
  }

  private async runningFinishWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // A paused worker may still start a job it was fetching, hence the loop.
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.running].map((run) => run.done)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  private process(queue: string, handler: JobHandler, job: Job<JobPayload>, consumer: Consumer): Promise<void> {
    const run: Running = { abort: new AbortController(), done: Promise.resolve() };
    const context = contextOf(queue, job, run.abort.signal);
    this.running.add(run);
    run.done = (async () => {
      try {
        if (await this.earlierTickUnfinished(job, consumer)) return;
        await handler.run(structuredClone(job.data), context);
      } catch (error) {
        if (this.handingBack) throw error; // BullMQ, closed, records nothing: the job is handed back
        const failure = error instanceof Error ? error : new Error(String(error));
        const refused = failure instanceof JobRefusedError;
        if (refused || context.attempt >= context.maxAttempts) await this.tellFailed(handler, job, failure, context);
        throw refused ? new UnrecoverableError(failure.message) : failure;
      } finally {
        this.running.delete(run);
      }
    })();
    return run.done;
  }

  /**
   * Whether an earlier tick of this job's schedule is still unfinished: running, or waiting for a
   * retry. Ticks of one schedule never run side by side nor pile up, in every queue of this port;
   * BullMQ makes a schedule's next tick as soon as one starts, so that next tick is skipped (it
   * succeeds without running) while an earlier one is unfinished. Ticks lie on one grid, with ids
   * `repeat:<key>:<due ms>` (BullMQ's documented form); the look-back spans the time a tick can
   * spend in retries and two intervals more for a slow run.
   */
  private async earlierTickUnfinished(job: Job<JobPayload>, consumer: Consumer): Promise<boolean> {
    const every = (job.opts as JobSchedulerJobOptions).repeat?.every; // a tick's options are a scheduler's
    const due = TICK_ID.exec(job.id ?? '')?.[1];
    if (!job.repeatJobKey || !every || due === undefined) return false;
    let retriesMs = 0;
    for (let attempt = 1; attempt < (job.opts.attempts ?? 1); attempt += 1) retriesMs += backoffDelayMs(this.settings.backoffMs, attempt);
    const ticks = Math.min(MAX_TICKS_LOOKED_BACK, Math.ceil(retriesMs / every) + 2);
    const earlier = Array.from({ length: ticks }, (_, back) => `repeat:${job.repeatJobKey}:${Number(due) - (back + 1) * every}`);
    const states = await Promise.all(earlier.map((jobId) => consumer.jobState(jobId)));
    return states.some((state) => UNFINISHED_STATES.has(state));
  }

  private async tellFailed(handler: JobHandler, job: Job<JobPayload>, error: Error, context: JobContext): Promise<void> {
    try {
      await handler.failed?.(structuredClone(job.data), error, context);
    } catch (failure) {
      this.reportError(failure instanceof Error ? failure : new Error(String(failure)));
    }
  }
}

const TICK_ID = /^repeat:[^:]+:(\d+)$/;
const MAX_TICKS_LOOKED_BACK = 12;
const UNFINISHED_STATES = new Set(['waiting', 'prioritized', 'delayed', 'active']);

function contextOf(queue: string, job: Job<JobPayload>, signal: AbortSignal): JobContext {
  // attemptsMade counts failed runs only: a run handed back or lost with its worker is not one.
  return { jobId: job.id ?? '', queue, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1, signal };
}

/**
 * BullMQ refuses job ids that read as integers (its own ids are) and, so, a key like `42`. A
 * prefix on every key keeps them apart from BullMQ's ids and from each other.
 */
const jobIdOf = (key: string): string => `key-${key}`;

/** What the queue uses of a BullMQ Queue, whichever store it runs on. */
interface Producer {
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
interface Consumer {
  waitUntilReady(): Promise<void>;
  pause(doNotWaitActive?: boolean): Promise<void>;
  close(force?: boolean): Promise<void>;
  /** The state of a job of this queue ('unknown' when there is none). */
  jobState(jobId: string): Promise<string>;
}

/** A BullMQ Worker, of either store, as a Consumer. */
function consumerOf(worker: Omit<Consumer, 'jobState'> & Parameters<typeof Job.fromId>[0]): Consumer {
  return {
    waitUntilReady: () => worker.waitUntilReady(),
    pause: (doNotWaitActive) => worker.pause(doNotWaitActive),
    close: (force) => worker.close(force),
    jobState: async (jobId) => (await (await Job.fromId(worker, jobId))?.getState()) ?? 'unknown',
  };
}

interface ConsumerTuning {
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}

interface ConsumerEvents {
  error(error: Error): void;
  failed(job: Job<JobPayload> | undefined, error: Error): void;
}

type Process = (job: Job<JobPayload>) => Promise<void>;

/** The store underneath: how producers and workers connect to it. */
interface Store {
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
    return consumerOf(worker);
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

/** PostgreSQL through BullMQ's backend for it: each producer and worker has a pool of its own in the one schema. */
class PostgresStore implements Store {
  constructor(
    private readonly connectionString: string,
    private readonly schema: string,
  ) {}

  producer(queue: string): Producer {
    const producer = new PostgresBullmq.Queue<JobPayload, void, string>(queue, {
      connection: {
        connectionString: this.connectionString,
        schema: this.schema,
        connectionTimeoutMillis: PRODUCER_PATIENCE_MS,
        query_timeout: PRODUCER_PATIENCE_MS, // a network gone silent
      },
    });
    producer.on('error', () => {}); // reported by the calls that fail
    return producer;
  }

  consumer(queue: string, process: Process, tuning: ConsumerTuning, events: ConsumerEvents): Consumer {
    const worker = new PostgresBullmq.Worker<JobPayload, void, string>(queue, process, {
      ...tuning,
      connection: { connectionString: this.connectionString, schema: this.schema },
    });
    worker.on('error', events.error);
    worker.on('failed', events.failed);
    return consumerOf(worker);
  }

  async reachable(): Promise<void> {} // a pool gives up on its own after its connection timeout

  async close(): Promise<void> {}
}

/** BullMQ's own migrations, on one dedicated session as runMigrations requires. */
async function migratePostgres(connectionString: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await runMigrations(client, schema);
  } finally {
    await client.end();
  }
}
