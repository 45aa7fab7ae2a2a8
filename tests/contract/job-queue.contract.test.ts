import { randomUUID } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import { JobRefusedError, type JobContext, type JobHandler, type JobPayload, type JobWorker } from '../../src/application/index.js';
import { DEFAULT_JOB_QUEUE_SETTINGS, type JobQueueSettings } from '../../src/adapters/jobs/job-settings.js';
import { jobQueueKinds, type JobQueueDeployment, type OpenJobQueueDeployment } from '../support/job-queues.js';

/**
 * The contract of the JobQueue and JobWorker ports, run on every kind of deployment this machine
 * can open (tests/support/job-queues.ts). Timings are short (backoff 20 ms, leases under a
 * second); assertions on time are lower bounds, and "nothing else ran" is shown by a marker job
 * that runs after anything that could have.
 */
const kinds = Object.entries(await jobQueueKinds());

type Settings = JobQueueSettings & { leaseMs: number };

/** One worker slot: jobs then run one after another, in the order they fell due. Failed jobs are kept for the default 7 days. */
const SETTINGS: Settings = { ...DEFAULT_JOB_QUEUE_SETTINGS, attempts: 3, backoffMs: 20, concurrency: 1, leaseMs: 800 };
const SOON = { timeout: 5_000, interval: 10 };

interface Run {
  payload: unknown;
  context: JobContext;
  at: number;
}

interface Failure {
  payload: unknown;
  error: Error;
  context: JobContext;
}

/** A handler that records every run and every final failure; `behaviour` decides how each run ends. */
function recorder(behaviour: (payload: unknown, context: JobContext) => Promise<void> = async () => {}) {
  const runs: Run[] = [];
  const failures: Failure[] = [];
  const handler: JobHandler = {
    run: async (payload, context) => {
      runs.push({ payload, context, at: Date.now() });
      await behaviour(payload, context);
    },
    failed: async (payload, error, context) => void failures.push({ payload, error, context }),
  };
  return { runs, failures, handler, payloads: () => runs.map((run) => run.payload) };
}

/** Something a test opens when it chooses; until then a run waiting on it stays running. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const aborted = (signal: AbortSignal) => new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
const aQueue = () => `q-${randomUUID().slice(0, 8)}`;
const aKey = () => `k-${randomUUID().slice(0, 8)}`;

/** What one test opens, to be closed when it ends. */
function jobHarness(open: OpenJobQueueDeployment) {
  let current: { deployment: JobQueueDeployment; workers: JobWorker[] }[] = [];
  const gates: Array<ReturnType<typeof gate>> = [];
  return {
    deploy: async (overrides: Partial<Settings> = {}) => {
      const deployment = await open({ ...SETTINGS, ...overrides });
      current.push({ deployment, workers: [] });
      return deployment;
    },
    /** Reopening ends the old deployment's workers as a crash would; they are no longer ours to stop. */
    reopen: async (deployment: JobQueueDeployment) => {
      current = current.filter((entry) => entry.deployment !== deployment);
      const reopened = await deployment.reopen();
      current.push({ deployment: reopened, workers: [] });
      return reopened;
    },
    startWorker: async (deployment: JobQueueDeployment, handlers: Record<string, JobHandler>) => {
      const worker = deployment.worker();
      current.find((entry) => entry.deployment === deployment)!.workers.push(worker);
      await worker.start(handlers);
      return worker;
    },
    /** A run that waits until the test opens its gate (or its worker aborts it). */
    held: () => {
      const g = gate();
      gates.push(g);
      return { ...g, behaviour: (_payload: unknown, context: JobContext) => Promise.race([g.opened, aborted(context.signal)]) };
    },
    close: async () => {
      for (const g of gates.splice(0)) g.open();
      for (const { deployment, workers } of current.splice(0)) {
        await Promise.all(workers.map((worker) => worker.stop(1_000)));
        await deployment.close();
      }
    },
  };
}

/**
 * Waits until a marker job enqueued now (or due at `runAt`) has run on a worker of `queue`.
 * With one worker slot, every job that fell due before the marker has run by then.
 */
