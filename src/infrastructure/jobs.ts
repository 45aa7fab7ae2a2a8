import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import {
  CLOCK,
  ExpireExports,
  FireDueReminders,
  FireReminder,
  Housekeeping,
  JOB_QUEUES,
  PurgeEndedSessions,
  PurgeExpiredEvents,
  PurgeExpiredIdempotencyKeys,
  PurgeExpiredPersonalAccessTokens,
  RunExport,
  type Clock,
  type HousekeepingPayload,
  type JobQueue,
  type PurgeChore,
  type PurgeCounts,
} from '../application/index.js';
import type { JobHandlers, JobInstrumentation } from './job-instrumentation.js';
import type { OpenedJobQueue } from './job-queue.js';

interface HousekeepingSchedule {
  key: string;
  everyMs: number;
  payload: HousekeepingPayload;
}

/** When housekeeping runs. Declared at every start: a schedule declared again is replaced, never doubled. */
export const HOUSEKEEPING_SCHEDULES: readonly HousekeepingSchedule[] = [
  { key: 'housekeeping-purge', everyMs: 60 * 60 * 1000, payload: { chore: 'purge' } },
  { key: 'housekeeping-due-reminders', everyMs: 60 * 1000, payload: { chore: 'due-reminders' } },
];

/** Every purge of `purge`, in the order they run. */
export function purgeChores(c: DependencyContainer): PurgeChore[] {
  const counting = (name: string, purge: () => Promise<number>): PurgeChore => ({ name, run: async () => ({ [name]: await purge() }) });
  return [
    counting('idempotency_keys', () => c.resolve(PurgeExpiredIdempotencyKeys).execute()),
    counting('sessions', () => c.resolve(PurgeEndedSessions).execute()),
    counting('personal_access_tokens', () => c.resolve(PurgeExpiredPersonalAccessTokens).execute()),
    counting('exports', () => c.resolve(ExpireExports).run(c.resolve<Clock>(CLOCK).now())),
    {
      name: 'events',
      run: async () => {
        const { events, tickets } = await c.resolve(PurgeExpiredEvents).execute();
        return { events, tickets };
      },
    },
  ];
}

/** What `due-reminders` runs: the sweep that fires reminders whose job was lost. */
export function dueRemindersStep(c: DependencyContainer): () => Promise<unknown> {
  return () => c.resolve(FireDueReminders).execute();
}

/** The handler of each queue this build runs jobs of. */
export function jobHandlers(c: DependencyContainer, logger: Logger): JobHandlers {
  const log = logger.child({ component: 'housekeeping' });
  const onPurged = (chore: string, counts: PurgeCounts) => {
    if (Object.values(counts).some((count) => count > 0)) log.info({ chore, ...counts }, 'purged what was past keeping');
  };
  return {
    [JOB_QUEUES.exports]: c.resolve(RunExport),
    [JOB_QUEUES.reminders]: c.resolve(FireReminder),
    [JOB_QUEUES.housekeeping]: new Housekeeping({ purges: purgeChores(c), dueReminders: dueRemindersStep(c), onPurged }),
  };
}

/** Declares housekeeping's schedules, and runs each chore once now rather than a whole interval after a restart. */
export async function scheduleHousekeeping(queue: JobQueue): Promise<void> {
  for (const { key, everyMs, payload } of HOUSEKEEPING_SCHEDULES) {
    await queue.repeat(JOB_QUEUES.housekeeping, payload, { key, everyMs });
    await queue.enqueue(JOB_QUEUES.housekeeping, payload);
  }
}

export interface RunningJobs {
  /**
   * Takes no new job from now on; running ones get `timeoutMs` to finish, then are handed back
   * to the queue. Calling it again waits for the same stop.
   */
  stop(timeoutMs: number): Promise<void>;
}

/** Runs the jobs of every queue with a handler in this process, until stopped. */
export async function startJobs({
  container,
  jobQueue,
  instrumentation,
  logger,
}: {
  container: DependencyContainer;
  jobQueue: OpenedJobQueue;
  instrumentation: JobInstrumentation;
  logger: Logger;
}): Promise<RunningJobs> {
  const handlers = instrumentation.instrument(jobHandlers(container, logger));
  await scheduleHousekeeping(jobQueue.queue);
  const worker = jobQueue.worker();
  await worker.start(handlers);
  logger.info({ jobQueue: jobQueue.kind, queues: Object.keys(handlers) }, 'running jobs');
  let stopping: Promise<void> | null = null;
  return {
    stop: (timeoutMs) => (stopping ??= worker.stop(timeoutMs)),
  };
}
