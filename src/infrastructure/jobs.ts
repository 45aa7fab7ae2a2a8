import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import {
  CLOCK,
  ExpireExports,
  FireDueReminders,
  FireReminder,
  Housekeeping,
  JOB_QUEUES,
  PurgeBlobGarbage,
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

const counting = (name: string, purge: () => Promise<number>): PurgeChore => ({ name, run: async () => ({ [name]: await purge() }) });

/** The bytes of deleted attachments and of uploads that never finished: in `purge`, and alone after a delete. */
export const blobGarbageChore = (c: DependencyContainer): PurgeChore => counting('blob_garbage', () => c.resolve(PurgeBlobGarbage).execute());

/** Every purge of `purge`, in the order they run. */
export function purgeChores(c: DependencyContainer): PurgeChore[] {
  return [
    counting('idempotency_keys', () => c.resolve(PurgeExpiredIdempotencyKeys).execute()),
    counting('sessions', () => c.resolve(PurgeEndedSessions).execute()),
    counting('personal_access_tokens', () => c.resolve(PurgeExpiredPersonalAccessTokens).execute()),
    counting('exports', () => c.resolve(ExpireExports).run(c.resolve<Clock>(CLOCK).now())),
    blobGarbageChore(c),
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
    [JOB_QUEUES.housekeeping]: new Housekeeping({ purges: purgeChores(c), dueReminders: dueRemindersStep(c), blobGarbage: blobGarbageChore(c), onPurged }),
  };
}

/**
 * Declares housekeeping's schedules, and runs each chore once now rather than a whole interval
 * after a restart (so the bytes a killed upload left go once their deadline has passed, not an
 * hour later). The start-up run has a key: processes starting together enqueue it once.
 */
export async function scheduleHousekeeping(queue: JobQueue): Promise<void> {
  for (const { key, everyMs, payload } of HOUSEKEEPING_SCHEDULES) {
    await queue.repeat(JOB_QUEUES.housekeeping, payload, { key, everyMs });
    await queue.enqueue(JOB_QUEUES.housekeeping, payload, { key: `${key}-at-start` });
  }
}

export interface RunningJobs {
  /** Resolves once the worker runs and the schedules are declared (which may wait for the queue's store to come back). */
  started: Promise<void>;
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
  const worker = jobQueue.worker();
  const startup = inOrderUntilDone(
    [
      {
        what: 'starting the job worker',
        run: async () => {
          await worker.start(handlers);
          logger.info({ jobQueue: jobQueue.kind, queues: Object.keys(handlers) }, 'running jobs');
        },
      },
      { what: 'declaring the housekeeping schedules', run: () => scheduleHousekeeping(jobQueue.queue) },
    ],
    logger,
  );
  let stopping: Promise<void> | null = null;
  return {
    started: startup.done,
    // The worker is stopped without waiting for the start-up first: a worker still starting
    // waits for its store, however long it stays away, until it is stopped.
    stop: (timeoutMs) =>
      (stopping ??= (async () => {
        const startupEnded = startup.stop();
        await worker.stop(timeoutMs);
        await startupEnded;
      })()),
  };
}

export const STARTUP_RETRY_MS = 30_000;

interface StartupStep {
  what: string;
  run(): Promise<void>;
}

/**
 * Runs the steps one after the other, each again every STARTUP_RETRY_MS until it succeeds: a
 * process that starts while its queue's store is away (a database still coming up) serves
 * requests all the same, and runs jobs once the store is back.
 */
function inOrderUntilDone(steps: readonly StartupStep[], logger: Logger): { done: Promise<void>; stop(): Promise<void> } {
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pause = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, STARTUP_RETRY_MS).unref();
    });
  const done = (async () => {
    for (const step of steps) {
      while (!stopped) {
        try {
          await step.run();
          break;
        } catch (error) {
          if (stopped) break; // stopped meanwhile: no retry to announce or wait for
          logger.warn({ err: error, retryInMs: STARTUP_RETRY_MS }, `${step.what} failed; trying again`);
          await pause();
        }
      }
    }
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await done;
    },
  };
}
