import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobRefusedError, type JobContext, type JobHandler, type JobPayload, type JobWorker } from '../../src/application/index.js';
import { bullmqKinds, type JobQueueDeployment } from '../support/bullmq-job-queues.js';

const kinds = Object.entries(await bullmqKinds());

const SETTINGS = { attempts: 3, backoffMs: 40, concurrency: 2, leaseMs: 800 };
const QUEUE = 'exports';
const WAIT = { timeout: 8_000, interval: 10 };

interface Run {
  payload: JobPayload;
  attempt: number;
  maxAttempts: number;
  at: number;
}

/** A handler that records its runs and failures; `behave` decides how each run ends. */
function recorder(behave: (payload: JobPayload, context: JobContext) => Promise<void> = async () => {}) {
  const runs: Run[] = [];
  const failures: { payload: JobPayload; error: Error; attempt: number }[] = [];
  const handler: JobHandler = {
    async run(payload, context) {
      runs.push({ payload: payload as JobPayload, attempt: context.attempt, maxAttempts: context.maxAttempts, at: Date.now() });
      await behave(payload as JobPayload, context);
    },
    async failed(payload, error, context) {
      failures.push({ payload: payload as JobPayload, error, attempt: context.attempt });
    },
  };
  return { runs, failures, handler };
}

