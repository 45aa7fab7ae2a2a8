import type { JobQueue } from '../ports/index.js';
import { JOB_QUEUES } from '../jobs/queues.js';

/**
 * One job at a time removes due garbage soon after a delete, so bytes go in seconds rather than at
 * the next hourly purge: while it waits, further deletes add nothing to the queue.
 */
export const BLOB_GARBAGE_JOB_KEY = 'blob-garbage-soon';

export const enqueueBlobGarbagePurge = (jobs: JobQueue): Promise<void> =>
  jobs.enqueue(JOB_QUEUES.housekeeping, { chore: 'blob-garbage' }, { key: BLOB_GARBAGE_JOB_KEY });
