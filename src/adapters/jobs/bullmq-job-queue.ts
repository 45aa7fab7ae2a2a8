import { UnrecoverableError, type Job, type JobSchedulerJobOptions, type JobsOptions } from 'bullmq';
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
import { openStore, type BullmqConnection, type Consumer, type ConsumerTuning, type Producer, type Store } from './bullmq-stores.js';
import { assertJobKey, backoffDelayMs, DEFAULT_JOB_QUEUE_SETTINGS, type JobQueueSettings } from './job-settings.js';

export type { BullmqConnection } from './bullmq-stores.js';

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

/**
 * The job queue on BullMQ, with Redis or PostgreSQL underneath. A job's key is its BullMQ job id
 * (BullMQ adds nothing for an id it holds), succeeded jobs are removed so their keys are free
 * again, failed ones are kept for the retention; repeats are BullMQ job schedulers named by their key.
 */
export class BullmqJobQueue implements JobQueue {
  private readonly producers = new Map<string, Promise<Producer>>();
  private readonly workers = new Set<BullmqJobWorker>();
  private closed = false;
  private readonly jobOptions: JobsOptions;
  readonly settings: JobQueueSettings;

  /** Opens the queue; on PostgreSQL it first brings BullMQ's schema up to date (once, here, not on every connection). */
  static async open(options: BullmqJobQueueOptions): Promise<BullmqJobQueue> {
    return new BullmqJobQueue(await openStore(options.connection), options);
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
      // BullMQ applies this when a job fails for good, to the failed jobs of its queue: no timer,
      // so failures are forgotten at the next failure past the retention, as on every adapter.
      // The count bounds a queue whose every job fails: the age alone would keep them all.
      removeOnFail: { age: Math.ceil(this.settings.failedRetentionMs / 1_000), count: this.settings.failedMaxKept },
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
    this.closed = true;
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
    if (this.closed) throw new Error('the job queue is closed');
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
  /** Settles once stop() or abandon() is called: a start still waiting for the store gives up then. */
  private readonly stopCalled: Promise<void>;
  private callStop!: () => void;

  constructor(
    private readonly store: Store,
    private readonly settings: JobQueueSettings,
    private readonly leaseMs: number,
    private readonly reportError: (error: Error) => void,
    private readonly onStopped: () => void,
  ) {
    this.stopCalled = new Promise<void>((resolve) => (this.callStop = resolve));
  }

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    await this.unlessStopped(this.store.reachable());
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
      // A worker connection waits for the store as long as it is away.
      await this.unlessStopped(Promise.all(this.consumers.map((consumer) => consumer.waitUntilReady())));
    } catch (error) {
      await Promise.all(this.consumers.map((consumer) => consumer.close(true).catch(() => {})));
      throw error;
    }
  }

  /** May come while start() is still waiting for the store: that start then fails at once, and nothing runs. */
  stop(timeoutMs: number): Promise<void> {
    this.callStop();
    this.stopped ??= this.shutDown(timeoutMs).finally(this.onStopped);
    return this.stopped;
  }

  /** Ends like a process that died: connections closed, running jobs left to their lease, nothing aborted. */
  abandon(): Promise<void> {
    this.callStop();
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

  private unlessStopped<T>(work: Promise<T>): Promise<T> {
    const stopped = this.stopCalled.then((): never => {
      throw new Error('the job worker was stopped before it had started');
    });
    return Promise.race([work, stopped]);
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