const aKey = () => `job-${randomBytes(4).toString('hex')}`;
const settle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.skipIf(kinds.length === 0).each(kinds)('BullmqJobQueue: %s', (_kind, open) => {
  const deployments: JobQueueDeployment[] = [];
  const workers: JobWorker[] = [];

  async function deployment(overrides: Partial<typeof SETTINGS> = {}): Promise<JobQueueDeployment> {
    const opened = await open({ ...SETTINGS, ...overrides });
    deployments.push(opened);
    return opened;
  }

  async function started(from: JobQueueDeployment, handlers: Record<string, JobHandler>): Promise<JobWorker> {
    const worker = from.worker();
    workers.push(worker);
    await worker.start(handlers);
    return worker;
  }

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
    await Promise.all(deployments.splice(0).map((opened) => opened.close()));
  });

  it('runs an enqueued job once, with its payload, attempt 1 of the configured attempts', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder();
    await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { exportId: 'e1', userId: 7, nested: { tags: ['a', 'b'] } });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    expect(runs[0]).toMatchObject({ payload: { exportId: 'e1', userId: 7, nested: { tags: ['a', 'b'] } }, attempt: 1, maxAttempts: 3 });
    expect(await deployed.queue.waiting(QUEUE)).toBe(0);
  });

  it('runs each queue\'s jobs with that queue\'s handler', async () => {
    const deployed = await deployment();
    const [exports, reminders] = [recorder(), recorder()];
    await started(deployed, { exports: exports.handler, reminders: reminders.handler });
    await deployed.queue.enqueue('exports', { n: 1 });
    await deployed.queue.enqueue('reminders', { n: 2 });
    await vi.waitFor(() => expect([exports.runs.length, reminders.runs.length]).toEqual([1, 1]), WAIT);
    expect(exports.runs[0]!.payload).toEqual({ n: 1 });
    expect(reminders.runs[0]!.payload).toEqual({ n: 2 });
  });

  it('runs a job with runAt no earlier than runAt, and one in the past at once', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder();
    await started(deployed, { [QUEUE]: handler });
    const runAt = Date.now() + 400;
    await deployed.queue.enqueue(QUEUE, { which: 'later' }, { runAt: new Date(runAt) });
    await deployed.queue.enqueue(QUEUE, { which: 'past' }, { runAt: new Date(Date.now() - 60_000) });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs.map((run) => run.payload.which)).toEqual(['past', 'later']);
    expect(runs[1]!.at).toBeGreaterThanOrEqual(runAt);
  });

  it('counts only jobs ready to run as waiting, not delayed ones nor other queues\'', async () => {
    const { queue } = await deployment();
    await queue.enqueue(QUEUE, { n: 1 });
    await queue.enqueue(QUEUE, { n: 2 }, { runAt: new Date(Date.now() - 1_000) });
    await queue.enqueue(QUEUE, { n: 3 }, { runAt: new Date(Date.now() + 3_600_000) });
    await queue.enqueue('reminders', { n: 4 });
    expect(await queue.waiting(QUEUE)).toBe(2);
    expect(await queue.waiting('housekeeping')).toBe(0);
  });

  it('adds nothing for a key that is waiting or delayed, and accepts it again once that job succeeded', async () => {
    const deployed = await deployment();
    const key = aKey();
    await deployed.queue.enqueue(QUEUE, { n: 1 }, { key });
    await deployed.queue.enqueue(QUEUE, { n: 2 }, { key });
    await deployed.queue.enqueue('reminders', { n: 3 }, { key }); // keys are per queue
    expect(await deployed.queue.waiting(QUEUE)).toBe(1);
    const delayedKey = aKey();
    await deployed.queue.enqueue(QUEUE, { n: 4 }, { key: delayedKey, runAt: new Date(Date.now() + 3_600_000) });
    await deployed.queue.enqueue(QUEUE, { n: 5 }, { key: delayedKey });
    expect(await deployed.queue.waiting(QUEUE)).toBe(1);

    const { runs, handler } = recorder();
    await started(deployed, { [QUEUE]: handler });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    expect(runs[0]!.payload).toEqual({ n: 1 });
    await deployed.queue.enqueue(QUEUE, { n: 6 }, { key });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs[1]!.payload).toEqual({ n: 6 });
  });

  it('accepts every key the port allows, digits-only ones included', async () => {
    const { queue } = await deployment();
    for (const key of ['42', '-7', 'a.b_c-d', 'x'.repeat(200)]) await queue.enqueue(QUEUE, { key }, { key });
    expect(await queue.waiting(QUEUE)).toBe(4);
    await expect(queue.enqueue(QUEUE, {}, { key: 'has:colon' })).rejects.toThrow(TypeError);
  });

  it('adds nothing for the key of a running job', async () => {
    const deployed = await deployment();
    const key = aKey();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { runs, handler } = recorder(() => released);
    await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { n: 1 }, { key });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await deployed.queue.enqueue(QUEUE, { n: 2 }, { key });
    expect(await deployed.queue.waiting(QUEUE)).toBe(0);
    release();
  });

  it('retries a failing job with exponential backoff and runs it until it succeeds', async () => {
    const deployed = await deployment();
    const { runs, failures, handler } = recorder(async (_payload, { attempt }) => {
      if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
    });
    await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(3), WAIT);
    expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(SETTINGS.backoffMs);
    expect(runs[2]!.at - runs[1]!.at).toBeGreaterThanOrEqual(2 * SETTINGS.backoffMs);
    expect(failures).toEqual([]);
  });

  it('keeps a job failed after its last attempt, tells the handler once, and holds its key until cancelled', async () => {
    const deployed = await deployment();
    const key = aKey();
    const { runs, failures, handler } = recorder(async (_payload, { attempt }) => {
      throw new Error(`attempt ${attempt} failed`);
    });
    const worker = await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { n: 1 }, { key });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(failures[0]).toMatchObject({ payload: { n: 1 }, attempt: 3 });
    expect(failures[0]!.error.message).toBe('attempt 3 failed');

    await worker.stop(1_000);
    await deployed.queue.enqueue(QUEUE, { n: 2 }, { key });
    expect(await deployed.queue.waiting(QUEUE)).toBe(0);
    await deployed.queue.cancel(QUEUE, key);
    await deployed.queue.enqueue(QUEUE, { n: 3 }, { key });
    expect(await deployed.queue.waiting(QUEUE)).toBe(1);
  });

  it('fails a refused job at once, without retries, and tells the handler with the refusal', async () => {
    const deployed = await deployment();
    const { runs, failures, handler } = recorder(async () => {
      throw new JobRefusedError('payload is malformed');
    });
    await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { bad: true });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(failures[0]!.error).toBeInstanceOf(JobRefusedError);
    expect(failures[0]!.error.message).toBe('payload is malformed');
    await settle(4 * SETTINGS.backoffMs);
    expect(runs).toHaveLength(1);
  });

  it('repeats a schedule every interval from one interval after it was declared', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder();
    await started(deployed, { housekeeping: handler });
    const declaredAt = Date.now();
    await deployed.queue.repeat('housekeeping', { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 300 });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(2), WAIT);
    expect(runs[0]!.at).toBeGreaterThanOrEqual(declaredAt + 300);
    expect(runs.every((run) => run.payload.chore === 'purge')).toBe(true);
  });

  it('replaces a schedule declared again under its key, and stops it when cancelled', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder();
    await started(deployed, { housekeeping: handler });
    const key = 'housekeeping-due-reminders';
    await deployed.queue.repeat('housekeeping', { version: 1 }, { key, everyMs: 150 });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(1), WAIT);
    await deployed.queue.repeat('housekeeping', { version: 2 }, { key, everyMs: 200 });
    await deployed.queue.repeat('housekeeping', { version: 2 }, { key, everyMs: 200 });
    const replacedAt = Date.now();
    await vi.waitFor(() => expect(runs.filter((run) => run.payload.version === 2).length).toBeGreaterThanOrEqual(3), WAIT);
    const second = runs.filter((run) => run.at > replacedAt + 50);
    expect(second.every((run) => run.payload.version === 2)).toBe(true);
    // One schedule, not two: about one run per interval.
    const span = second.at(-1)!.at - second[0]!.at;
    expect(second.length - 1).toBeLessThanOrEqual(Math.ceil(span / 200) + 1);

    await deployed.queue.cancel('housekeeping', key);
    const before = runs.length;
    await settle(600);
    expect(runs.length - before).toBeLessThanOrEqual(1); // one may have been running already
  });

  it('cancels a job that has not started and lets a running one finish', async () => {
    const deployed = await deployment();
    const [waitingKey, runningKey] = [aKey(), aKey()];
    await deployed.queue.enqueue(QUEUE, { which: 'waiting' }, { key: waitingKey, runAt: new Date(Date.now() + 500) });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { runs, handler } = recorder((payload) => (payload.which === 'running' ? released : Promise.resolve()));
    await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { which: 'running' }, { key: runningKey });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await deployed.queue.cancel(QUEUE, waitingKey);
    await deployed.queue.cancel(QUEUE, runningKey);
    await deployed.queue.cancel(QUEUE, aKey()); // unknown: nothing to do
    release();
    await settle(800);
    expect(runs.map((run) => run.payload.which)).toEqual(['running']);
    // The running job succeeded: its key is free again.
    await deployed.queue.enqueue(QUEUE, { which: 'again' }, { key: runningKey });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
  });

  it('stop() lets a running job finish within its timeout and takes no new jobs', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder(() => settle(150));
    const worker = await started(deployed, { [QUEUE]: handler });
    await deployed.queue.enqueue(QUEUE, { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await worker.stop(5_000);
    await deployed.queue.enqueue(QUEUE, { n: 2 });
    await settle(200);
    expect(runs).toHaveLength(1);
    expect(await deployed.queue.waiting(QUEUE)).toBe(1);
  });

  it('stop() past its timeout aborts the signal and hands the job back: another worker runs it, the attempt not counted', async () => {
    const deployed = await deployment();
    let signal: AbortSignal | undefined;
    const first = recorder((_payload, context) => {
      signal = context.signal;
      return new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const worker = await started(deployed, { [QUEUE]: first.handler });
    await deployed.queue.enqueue(QUEUE, { n: 1 });
    await vi.waitFor(() => expect(first.runs).toHaveLength(1), WAIT);
    const stopping = Date.now();
    await worker.stop(100);
    expect(Date.now() - stopping).toBeLessThan(2_000);
    expect(signal?.aborted).toBe(true);

    const second = recorder();
    await started(deployed, { [QUEUE]: second.handler });
    await vi.waitFor(() => expect(second.runs).toHaveLength(1), WAIT);
    expect(second.runs[0]).toMatchObject({ payload: { n: 1 }, attempt: 1 });
    expect([...first.failures, ...second.failures]).toEqual([]);
  });

  it('fails a job whose worker vanished more often than it has attempts, and tells the handler', async () => {
    const deployed = await deployment({ attempts: 1, leaseMs: 300 });
    const { runs, failures, handler } = recorder(() => new Promise<void>(() => {})); // never ends, ignores its signal
    await deployed.queue.enqueue(QUEUE, { n: 1 });
    for (let vanished = 1; vanished <= 2; vanished += 1) {
      const worker = await started(deployed, { [QUEUE]: handler });
      await vi.waitFor(() => expect(runs).toHaveLength(vanished), WAIT);
      await worker.stop(0);
    }
    await started(deployed, { [QUEUE]: handler });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(failures[0]).toMatchObject({ payload: { n: 1 } });
    expect(runs).toHaveLength(2);
  });

  it('runs each job exactly once with two workers taking the same queue', async () => {
    const deployed = await deployment();
    const { runs, handler } = recorder(() => settle(5));
    await started(deployed, { [QUEUE]: handler });
    await started(deployed, { [QUEUE]: handler });
    const count = 30;
    await Promise.all(Array.from({ length: count }, (_, n) => deployed.queue.enqueue(QUEUE, { n })));
    await vi.waitFor(() => expect(runs).toHaveLength(count), WAIT);
    await settle(100);
    expect(runs.map((run) => run.payload.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: count }, (_, n) => n));
  });

  it('keeps jobs and schedules across a reopen', async () => {
    const deployed = await deployment();
    const key = aKey();
    await deployed.queue.enqueue(QUEUE, { n: 1 }, { key });
    await deployed.queue.repeat('housekeeping', { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 200 });
    const reopened = await deployed.reopen();
    deployments.push(reopened);
    expect(await reopened.queue.waiting(QUEUE)).toBe(1);
    const [jobs, chores] = [recorder(), recorder()];
    await started(reopened, { [QUEUE]: jobs.handler, housekeeping: chores.handler });
    await vi.waitFor(() => expect([jobs.runs.length, Math.min(chores.runs.length, 1)]).toEqual([1, 1]), WAIT);
  });
});
