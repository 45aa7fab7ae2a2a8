import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JobRefusedError, type JobContext, type JobHandler, type JobQueue } from '../application/index.js';

export type JobHandlers = Readonly<Record<string, JobHandler>>;

export type JobOutcome = 'completed' | 'retried' | 'failed';

export interface JobInstrumentation {
  /** `jobs_total`, `job_duration_seconds` and `jobs_waiting`: for every `/metrics` of this process. */
  registry: Registry;
  /** The same handlers, each counting and timing its runs and logging every failed attempt. */
  instrument(handlers: JobHandlers): JobHandlers;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What becomes of a job whose run rejected: the queue retries it unless it was refused or had its last attempt. */
function outcomeOfFailure(error: unknown, context: JobContext): JobOutcome {
  if (context.signal.aborted) return 'retried'; // handed back by a stopping worker: it runs again
  return error instanceof JobRefusedError || context.attempt >= context.maxAttempts ? 'failed' : 'retried';
}

/**
 * Job metrics and failure logs for one process. The waiting counts are asked of the queue when
 * scraped, so they are as fresh as the scrape and cost nothing in between. Logs name the job, its
 * queue and attempt and the error's message, never the payload: it carries users' ids and data.
 */
export function createJobInstrumentation(queue: JobQueue, queueNames: readonly string[], logger: Logger): JobInstrumentation {
  const registry = new Registry();
  const total = new Counter({
    name: 'jobs_total',
    help: 'Job runs by queue and outcome: completed, retried (the queue runs it again) or failed (for good)',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Time a job run took, whatever its outcome',
    labelNames: ['queue'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
    registers: [registry],
  });
  new Gauge({
    name: 'jobs_waiting',
    help: 'Jobs ready to run and not yet started, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // A queue that does not answer leaves its sample out rather than failing the whole scrape.
      const counts = await Promise.allSettled(queueNames.map((name) => queue.waiting(name)));
      counts.forEach((count, index) => {
        if (count.status === 'fulfilled') this.set({ queue: queueNames[index]! }, count.value);
      });
    },
  });
  const log = logger.child({ component: 'jobs' });

  const instrumented = (name: string, handler: JobHandler): JobHandler => ({
    async run(payload, context) {
      const stopTimer = duration.startTimer({ queue: name });
      try {
        await handler.run(payload, context);
        total.inc({ queue: name, outcome: 'completed' });
      } catch (error) {
        const outcome = outcomeOfFailure(error, context);
        total.inc({ queue: name, outcome });
        const fields = { jobId: context.jobId, queue: context.queue, attempt: context.attempt, maxAttempts: context.maxAttempts, error: messageOf(error) };
        if (outcome === 'failed') log.error(fields, 'job failed for good');
        else log.warn(fields, context.signal.aborted ? 'job interrupted by the shutdown; it runs again' : 'job attempt failed; it will be retried');
        throw error;
      } finally {
        stopTimer();
      }
    },
    ...(handler.failed && {
      failed: async (payload: unknown, error: Error, context: JobContext) => {
        try {
          await handler.failed!(payload, error, context);
        } catch (recording) {
          log.error({ jobId: context.jobId, queue: context.queue, error: messageOf(recording) }, "recording a job's failure failed");
          throw recording;
        }
      },
    }),
  });

  return {
    registry,
    instrument: (handlers) => Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, instrumented(name, handler)])),
  };
}
