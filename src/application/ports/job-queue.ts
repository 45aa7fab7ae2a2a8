/** What a job carries: plain JSON, so every queue can store it and a handler can check it. */
export type JobPayload = { readonly [field: string]: JobPayloadValue };
export type JobPayloadValue = string | number | boolean | null | readonly JobPayloadValue[] | JobPayload;

/** Characters a job key may use: the intersection of what every queue's job ids accept. */
export const JOB_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

export interface JobOptions {
  /**
   * Names the job within its queue. While a job with this key waits, is delayed, runs or is kept
   * as failed, enqueueing another with it adds nothing; once it has succeeded, been cancelled or
   * its failure been forgotten, the key is free again. So a caller that enqueues a key again
   * after its job failed for good (the purge enqueues again an export still queued) is a no-op
   * for the failed-job retention, and runs the job afresh after it. Must match JOB_KEY_PATTERN.
   */
  key?: string;
  /** Not before this time; a time in the past runs at once. */
  runAt?: Date;
}

export interface RepeatOptions {
  /** Names the schedule: declaring it again replaces it (a new interval, a new payload), never adds a second. */
  key: string;
  everyMs: number;
}

/**
 * Where use cases hand work to run outside the request. Every adapter keeps an accepted job
 * across crashes and restarts, retries a failed one with backoff up to its attempts and then
 * keeps it as failed, and never runs one job on two workers at once. Queues are named by the
 * kind of work (`exports`, `reminders`, `housekeeping`).
 *
 * A job kept as failed is kept for a retention (the adapter's setting), and forgotten when a
 * later job of its queue fails for good past it: forgetting is a step of failing, never a timer,
 * so a queue where nothing fails any more keeps its last failures. A queue also keeps no more
 * than a bounded number of failed jobs, the newest.
 */
export interface JobQueue {
  enqueue(queue: string, payload: JobPayload, options?: JobOptions): Promise<void>;
  /** Runs the payload every `everyMs` from now on; the schedule is stored, so it survives restarts. */
  repeat(queue: string, payload: JobPayload, options: RepeatOptions): Promise<void>;
  /** Removes the job with this key if it has not started, and the schedule with this key; a running job finishes. */
  cancel(queue: string, key: string): Promise<void>;
  /** Jobs ready to run and not yet started (delayed ones not counted). */
  waiting(queue: string): Promise<number>;
}

export const JOB_QUEUE = Symbol('JobQueue');

export interface JobContext {
  /** The queue's id of this job: for logs, never shown to users. */
  jobId: string;
  queue: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the worker stops and the job must hand itself back soon. */
  signal: AbortSignal;
}

/** What a queue runs for each of its jobs. */
export interface JobHandler {
  /**
   * Does the job. Rejecting retries it with backoff until its attempts are used up; rejecting
   * with a JobRefusedError fails it at once. Handlers must be idempotent: a job whose worker died
   * mid-run runs again.
   */
  run(payload: unknown, context: JobContext): Promise<void>;
  /** Once a job has failed for good (last attempt, or refused): to record the failure where users see it. */
  failed?(payload: unknown, error: Error, context: JobContext): Promise<void>;
}

/** A job that can never succeed (a payload that fails validation): failed at once, not retried. */
export class JobRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRefusedError';
  }
}

/** Runs the jobs of the queues it was given handlers for, in this process. */
export interface JobWorker {
  start(handlers: Readonly<Record<string, JobHandler>>): Promise<void>;
  /**
   * Takes no new jobs, lets running ones finish for up to `timeoutMs`, then aborts their signals
   * and hands them back to the queue (another worker runs them again); resolves when done.
   */
  stop(timeoutMs: number): Promise<void>;
}
