import type { Knex } from 'knex';
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
import { EmbeddedJobStore, type ClaimedJob } from './embedded-job-store.js';
import { assertJobKey, backoffDelayMs, DEFAULT_JOB_QUEUE_SETTINGS, type JobQueueSettings } from './job-settings.js';

/** Where a queue reports what it cannot hand to anyone: a poll that failed, a failed() that threw. */
export interface EmbeddedJobQueueLog {
  warn(message: string): void;
}

export interface EmbeddedJobQueueOptions extends Partial<JobQueueSettings> {
  /**
   * How long a claimed job stays its worker's without a heartbeat: a job whose process died
   * runs again this long after its last renewal. Renewed every third of it while the job runs.
   */
  leaseMs?: number;
  /** How often an idle worker looks for due jobs and schedules (jobs enqueued in this process wake it at once). */
  pollMs?: number;
  log?: EmbeddedJobQueueLog;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_POLL_MS = 200;

/**
 * The job queue of a service on SQLite without Redis: jobs in the service's own database, run
 * by workers in its processes. Several processes may share one file: each claim is one
 * statement, so a job is claimed by one worker at a time; a claim is a lease its worker renews
 * while the job runs, and a job whose lease ran out (its process died) is claimed again.
 *
 * Every statement is short and writes only when there is something to write, so the queue never
 * holds up the service's own writes on the one connection (or one file lock) they share.
 */
export class EmbeddedJobQueue implements JobQueue {
  readonly settings: JobQueueSettings;
  readonly leaseMs: number;
  readonly pollMs: number;
  private readonly store: EmbeddedJobStore;
  private readonly log: EmbeddedJobQueueLog;
  private readonly workers = new Set<EmbeddedJobWorker>();
  private closed = false;

  constructor(db: Knex, options: EmbeddedJobQueueOptions = {}) {
    const { leaseMs = DEFAULT_LEASE_MS, pollMs = DEFAULT_POLL_MS, log = { warn: () => {} }, ...settings } = options;
    this.settings = { ...DEFAULT_JOB_QUEUE_SETTINGS, ...settings };
    this.leaseMs = leaseMs;
    this.pollMs = pollMs;
    this.log = log;
    this.store = new EmbeddedJobStore(db, this.settings);
  }

  async enqueue(queue: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    this.assertOpen();
    if (options.key !== undefined) assertJobKey(options.key);
    await this.store.add(queue, payload, options.key ?? null, options.runAt?.getTime() ?? Date.now());
    for (const worker of this.workers) worker.wake();
  }

  async repeat(queue: string, payload: JobPayload, { key, everyMs }: RepeatOptions): Promise<void> {
    this.assertOpen();
    assertJobKey(key);
    if (!Number.isSafeInteger(everyMs) || everyMs < 1) throw new TypeError(`a schedule's everyMs must be a positive whole number, not ${everyMs}`);
    await this.store.declareSchedule(queue, key, payload, everyMs, Date.now());
  }

  async cancel(queue: string, key: string): Promise<void> {
    this.assertOpen();
    await this.store.cancel(queue, key);
  }

  async waiting(queue: string): Promise<number> {
    this.assertOpen();
    return this.store.countReady(queue, Date.now());
  }

  /** A worker running this process's share of the jobs; workers of other processes on the file run theirs. */
  worker(): JobWorker {
    this.assertOpen();
    const worker = new EmbeddedJobWorker(this.store, this, this.log, () => this.workers.delete(worker));
    this.workers.add(worker);
    return worker;
  }

  /**
   * Stops every worker's timers so the process can exit; the database belongs to the caller and
   * stays open. Stop workers first: a worker still running jobs here leaves them as a crash would,
   * to run again once their lease has run out.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const worker of this.workers) worker.abandon();
    this.workers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the job queue is closed');
  }
}

interface Running {
  job: ClaimedJob;
  abort: AbortController;
  /** Whether this worker still holds the job: not once handed back, taken by another worker, or abandoned. */
  held: boolean;
  done: Promise<void>;
}

type WorkerState = 'new' | 'started' | 'stopped';

class EmbeddedJobWorker implements JobWorker {
  private handlers: Readonly<Record<string, JobHandler>> = {};
  private queues: string[] = [];
  private readonly running = new Set<Running>();
  private state: WorkerState = 'new';
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private abandoned = false;
  /** When this worker last turned due schedule ticks into jobs. */
  private schedulesCheckedAt = Number.NEGATIVE_INFINITY;
  /** Whether the last claim found a job: then the next one likely finds another, and goes without the read first. */
  private lastClaimFoundWork = false;

