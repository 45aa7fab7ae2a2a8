import { JOB_KEY_PATTERN } from '../../application/index.js';

/** How every job queue adapter retries and how many jobs one worker runs at once. */
export interface JobQueueSettings {
  /** Runs of a job before it is kept as failed (JOB_ATTEMPTS). */
  attempts: number;
  /** The first retry's delay; each further one waits twice as long. */
  backoffMs: number;
  /** Jobs one worker runs at the same time. */
  concurrency: number;
  /**
   * How long a job that failed for good is kept (JOB_FAILED_RETENTION). It is forgotten, and its
   * key freed, when a later job of its queue fails for good past that time: the step BullMQ
   * takes, which every adapter takes alike. BullMQ counts whole seconds, rounding up.
   */
  failedRetentionMs: number;
  /**
   * The most failed jobs a queue keeps, the newest: the retention bounds their age, not their
   * number, and a queue whose every job fails (a service down for days) would otherwise keep
   * all of them. Forgotten in the same step.
   */
  failedMaxKept: number;
}

export const DEFAULT_JOB_QUEUE_SETTINGS: JobQueueSettings = {
  attempts: 5,
  backoffMs: 1_000,
  concurrency: 4,
  failedRetentionMs: 7 * 24 * 3_600_000,
  failedMaxKept: 10_000,
};

/** The delay before the run after attempt `attempt` (1-based) failed: exponential backoff. */
export function backoffDelayMs(baseMs: number, attempt: number): number {
  return baseMs * 2 ** (attempt - 1);
}

/** A key outside JOB_KEY_PATTERN is a bug of the caller, never user input: it throws. */
export function assertJobKey(key: string): void {
  if (!JOB_KEY_PATTERN.test(key)) throw new TypeError(`job key ${JSON.stringify(key)} does not match ${JOB_KEY_PATTERN}`);
}
