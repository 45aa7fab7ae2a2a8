import { randomUUID } from 'node:crypto';
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
import { assertJobKey, backoffDelayMs, type JobQueueSettings, DEFAULT_JOB_QUEUE_SETTINGS } from './job-settings.js';

type JobState = 'waiting' | 'active' | 'failed';

interface StoredJob {
  id: string;
  queue: string;
  key: string | null;
  /** The key of the schedule whose tick this job is. */
  scheduleKey: string | null;
  payload: JobPayload;
  runAt: number;
  attempts: number;
  state: JobState;
  /** When it failed for good; null until then. */
  failedAt: number | null;
}

interface Schedule {
  queue: string;
  key: string;
  payload: JobPayload;
  everyMs: number;
  nextAt: number;
}

/**
 * The job queue of one process with nothing to share it with: tests of use cases and the
 * in-memory mode. It keeps the contract every other queue keeps except durability: a job
 * survives nothing but the process.
 */
export class InMemoryJobQueue implements JobQueue {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly schedules = new Map<string, Schedule>();
  private readonly wakers = new Set<() => void>();
  readonly settings: JobQueueSettings;

  constructor(settings: Partial<JobQueueSettings> = {}) {
    this.settings = { ...DEFAULT_JOB_QUEUE_SETTINGS, ...settings };
  }

  async enqueue(queue: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    if (options.key !== undefined) {
      assertJobKey(options.key);
      if (this.byKey(queue, options.key)) return;
    }
    this.add(queue, payload, options.key ?? null, options.runAt?.getTime() ?? Date.now());
  }

  async repeat(queue: string, payload: JobPayload, { key, everyMs }: RepeatOptions): Promise<void> {
    assertJobKey(key);
    this.schedules.set(`${queue}\u0000${key}`, { queue, key, payload, everyMs, nextAt: Date.now() + everyMs });
    this.wake();
  }

  async cancel(queue: string, key: string): Promise<void> {
    const job = this.byKey(queue, key);
    if (job && job.state !== 'active') this.jobs.delete(job.id);
    for (const tick of this.jobs.values()) if (tick.queue === queue && tick.scheduleKey === key && tick.state === 'waiting') this.jobs.delete(tick.id);
    this.schedules.delete(`${queue}\u0000${key}`);
  }

  async waiting(queue: string): Promise<number> {
    const now = Date.now();
    let count = 0;
    for (const job of this.jobs.values()) if (job.queue === queue && job.state === 'waiting' && job.runAt <= now) count += 1;
    return count;
  }

  /** A worker taking this queue's jobs; several may run side by side, as several processes would. */
  worker(): JobWorker {
    return new InMemoryJobWorker(this);
  }

  /** Jobs kept as failed, for tests to look at. */
  failedJobs(queue: string): JobPayload[] {
    return [...this.jobs.values()].filter((job) => job.queue === queue && job.state === 'failed').map((job) => job.payload);
  }

  /** @internal The next due job of these queues, claimed; null when none is due. */
  claim(queues: ReadonlySet<string>): StoredJob | null {
    const now = Date.now();
    for (const schedule of this.schedules.values()) {
      if (!queues.has(schedule.queue) || schedule.nextAt > now) continue;
      schedule.nextAt = now + schedule.everyMs;
      // Ticks never pile up behind a slow run or a stopped worker.
      if (!this.hasUnfinishedTick(schedule)) this.add(schedule.queue, schedule.payload, null, now, schedule.key);
    }
    let due: StoredJob | null = null;
    for (const job of this.jobs.values()) {
      if (job.state === 'waiting' && queues.has(job.queue) && job.runAt <= now && (!due || job.runAt < due.runAt)) due = job;
    }
    if (due) {
      due.state = 'active';
      due.attempts += 1;
    }
    return due;
  }

  /** @internal When the next job of these queues falls due (Infinity: none known). */
  nextDueAt(queues: ReadonlySet<string>): number {
    let next = Infinity;
    for (const job of this.jobs.values()) if (job.state === 'waiting' && queues.has(job.queue)) next = Math.min(next, job.runAt);
    for (const schedule of this.schedules.values()) if (queues.has(schedule.queue)) next = Math.min(next, schedule.nextAt);
    return next;
  }

  /** @internal */
  succeeded(job: StoredJob): void {
    this.jobs.delete(job.id);
  }