async function barrier(deployment: JobQueueDeployment, queue: string, seen: ReturnType<typeof recorder>, runAt?: Date): Promise<void> {
  const marker = randomUUID();
  await deployment.queue.enqueue(queue, { marker }, { runAt });
  await vi.waitFor(() => expect(seen.payloads()).toContainEqual({ marker }), SOON);
}

const jobRuns = (seen: ReturnType<typeof recorder>) => seen.payloads().filter((payload) => !(payload as { marker?: string }).marker);

/**
 * Each test has a deployment of its own and waits mostly on timers (backoffs, runAt, leases), so
 * the tests of a kind run side by side.
 */
describe.concurrent.each(kinds)('JobQueue: %s', (_kind, open: OpenJobQueueDeployment) => {
  const it = test.extend<{ jobs: ReturnType<typeof jobHarness> }>({
    // eslint-disable-next-line no-empty-pattern
    jobs: async ({}, use) => {
      const jobs = jobHarness(open);
      await use(jobs);
      await jobs.close();
    },
  });

  describe('running jobs', () => {
    it('runs a job once, with its payload and its attempt', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      const payload: JobPayload = { exportId: randomUUID(), userId: 7, nested: { list: [1, 'two', null, true] } };
      await deployment.queue.enqueue(queue, payload);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      const [run] = seen.runs;
      expect(run!.payload).toEqual(payload);
      expect(run!.context).toMatchObject({ queue, attempt: 1, maxAttempts: SETTINGS.attempts });
      expect(run!.context.jobId).toEqual(expect.any(String));
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen)).toEqual([payload]);
      expect(seen.failures).toEqual([]);
    });

    it('does not run a job before its runAt', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      const runAt = new Date(Date.now() + 300);
      await deployment.queue.enqueue(queue, { late: true }, { runAt });
      expect(await deployment.queue.waiting(queue)).toBe(0);
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      expect(seen.runs[0]!.at).toBeGreaterThanOrEqual(runAt.getTime());
    });

    it('runs a job whose runAt has passed as soon as a worker is there', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      await deployment.queue.enqueue(queue, { overdue: true }, { runAt: new Date(Date.now() - 3_600_000) });
      expect(await deployment.queue.waiting(queue)).toBe(1);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.payloads()).toEqual([{ overdue: true }]), { timeout: 2_000, interval: 10 });
    });

    it('runs only the queues a worker has handlers for', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [mine, other] = [aQueue(), aQueue()];
      const seen = recorder();
      await deployment.queue.enqueue(other, { other: true });
      await jobs.startWorker(deployment, { [mine]: seen.handler });
      await barrier(deployment, mine, seen);
      expect(jobRuns(seen)).toEqual([]);
      expect(await deployment.queue.waiting(other)).toBe(1);
    });
  });

  describe('keys', () => {
    it('dedupe while the job waits', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder();
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      expect(await deployment.queue.waiting(queue)).toBe(1);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen)).toEqual([{ n: 1 }]);
    });

    it('dedupe while the job is delayed', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder();
      await deployment.queue.enqueue(queue, { n: 1 }, { key, runAt: new Date(Date.now() + 200) });
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      expect(await deployment.queue.waiting(queue)).toBe(0);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await barrier(deployment, queue, seen, new Date(Date.now() + 400));
      expect(jobRuns(seen)).toEqual([{ n: 1 }]);
    });

    it('dedupe while the job runs, and are free again once it succeeded', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const first = jobs.held();
      const seen = recorder(async (payload, context) => {
        if ((payload as { n?: number }).n === 1) await first.behaviour(payload, context);
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      expect(await deployment.queue.waiting(queue)).toBe(0);
      first.open();
      // Enqueueing the key is a no-op until the first job has succeeded; then the third is added and runs.
      await vi.waitFor(async () => {
        await deployment.queue.enqueue(queue, { n: 3 }, { key });
        expect(seen.payloads()).toContainEqual({ n: 3 });
      }, SOON);
      expect(seen.payloads()).toEqual([{ n: 1 }, { n: 3 }]);
    });

    it('dedupe while the job is kept as failed', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder(async (payload) => {
        if ((payload as { n?: number }).n === 1) throw new JobRefusedError('not a valid payload');
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(1), SOON);
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      expect(await deployment.queue.waiting(queue)).toBe(0);
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen)).toEqual([{ n: 1 }]);
    });

    it('name jobs per queue: one key in two queues is two jobs', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [one, two, key] = [aQueue(), aQueue(), aKey()];
      await deployment.queue.enqueue(one, { n: 1 }, { key });
      await deployment.queue.enqueue(two, { n: 2 }, { key });
      expect([await deployment.queue.waiting(one), await deployment.queue.waiting(two)]).toEqual([1, 1]);
    });

    it('must match JOB_KEY_PATTERN (a colon is refused)', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      await expect(deployment.queue.enqueue(aQueue(), {}, { key: 'export:1' })).rejects.toThrow(TypeError);
      await expect(deployment.queue.repeat(aQueue(), {}, { key: 'has space', everyMs: 1_000 })).rejects.toThrow(TypeError);
    });
  });

  describe('failures', () => {
    it('retry with exponential backoff, then keep the job as failed and call failed() once', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder(async (payload) => {
        if (!(payload as { marker?: string }).marker) throw new Error('the service is down');
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(1), SOON);
      expect(seen.runs.map((run) => run.context.attempt)).toEqual([1, 2, 3]);
      expect(seen.runs.every((run) => run.context.maxAttempts === 3)).toBe(true);
      // backoffMs * 2^(attempt-1), less a millisecond of timer rounding
      expect(seen.runs[1]!.at - seen.runs[0]!.at).toBeGreaterThanOrEqual(19);
      expect(seen.runs[2]!.at - seen.runs[1]!.at).toBeGreaterThanOrEqual(39);
      const [failure] = seen.failures;
      expect(failure!.payload).toEqual({ n: 1 });
      expect(failure!.error.message).toBe('the service is down');
      expect(failure!.context.attempt).toBe(3);
      // A fourth attempt would be due 80 ms later, well before the marker.
      await barrier(deployment, queue, seen, new Date(Date.now() + 300));
      expect(jobRuns(seen)).toHaveLength(3);
      expect(seen.failures).toHaveLength(1);
    });

    it('a job that succeeds on a retry is not failed, and its key is free again', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder(async (payload, context) => {
        if ((payload as { n?: number }).n === 1 && context.attempt === 1) throw new Error('flaky');
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await vi.waitFor(() => expect(seen.runs.map((run) => run.context.attempt)).toEqual([1, 2]), SOON);
      await vi.waitFor(async () => {
        await deployment.queue.enqueue(queue, { n: 2 }, { key });
        expect(seen.payloads()).toContainEqual({ n: 2 });
      }, SOON);
      expect(seen.failures).toEqual([]);
    });

    it('a JobRefusedError fails the job at once: one run, failed() once', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder(async (payload) => {
        if ((payload as { bad?: boolean }).bad) throw new JobRefusedError('exportId is missing');
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { bad: true });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(1), SOON);
      await barrier(deployment, queue, seen, new Date(Date.now() + 200));
      expect(jobRuns(seen)).toEqual([{ bad: true }]);
      expect(seen.failures).toHaveLength(1);
      expect(seen.failures[0]!.error.message).toBe('exportId is missing');
      expect(seen.failures[0]!.context.attempt).toBe(1);
    });
  });

  describe('failed jobs', () => {
    /** The shortest BullMQ can keep them: it counts whole seconds. */
    const RETENTION_MS = 1_000;
    const refusing = () =>
      recorder(async (payload) => {
        if ((payload as { refuse?: boolean }).refuse) throw new JobRefusedError('not a valid payload');
      });

    it('are forgotten once a later job of their queue fails past the retention: their key runs a job again', async ({ jobs }) => {
      const deployment = await jobs.deploy({ failedRetentionMs: RETENTION_MS });
      const [queue, key] = [aQueue(), aKey()];
      const seen = refusing();
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1, refuse: true }, { key });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(1), SOON);
      // A failure within the retention forgets nothing: the key still dedupes.
      await deployment.queue.enqueue(queue, { early: true, refuse: true });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(2), SOON);
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      await barrier(deployment, queue, seen);
      // The marker ran after the first job was recorded as failed: from this, its retention is over.
      const retentionOver = new Date(Date.now() + RETENTION_MS);
      await deployment.queue.enqueue(queue, { late: true, refuse: true }, { runAt: retentionOver });
      await vi.waitFor(() => expect(seen.failures).toHaveLength(3), { ...SOON, timeout: RETENTION_MS + SOON.timeout });
      await barrier(deployment, queue, seen);
      await deployment.queue.enqueue(queue, { n: 3 }, { key });
      await vi.waitFor(() => expect(jobRuns(seen)).toContainEqual({ n: 3 }), SOON);
      expect(jobRuns(seen).filter((payload) => (payload as { n?: number }).n)).toEqual([{ n: 1, refuse: true }, { n: 3 }]);
    });

    it('are kept no more than failedMaxKept a queue, the newest', async ({ jobs }) => {
      const deployment = await jobs.deploy({ failedMaxKept: 2 });
      const queue = aQueue();
      const keys = [aKey(), aKey(), aKey()];
      const seen = refusing();
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      for (const [failed, key] of keys.entries()) {
        // A millisecond apart at least, so that which failed first is never a tie.
        await deployment.queue.enqueue(queue, { key, refuse: true }, { key, runAt: new Date(Date.now() + 2) });
        await vi.waitFor(() => expect(seen.failures).toHaveLength(failed + 1), SOON);
        await barrier(deployment, queue, seen);
      }
      for (const key of keys) await deployment.queue.enqueue(queue, { again: key }, { key });
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen).filter((payload) => (payload as { again?: string }).again)).toEqual([{ again: keys[0] }]);
    });
  });

  describe('schedules', () => {
    it('run their payload again and again', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      await deployment.queue.repeat(queue, { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 80 });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs.length).toBeGreaterThanOrEqual(3), SOON);
      expect(new Set(seen.runs.map((run) => run.context.jobId)).size).toBe(seen.runs.length);
      expect(seen.payloads().every((payload) => (payload as { chore: string }).chore === 'purge')).toBe(true);
    });

    it('retry a failed tick like any job, even when the next tick falls due before the retry', async ({ jobs }) => {
      const deployment = await jobs.deploy({ backoffMs: 150 });
      const queue = aQueue();
      const seen = recorder(async () => {
        if (seen.runs.length === 1) throw new Error('the first tick fails once');
      });
      await deployment.queue.repeat(queue, { chore: 'purge' }, { key: 'flaky', everyMs: 100 });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs.length).toBeGreaterThanOrEqual(2), SOON);
      expect(seen.runs[1]!.context).toMatchObject({ jobId: seen.runs[0]!.context.jobId, attempt: 2 });
      expect(seen.failures).toEqual([]);
    });

    it('declared again under the same key are replaced (new payload and interval), never doubled', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      await deployment.queue.repeat(queue, { version: 1 }, { key: 'chore', everyMs: 100 });
      await deployment.queue.repeat(queue, { version: 2 }, { key: 'chore', everyMs: 250 });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs.length).toBeGreaterThanOrEqual(3), SOON);
      expect(new Set(seen.payloads().map((payload) => JSON.stringify(payload)))).toEqual(new Set([JSON.stringify({ version: 2 })]));
      // The replaced schedule runs every 250 ms; a second one of 100 ms would run between these.
      expect(seen.runs[2]!.at - seen.runs[1]!.at).toBeGreaterThan(175);
    });

    it('stop once cancelled', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder();
      await deployment.queue.repeat(queue, { tick: true }, { key: 'ticker', everyMs: 60 });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs.length).toBeGreaterThanOrEqual(2), SOON);
      await deployment.queue.cancel(queue, 'ticker');
      // The first marker lets a tick that was already under way finish; after it, nothing ticks.
      await barrier(deployment, queue, seen);
      const ticks = jobRuns(seen).length;
      await barrier(deployment, queue, seen, new Date(Date.now() + 300));
      expect(jobRuns(seen)).toHaveLength(ticks);
    });
  });

  describe('cancel', () => {
    it('removes a delayed job before it runs, and frees its key', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const seen = recorder();
      await deployment.queue.enqueue(queue, { n: 1 }, { key, runAt: new Date(Date.now() + 150) });
      await deployment.queue.cancel(queue, key);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await barrier(deployment, queue, seen, new Date(Date.now() + 300));
      expect(jobRuns(seen)).toEqual([]);
      await deployment.queue.enqueue(queue, { n: 2 }, { key });
      await vi.waitFor(() => expect(jobRuns(seen)).toEqual([{ n: 2 }]), SOON);
    });

    it('lets a running job finish', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const [queue, key] = [aQueue(), aKey()];
      const run = jobs.held();
      let finished = false;
      const seen = recorder(async (payload, context) => {
        await run.behaviour(payload, context);
        finished = !context.signal.aborted;
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 }, { key });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      await deployment.queue.cancel(queue, key);
      run.open();
      await vi.waitFor(() => expect(finished).toBe(true), SOON);
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen)).toEqual([{ n: 1 }]);
    });
  });

  it('waiting() counts the jobs ready to run, not the delayed nor the running ones', async ({ jobs }) => {
    const deployment = await jobs.deploy();
    const [queue, other, empty] = [aQueue(), aQueue(), aQueue()];
    await deployment.queue.enqueue(queue, { n: 1 });
    await deployment.queue.enqueue(queue, { n: 2 });
    await deployment.queue.enqueue(queue, { later: true }, { runAt: new Date(Date.now() + 3_600_000) });
    await deployment.queue.enqueue(other, { n: 3 });
    expect(await deployment.queue.waiting(queue)).toBe(2);
    expect(await deployment.queue.waiting(other)).toBe(1);
    expect(await deployment.queue.waiting(empty)).toBe(0);
    const seen = recorder(jobs.held().behaviour);
    await jobs.startWorker(deployment, { [queue]: seen.handler });
    await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
    expect(await deployment.queue.waiting(queue)).toBe(1);
  });

  describe('workers', () => {
    it('two workers run each of many jobs exactly once, never one job twice at once', async ({ jobs }) => {
      const deployment = await jobs.deploy({ concurrency: 3 });
      const queue = aQueue();
      const running = new Set<number>();
      const overlaps: number[] = [];
      const seen = recorder(async (payload) => {
        const { n } = payload as { n: number };
        if (running.has(n)) overlaps.push(n);
        running.add(n);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running.delete(n);
      });
      const numbers = Array.from({ length: 30 }, (_, n) => n);
      await Promise.all([jobs.startWorker(deployment, { [queue]: seen.handler }), jobs.startWorker(deployment, { [queue]: seen.handler })]);
      for (const n of numbers) await deployment.queue.enqueue(queue, { n });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(numbers.length), { timeout: 10_000, interval: 10 });
      expect(seen.payloads().map((payload) => (payload as { n: number }).n).sort((a, b) => a - b)).toEqual(numbers);
      expect(overlaps).toEqual([]);
      expect(await deployment.queue.waiting(queue)).toBe(0);
    });

    it('keep a job that outlasts its lease to themselves while they live', async ({ jobs }) => {
      const leaseMs = 400;
      const deployment = await jobs.deploy({ leaseMs });
      const queue = aQueue();
      const seen = recorder(async (payload) => {
        if ((payload as { long?: boolean }).long) await new Promise((resolve) => setTimeout(resolve, leaseMs * 3));
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { long: true });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      const finished = seen.runs[0]!.at + leaseMs * 3;
      // A marker due after the long run shows that no other worker took the job over meanwhile.
      await barrier(deployment, queue, seen, new Date(finished + 100));
      expect(jobRuns(seen)).toEqual([{ long: true }]);
    });

    it('stop(timeoutMs) lets a running job finish within the timeout; it does not run again', async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const run = jobs.held();
      let finished = false;
      const seen = recorder(async (payload, context) => {
        if (!(payload as { n?: number }).n) return;
        await run.behaviour(payload, context);
        finished = !context.signal.aborted;
      });
      const worker = await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      const stopped = worker.stop(5_000);
      setTimeout(run.open, 50);
      await stopped;
      expect(finished).toBe(true);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await barrier(deployment, queue, seen);
      expect(jobRuns(seen)).toEqual([{ n: 1 }]);
    });

    it("stop(timeoutMs) then aborts the job's signal and hands it back: another worker runs it, that attempt not counted", async ({ jobs }) => {
      const deployment = await jobs.deploy();
      const queue = aQueue();
      const seen = recorder(async (_payload, context) => {
        if (context.attempt === 1 && seen.runs.length === 1) await aborted(context.signal);
      });
      const first = await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { n: 1 });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      const stopping = Date.now();
      await first.stop(100);
      expect(Date.now() - stopping).toBeLessThan(2_000);
      expect(seen.runs[0]!.context.signal.aborted).toBe(true);
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(2), SOON);
      expect(seen.runs[1]!.payload).toEqual({ n: 1 });
      expect(seen.runs[1]!.context.attempt).toBe(1);
      expect(seen.runs[1]!.context.signal.aborted).toBe(false);
      expect(seen.failures).toEqual([]);
    });
  });

  describe('durability (durable kinds)', () => {
    it('a delayed job survives reopen()', async ({ jobs, skip }) => {
      const deployment = await jobs.deploy();
      if (!deployment.durable) return skip();
      const queue = aQueue();
      const runAt = new Date(Date.now() + 300);
      await deployment.queue.enqueue(queue, { kept: true }, { runAt });
      const reopened = await jobs.reopen(deployment);
      const seen = recorder();
      await jobs.startWorker(reopened, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.payloads()).toEqual([{ kept: true }]), SOON);
      expect(seen.runs[0]!.at).toBeGreaterThanOrEqual(runAt.getTime());
    });

    it('a schedule survives reopen()', async ({ jobs, skip }) => {
      const deployment = await jobs.deploy();
      if (!deployment.durable) return skip();
      const queue = aQueue();
      await deployment.queue.repeat(queue, { chore: 'due-reminders' }, { key: 'housekeeping-due-reminders', everyMs: 100 });
      const reopened = await jobs.reopen(deployment);
      const seen = recorder();
      await jobs.startWorker(reopened, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs.length).toBeGreaterThanOrEqual(2), SOON);
      expect(seen.payloads()[0]).toEqual({ chore: 'due-reminders' });
    });

    it('a job whose worker died mid-run runs again on another worker once the lease has run out', async ({ jobs, skip }) => {
      const leaseMs = 500;
      const deployment = await jobs.deploy({ leaseMs });
      if (!deployment.durable) return skip();
      const queue = aQueue();
      const seen = recorder(async (payload, context) => {
        if (seen.runs.length === 1) await jobs.held().behaviour(payload, context);
      });
      await jobs.startWorker(deployment, { [queue]: seen.handler });
      await deployment.queue.enqueue(queue, { orphaned: true });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(1), SOON);
      const reopened = await jobs.reopen(deployment);
      await jobs.startWorker(reopened, { [queue]: seen.handler });
      await vi.waitFor(() => expect(seen.runs).toHaveLength(2), SOON);
      expect(seen.runs[1]!.payload).toEqual({ orphaned: true });
      // Not before the lease ran out (less what the first run took to start, on a loaded machine).
      expect(seen.runs[1]!.at - seen.runs[0]!.at).toBeGreaterThanOrEqual(leaseMs / 2);
      expect(seen.runs[0]!.context.signal.aborted).toBe(false);
    });
  });
});
