import { ReminderScheduler } from '../../src/application/index.js';
import { InMemoryJobQueue } from '../../src/adapters/jobs/in-memory-job-queue.js';

/**
 * A reminder scheduler for task writes in tests, on `queue` (by default one that nothing runs).
 * A failure to schedule is thrown, so that no test passes over one unseen.
 */
export const aReminderScheduler = (queue = new InMemoryJobQueue()): ReminderScheduler =>
  new ReminderScheduler(queue, (error) => {
    throw error;
  });