  /** @internal Back to waiting after a backoff; false once the attempts are used up (then it is kept as failed). */
  retry(job: StoredJob, refused: boolean): boolean {
    if (refused || job.attempts >= this.settings.attempts) {
      job.state = 'failed';
      job.failedAt = Date.now();
      this.forgetFailedBefore(job);
      return false;
    }
    job.state = 'waiting';
    job.runAt = Date.now() + backoffDelayMs(this.settings.backoffMs, job.attempts);
    this.wake();
    return true;
  }

  /** @internal A job a stopping worker gives up: it runs again, this attempt not counted. */
  handBack(job: StoredJob): void {
    job.state = 'waiting';
    job.attempts -= 1;
    this.wake();
  }

  /** @internal */
  onChange(waker: () => void): () => void {
    this.wakers.add(waker);
    return () => this.wakers.delete(waker);
  }

  private add(queue: string, payload: JobPayload, key: string | null, runAt: number, scheduleKey: string | null = null): void {
    const id = randomUUID();
    this.jobs.set(id, { id, queue, key, scheduleKey, payload: structuredClone(payload), runAt, attempts: 0, state: 'waiting', failedAt: null });
    this.wake();
  }

  /**
   * The step every queue takes when a job fails for good: the failures of its queue that are past
   * the retention, or beyond the most kept, are forgotten; the one that just failed is the newest.
   */
  private forgetFailedBefore(latest: StoredJob): void {
    const keptSince = latest.failedAt! - this.settings.failedRetentionMs;
    const earlier = [...this.jobs.values()]
      .filter((job) => job.queue === latest.queue && job.state === 'failed' && job !== latest)
      .sort((a, b) => b.failedAt! - a.failedAt!);
    earlier.forEach((job, newer) => {
      if (job.failedAt! <= keptSince || newer + 1 >= this.settings.failedMaxKept) this.jobs.delete(job.id);
    });
  }

  private hasUnfinishedTick(schedule: Schedule): boolean {
    for (const job of this.jobs.values()) if (job.queue === schedule.queue && job.scheduleKey === schedule.key && job.state !== 'failed') return true;
    return false;
  }

  private byKey(queue: string, key: string): StoredJob | undefined {
    for (const job of this.jobs.values()) if (job.queue === queue && job.key === key) return job;
    return undefined;
  }

  private wake(): void {
    for (const waker of this.wakers) waker();
  }
}

interface Running {
  job: StoredJob;
  abort: AbortController;
  done: Promise<void>;
}

class InMemoryJobWorker implements JobWorker {
  private handlers: Readonly<Record<string, JobHandler>> = {};
  private queues = new Set<string>();
  private readonly running = new Set<Running>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopping = false;

  constructor(private readonly store: InMemoryJobQueue) {}

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    this.handlers = handlers;
    this.queues = new Set(Object.keys(handlers));
    this.unsubscribe = this.store.onChange(() => this.schedule(0));
    this.schedule(0);
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    const all = Promise.all([...this.running].map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    if ((await Promise.race([all, timedOut])) === 'timeout') {
      for (const { job, abort } of this.running) {
        abort.abort();
        this.store.handBack(job);
      }
      this.running.clear();
    }
    clearTimeout(timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.drain(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1))).unref();
  }

  private drain(): void {
    this.timer = null;
    while (!this.stopping && this.running.size < this.store.settings.concurrency) {
      const job = this.store.claim(this.queues);
      if (!job) break;
      this.runOne(job);
    }
    const next = this.store.nextDueAt(this.queues);
    if (next !== Infinity) this.schedule(next - Date.now());
  }

  private runOne(job: StoredJob): void {
    const handler = this.handlers[job.queue]!;
    const entry: Running = { job, abort: new AbortController(), done: Promise.resolve() };
    const context: JobContext = { jobId: job.id, queue: job.queue, attempt: job.attempts, maxAttempts: this.store.settings.attempts, signal: entry.abort.signal };
    this.running.add(entry);
    entry.done = (async () => {
      try {
        await handler.run(structuredClone(job.payload), context);
        if (this.running.has(entry)) this.store.succeeded(job);
      } catch (error) {
        if (!this.running.has(entry)) return; // handed back by stop()
        const failure = error instanceof Error ? error : new Error(String(error));
        if (!this.store.retry(job, failure instanceof JobRefusedError)) await handler.failed?.(structuredClone(job.payload), failure, context).catch(() => {});
      } finally {
        this.running.delete(entry);
        this.schedule(0);
      }
    })();
  }
}
