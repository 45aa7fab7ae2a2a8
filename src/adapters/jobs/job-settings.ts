import { JOB_KEY_PATTERN } from '../../application/index.js';

/** How every job queue adapter retries and how many jobs one worker runs at once. */
export interface JobQueueSettings {
  /** Runs of a job before it is kept as failed (JOB_ATTEMPTS). */
  attempts: number;
  /** The first retry's delay; each further one waits twice as long. */
  backoffMs: number;
  /** Jobs one worker runs at the same time. */
  concurrency: number;
}

export const DEFAULT_JOB_QUEUE_SETTINGS: JobQueueSettings = { attempts: 5, backoffMs: 1_000, concurrency: 4 };

/** The delay before the run after attempt `attempt` (1-based) failed: exponential backoff. */
export function backoffDelayMs(baseMs: number, attempt: number): number {
  return baseMs * 2 ** (attempt - 1);
}

/** A key outside JOB_KEY_PATTERN is a bug of the caller, never user input: it throws. */
export function assertJobKey(key: string): void {
  if (!JOB_KEY_PATTERN.test(key)) throw new TypeError(`job key ${JSON.stringify(key)} does not match ${JOB_KEY_PATTERN}`);
}