  constructor(
    private readonly store: EmbeddedJobStore,
    private readonly config: Pick<EmbeddedJobQueue, 'settings' | 'leaseMs' | 'pollMs'>,
    private readonly log: EmbeddedJobQueueLog,
    private readonly forget: () => void,
  ) {}

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    if (this.state !== 'new') throw new Error('a job worker starts once');
    this.handlers = handlers;
    this.queues = Object.keys(handlers);
    this.state = 'started';
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(1, Math.floor(this.config.leaseMs / 3))).unref();
    this.wake();
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.state !== 'started') return;
    this.state = 'stopped';
    this.forget();
    this.clearPoll();
    await this.draining;
    const settled = Promise.all([...this.running].map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    if ((await Promise.race([settled, timedOut])) === 'timeout') await this.handBackRunning();
    clearTimeout(timer);
    this.clearHeartbeat();
  }

  /** @internal Looks for work now: a job was enqueued in this process, or one of ours finished. */
  wake(): void {
    if (this.state !== 'started') return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.clearPoll();
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.state === 'started') this.pollTimer = setTimeout(() => this.wake(), this.config.pollMs).unref();
    });
  }

  /** @internal The queue closed under a running worker: stop like a process that died, touching nothing. */
  abandon(): void {
    this.state = 'stopped';
    this.abandoned = true;
    this.clearPoll();
    this.clearHeartbeat();
    for (const entry of this.running) entry.held = false;
    this.running.clear();
  }

  private async drain(): Promise<void> {
    do {
      this.drainAgain = false;
      try {
        const now = Date.now();
        // Every finished job wakes the worker: schedules, which tick in seconds or more, are
        // looked at once per poll interval rather than between every two jobs of a busy queue.
        if (now - this.schedulesCheckedAt >= this.config.pollMs) {
          this.schedulesCheckedAt = now;
          await this.store.fireDueSchedules(this.queues, now);
        }
        if (this.running.size >= this.config.settings.concurrency) continue;
        // A read first when the queue may be empty, so that an idle poll never takes the file's
        // write lock; while claims keep finding jobs, straight to the next claim.
        if (!this.lastClaimFoundWork && !(await this.store.anyClaimable(this.queues, now))) continue;
        while (this.state === 'started' && this.running.size < this.config.settings.concurrency) {
          const job = await this.store.claim(this.queues, Date.now(), this.config.leaseMs);
          this.lastClaimFoundWork = job !== null;
          if (!job) break;
          if (this.state !== 'started') {
            // stop() came while this claim was on its way: the job goes back at once, unless the
            // queue was closed under us (then it runs again after its lease, as after a crash).
            if (!this.abandoned) await this.store.handBack([job.leaseToken]);
            break;
          }
          this.run(job);
        }
      } catch (error) {
        this.log.warn(`job queue: looking for due jobs failed: ${messageOf(error)}`);
      }
    } while (this.drainAgain && this.state === 'started');
  }

  private run(job: ClaimedJob): void {
    const { attempts: maxAttempts } = this.config.settings;
    const handler = this.handlers[job.queue]!;
    const entry: Running = { job, abort: new AbortController(), held: true, done: Promise.resolve() };
    // A claim past the last attempt took over a job whose worker died on that attempt: it has no
    // run left and fails now.
    const exhausted = job.attempts > maxAttempts;
    const context: JobContext = { jobId: job.id, queue: job.queue, attempt: Math.min(job.attempts, maxAttempts), maxAttempts, signal: entry.abort.signal };
    this.running.add(entry);
    entry.done = (async () => {
      const failure = exhausted
        ? new Error(`its worker stopped responding on the last of ${maxAttempts} attempts`)
        : await attempt(handler, job.payload, context);
      try {
        if (entry.held) await this.record(job, handler, context, failure);
      } catch (error) {
        this.log.warn(`job ${job.queue}/${job.id}: recording its outcome failed (it runs again after its lease): ${messageOf(error)}`);
      } finally {
        this.running.delete(entry);
        this.wake();
      }
    })();
  }

  /**
   * Success deletes the job (freeing its key); a failure retries it or, at the end, keeps it as
   * failed (forgetting its queue's failures past their retention) and tells its handler.
   */
  private async record(job: ClaimedJob, handler: JobHandler, context: JobContext, failure: Error | null): Promise<void> {
    if (!failure) return this.store.complete(job.leaseToken);
    const { attempts, backoffMs } = this.config.settings;
    const outcome = await this.store.fail(job, failure.message, {
      attempt: context.attempt,
      final: failure instanceof JobRefusedError || context.attempt >= attempts,
      retryAt: Date.now() + backoffDelayMs(backoffMs, context.attempt),
    });
    if (outcome !== 'failed') return;
    await handler.failed?.(safeParsePayload(job.payload), failure, context).catch((error: unknown) => {
      this.log.warn(`job ${job.queue}/${job.id}: its failed() threw: ${messageOf(error)}`);
    });
  }

  /** Keeps this worker's jobs claimed; a job whose lease another worker took meanwhile is told to stop. */
  private async renewLeases(): Promise<void> {
    const held = [...this.running].filter((entry) => entry.held);
    if (held.length === 0) return;
    try {
      const renewed = await this.store.renew(held.map((entry) => entry.job.leaseToken), Date.now() + this.config.leaseMs);
      for (const entry of held) {
        if (renewed.has(entry.job.leaseToken) || !entry.held) continue;
        entry.held = false;
        entry.abort.abort();
        this.log.warn(`job ${entry.job.queue}/${entry.job.id}: its lease ran out and another worker took it; this run is abandoned`);
      }
    } catch (error) {
      this.log.warn(`job queue: renewing leases failed: ${messageOf(error)}`);
    }
  }

  private async handBackRunning(): Promise<void> {
    const held = [...this.running].filter((entry) => entry.held);
    for (const entry of held) {
      entry.held = false;
      entry.abort.abort();
    }
    this.running.clear();
    try {
      await this.store.handBack(held.map((entry) => entry.job.leaseToken));
    } catch (error) {
      this.log.warn(`job queue: handing back running jobs failed (they run again after their lease): ${messageOf(error)}`);
    }
  }

  private clearPoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private clearHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** Runs the job once; the error it failed with, or null. */
async function attempt(handler: JobHandler, payload: string, context: JobContext): Promise<Error | null> {
  try {
    await handler.run(parsePayload(payload), context);
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** A payload that is not the JSON it was stored as can never run: refused, like one that fails validation. */
function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new JobRefusedError('the stored payload is not valid JSON');
  }
}

function safeParsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
