import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobRefusedError, type JobContext, type JobHandler, type JobPayload, type JobWorker } from '../../src/application/index.js';
import { BullmqJobQueue, type BullmqJobQueueOptions } from '../../src/adapters/jobs/bullmq-job-queue.js';
import { DEFAULT_JOB_QUEUE_SETTINGS } from '../../src/adapters/jobs/job-settings.js';
import { bullmqKinds, bullmqTestStores } from '../support/bullmq-job-queues.js';
import type { JobQueueDeployment } from '../support/job-queues.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const kinds = Object.entries(await bullmqKinds());
const stores = Object.entries(bullmqTestStores());

const SETTINGS = { ...DEFAULT_JOB_QUEUE_SETTINGS, attempts: 3, backoffMs: 40, concurrency: 2, leaseMs: 500 };
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
/** Tests share a deployment (migrating a PostgreSQL schema takes a while): each uses queues of its own. */
const aQueue = (kind = 'exports') => `${kind}-${randomBytes(4).toString('hex')}`;
/** A promise the test resolves when it wants a handler to finish. */
function aGate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
const settle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.skipIf(kinds.length === 0).each(kinds)('BullmqJobQueue: %s', (_kind, open) => {
  let shared: JobQueueDeployment;
  const deployments: JobQueueDeployment[] = [];
  const workers: JobWorker[] = [];

  beforeAll(async () => {
    shared = await open(SETTINGS);
  });
  afterAll(async () => {
    await shared.close();
  });

  /** The shared deployment, or one of its own for other settings or for a test that reopens it. */
  async function deployment(overrides?: Partial<typeof SETTINGS>): Promise<JobQueueDeployment> {
    if (!overrides) return shared;
    const opened = await open({ ...SETTINGS, ...overrides });
    deployments.push(opened);
    return opened;
  }

  async function started(workerOf: () => JobWorker, handlers: Record<string, JobHandler>): Promise<JobWorker> {
    const worker = workerOf();
    workers.push(worker);
    await worker.start(handlers);
    return worker;
  }

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
    await Promise.all(deployments.splice(0).map((opened) => opened.close()));
  });

  it('runs an enqueued job once, with its payload, attempt 1 of the configured attempts', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, handler } = recorder();
    await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { exportId: 'e1', userId: 7, nested: { tags: ['a', 'b'] } });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    expect(runs[0]).toMatchObject({ payload: { exportId: 'e1', userId: 7, nested: { tags: ['a', 'b'] } }, attempt: 1, maxAttempts: 3 });
    expect(await queue.waiting(exports)).toBe(0);
  });

  it('runs each queue\'s jobs with that queue\'s handler', async () => {
    const { queue, worker } = await deployment();
    const [exports, reminders] = [aQueue('exports'), aQueue('reminders')];
    const [exporter, reminder] = [recorder(), recorder()];
    await started(worker, { [exports]: exporter.handler, [reminders]: reminder.handler });
    await queue.enqueue(exports, { n: 1 });
    await queue.enqueue(reminders, { n: 2 });
    await vi.waitFor(() => expect([exporter.runs.length, reminder.runs.length]).toEqual([1, 1]), WAIT);
    expect(exporter.runs[0]!.payload).toEqual({ n: 1 });
    expect(reminder.runs[0]!.payload).toEqual({ n: 2 });
  });

  it('runs a job with runAt no earlier than runAt, and one in the past at once', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, handler } = recorder();
    await started(worker, { [exports]: handler });
    const runAt = Date.now() + 250;
    await queue.enqueue(exports, { which: 'later' }, { runAt: new Date(runAt) });
    await queue.enqueue(exports, { which: 'past' }, { runAt: new Date(Date.now() - 60_000) });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs.map((run) => run.payload.which)).toEqual(['past', 'later']);
    expect(runs[1]!.at).toBeGreaterThanOrEqual(runAt);
  });

  it('counts only jobs ready to run as waiting, not delayed ones nor other queues\'', async () => {
    const { queue } = await deployment();
    const [exports, reminders] = [aQueue('exports'), aQueue('reminders')];
    await queue.enqueue(exports, { n: 1 });
    await queue.enqueue(exports, { n: 2 }, { runAt: new Date(Date.now() - 1_000) });
    await queue.enqueue(exports, { n: 3 }, { runAt: new Date(Date.now() + 3_600_000) });
    await queue.enqueue(reminders, { n: 4 });
    expect(await queue.waiting(exports)).toBe(2);
    expect(await queue.waiting(aQueue('housekeeping'))).toBe(0);
    // Delayed until a moment ago, with no worker to move it to waiting: ready all the same.
    await queue.enqueue(exports, { n: 5 }, { runAt: new Date(Date.now() + 100) });
    await vi.waitFor(async () => expect(await queue.waiting(exports)).toBe(3), WAIT);
  });

  it('adds nothing for a key that is waiting or delayed, and accepts it again once that job succeeded', async () => {
    const { queue, worker } = await deployment();
    const [exports, reminders] = [aQueue('exports'), aQueue('reminders')];
    const key = aKey();
    await queue.enqueue(exports, { n: 1 }, { key });
    await queue.enqueue(exports, { n: 2 }, { key });
    await queue.enqueue(reminders, { n: 3 }, { key }); // keys are per queue
    expect([await queue.waiting(exports), await queue.waiting(reminders)]).toEqual([1, 1]);
    const delayedKey = aKey();
    await queue.enqueue(exports, { n: 4 }, { key: delayedKey, runAt: new Date(Date.now() + 3_600_000) });
    await queue.enqueue(exports, { n: 5 }, { key: delayedKey });
    expect(await queue.waiting(exports)).toBe(1);

    const { runs, handler } = recorder();
    const running = await started(worker, { [exports]: handler });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    expect(runs[0]!.payload).toEqual({ n: 1 });
    await running.stop(5_000); // the job has succeeded once its worker stopped
    await queue.enqueue(exports, { n: 6 }, { key });
    await started(worker, { [exports]: handler });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs[1]!.payload).toEqual({ n: 6 });
  });

  it('accepts every key the port allows, digits-only ones included, and refuses others', async () => {
    const { queue } = await deployment();
    const exports = aQueue();
    for (const key of ['42', '-7', 'a.b_c-d', 'x'.repeat(200)]) await queue.enqueue(exports, { key }, { key });
    expect(await queue.waiting(exports)).toBe(4);
    await expect(queue.enqueue(exports, {}, { key: 'has:colon' })).rejects.toThrow(TypeError);
    await expect(queue.repeat(exports, {}, { key: '', everyMs: 1_000 })).rejects.toThrow(TypeError);
  });

  it('adds nothing for the key of a running job', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const key = aKey();
    const gate = aGate();
    const { runs, handler } = recorder(() => gate.opened);
    await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { n: 1 }, { key });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await queue.enqueue(exports, { n: 2 }, { key });
    expect(await queue.waiting(exports)).toBe(0);
    gate.open();
  });

  it('retries a failing job with exponential backoff and runs it until it succeeds', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, failures, handler } = recorder(async (_payload, { attempt }) => {
      if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
    });
    await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(3), WAIT);
    expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(SETTINGS.backoffMs);
    expect(runs[2]!.at - runs[1]!.at).toBeGreaterThanOrEqual(2 * SETTINGS.backoffMs);
    expect(failures).toEqual([]);
  });

  it('keeps a job failed after its last attempt, tells the handler once, and holds its key until cancelled', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const key = aKey();
    const { runs, failures, handler } = recorder(async (_payload, { attempt }) => {
      throw new Error(`attempt ${attempt} failed`);
    });
    const running = await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { n: 1 }, { key });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
    expect(failures[0]).toMatchObject({ payload: { n: 1 }, attempt: 3 });
    expect(failures[0]!.error.message).toBe('attempt 3 failed');

    await running.stop(1_000);
    await queue.enqueue(exports, { n: 2 }, { key });
    expect(await queue.waiting(exports)).toBe(0);
    await queue.cancel(exports, key);
    await queue.enqueue(exports, { n: 3 }, { key });
    expect(await queue.waiting(exports)).toBe(1);
    expect(failures).toHaveLength(1);
  });

  it('fails a refused job at once, without retries, and tells the handler with the refusal', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, failures, handler } = recorder(async (payload) => {
      if (payload.bad) throw new JobRefusedError('payload is malformed');
    });
    await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { bad: true });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(failures[0]!.error).toBeInstanceOf(JobRefusedError);
    expect(failures[0]!.error.message).toBe('payload is malformed');
    // A retry would come after the backoff, before a job enqueued after that delay.
    await queue.enqueue(exports, { bad: false }, { runAt: new Date(Date.now() + 3 * SETTINGS.backoffMs) });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs.map((run) => run.payload.bad)).toEqual([true, false]);
  });

  it('repeats a schedule every interval from one interval after it was declared', async () => {
    const { queue, worker } = await deployment();
    const housekeeping = aQueue('housekeeping');
    const { runs, handler } = recorder();
    await started(worker, { [housekeeping]: handler });
    const declaredAt = Date.now();
    await queue.repeat(housekeeping, { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 150 });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(2), WAIT);
    expect(runs[0]!.at).toBeGreaterThanOrEqual(declaredAt + 150);
    expect(runs[1]!.at).toBeGreaterThanOrEqual(declaredAt + 2 * 150);
    expect(runs.every((run) => run.payload.chore === 'purge')).toBe(true);
  });

  it('replaces a schedule declared again under its key, and stops it when cancelled', async () => {
    const { queue, worker } = await deployment();
    const housekeeping = aQueue('housekeeping');
    const { runs, handler } = recorder();
    await started(worker, { [housekeeping]: handler });
    const key = 'housekeeping-due-reminders';
    await queue.repeat(housekeeping, { version: 1 }, { key, everyMs: 100 });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(1), WAIT);
    await queue.repeat(housekeeping, { version: 2 }, { key, everyMs: 120 });
    await queue.repeat(housekeeping, { version: 2 }, { key, everyMs: 120 });
    const replacedAt = Date.now();
    await vi.waitFor(() => expect(runs.filter((run) => run.payload.version === 2).length).toBeGreaterThanOrEqual(3), WAIT);
    const replaced = runs.filter((run) => run.at > replacedAt + 50);
    expect(replaced.every((run) => run.payload.version === 2)).toBe(true);
    // One schedule, not two: about one run per interval.
    const span = replaced.at(-1)!.at - replaced[0]!.at;
    expect(replaced.length - 1).toBeLessThanOrEqual(Math.ceil(span / 120) + 1);

    await queue.cancel(housekeeping, key);
    const cancelledAfter = runs.length;
    // A job due three intervals later runs after any the schedule would still have made.
    await queue.enqueue(housekeeping, { version: 'sentinel' }, { runAt: new Date(Date.now() + 360) });
    await vi.waitFor(() => expect(runs.at(-1)?.payload.version).toBe('sentinel'), WAIT);
    expect(runs.length - cancelledAfter).toBeLessThanOrEqual(2); // the sentinel, and one that may have been running
  });

  it('never runs two ticks of a schedule side by side: a tick that falls due while one runs is skipped', async () => {
    const { queue, worker } = await deployment({ concurrency: 4 });
    const housekeeping = aQueue('housekeeping');
    let running = 0;
    let overlapped = false;
    const { runs, handler } = recorder(async () => {
      running += 1;
      overlapped ||= running > 1;
      await settle(runs.length === 1 ? 350 : 0); // the first tick outlasts three intervals
      running -= 1;
    });
    await started(worker, { [housekeeping]: handler });
    await queue.repeat(housekeeping, { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 100 });
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(4), WAIT);
    expect(overlapped).toBe(false);
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(350);
    // The ticks that fell due during the long run were skipped, not kept for later: kept, they
    // would run back to back. Ticks keep to their interval's grid, so the run after a late one
    // may come at once; the one after that is a whole interval later.
    expect(runs[3]!.at - runs[1]!.at).toBeGreaterThanOrEqual(90);
  });

  it('cancels a job that has not started and lets a running one finish', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const [delayedKey, runningKey] = [aKey(), aKey()];
    await queue.enqueue(exports, { which: 'delayed' }, { key: delayedKey, runAt: new Date(Date.now() + 300) });
    const gate = aGate();
    const { runs, handler } = recorder((payload) => (payload.which === 'running' ? gate.opened : Promise.resolve()));
    const running = await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { which: 'running' }, { key: runningKey });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await queue.cancel(exports, delayedKey);
    await queue.cancel(exports, runningKey);
    await queue.cancel(exports, aKey()); // unknown: nothing to do
    gate.open();
    await queue.enqueue(exports, { which: 'sentinel' }, { runAt: new Date(Date.now() + 400) });
    await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
    expect(runs.map((run) => run.payload.which)).toEqual(['running', 'sentinel']);
    await running.stop(5_000);
    // The running job succeeded: its key is free again.
    await queue.enqueue(exports, { which: 'again' }, { key: runningKey });
    expect(await queue.waiting(exports)).toBe(1);
  });

  it('stop() lets a running job finish within its timeout and takes no new jobs', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, handler } = recorder(() => settle(150));
    const running = await started(worker, { [exports]: handler });
    await queue.enqueue(exports, { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
    await running.stop(5_000);
    await queue.enqueue(exports, { n: 2 });
    await settle(100);
    expect(runs).toHaveLength(1);
    expect(await queue.waiting(exports)).toBe(1);
  });

  it('stop() past its timeout aborts the signal and hands the job back: another worker runs it, the attempt not counted', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    let signal: AbortSignal | undefined;
    const first = recorder((_payload, context) => {
      signal = context.signal;
      return new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const running = await started(worker, { [exports]: first.handler });
    await queue.enqueue(exports, { n: 1 });
    await vi.waitFor(() => expect(first.runs).toHaveLength(1), WAIT);
    const stopping = Date.now();
    await running.stop(100);
    expect(Date.now() - stopping).toBeLessThan(2_000);
    expect(signal?.aborted).toBe(true);

    const second = recorder();
    await started(worker, { [exports]: second.handler });
    await vi.waitFor(() => expect(second.runs).toHaveLength(1), WAIT);
    expect(second.runs[0]).toMatchObject({ payload: { n: 1 }, attempt: 1 });
    expect([...first.failures, ...second.failures]).toEqual([]);
  });

  it('fails a job whose worker vanished more often than it has attempts, and tells the handler', async () => {
    const { queue, worker } = await deployment({ attempts: 1, leaseMs: 300 });
    const exports = aQueue();
    const { runs, failures, handler } = recorder(() => new Promise<void>(() => {})); // never ends, ignores its signal
    await queue.enqueue(exports, { n: 1 });
    for (let vanished = 1; vanished <= 2; vanished += 1) {
      const running = await started(worker, { [exports]: handler });
      await vi.waitFor(() => expect(runs).toHaveLength(vanished), WAIT);
      await running.stop(0);
    }
    await started(worker, { [exports]: handler });
    await vi.waitFor(() => expect(failures).toHaveLength(1), WAIT);
    expect(failures[0]).toMatchObject({ payload: { n: 1 } });
    expect(runs).toHaveLength(2);
  });

  it('runs each job exactly once with two workers taking the same queue', async () => {
    const { queue, worker } = await deployment();
    const exports = aQueue();
    const { runs, handler } = recorder(() => settle(5));
    await started(worker, { [exports]: handler });
    await started(worker, { [exports]: handler });
    const count = 30;
    await Promise.all(Array.from({ length: count }, (_, n) => queue.enqueue(exports, { n })));
    await vi.waitFor(() => expect(runs).toHaveLength(count), WAIT);
    await settle(100);
    expect(runs.map((run) => run.payload.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: count }, (_, n) => n));
  });

  it('refuses work once closed', async () => {
    const deployed = await deployment({});
    await deployed.queue.enqueue(aQueue(), { n: 1 });
    await (deployed.queue as BullmqJobQueue).close();
    await expect(deployed.queue.enqueue(aQueue(), { n: 2 })).rejects.toThrow('closed');
  });

  it('keeps jobs and schedules across a reopen', async () => {
    const deployed = await deployment({});
    const [exports, housekeeping] = [aQueue('exports'), aQueue('housekeeping')];
    await deployed.queue.enqueue(exports, { n: 1 }, { key: aKey() });
    await deployed.queue.repeat(housekeeping, { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 200 });
    const reopened = await deployed.reopen();
    deployments.push(reopened);
    expect(await reopened.queue.waiting(exports)).toBe(1);
    const [jobs, chores] = [recorder(), recorder()];
    await started(reopened.worker, { [exports]: jobs.handler, [housekeeping]: chores.handler });
    await vi.waitFor(() => expect([jobs.runs.length, Math.min(chores.runs.length, 1)]).toEqual([1, 1]), WAIT);
  });
});

/** A queue reaching its store through a proxy that can cut it off; `cleanups` undoes all three. */
async function queueBehindProxy(
  newStore: (typeof stores)[number][1],
  cleanups: (() => Promise<void>)[],
  options: Omit<BullmqJobQueueOptions, 'connection'> = {},
) {
  const store = newStore();
  cleanups.push(() => store.remove());
  const proxy = await new TcpProxy(store.server).start();
  cleanups.push(() => proxy.close());
  const queue = await BullmqJobQueue.open({ connection: store.via({ host: '127.0.0.1', port: proxy.port }), ...options });
  cleanups.push(() => queue.close());
  return { queue, proxy };
}

describe.skipIf(stores.length === 0).each(stores)('BullmqJobQueue producing while its store is away: %s', (_kind, newStore) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const behindProxy = () => queueBehindProxy(newStore, cleanups);

  async function expectQuickFailure(enqueue: Promise<void>): Promise<void> {
    const started = Date.now();
    await expect(enqueue).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(4_000);
  }

  it('fails an enqueue within seconds while the store refuses connections, and enqueues again once it is back', async () => {
    const { queue, proxy } = await behindProxy();
    const exports = aQueue();
    await queue.enqueue(exports, { n: 1 });
    await proxy.refuse();
    await expectQuickFailure(queue.enqueue(exports, { n: 2 }));
    await expectQuickFailure(queue.enqueue(aQueue(), { n: 2 })); // a queue not used before
    await proxy.restore();
    await vi.waitFor(() => queue.enqueue(exports, { n: 3 }), { timeout: 10_000, interval: 200 });
    expect(await queue.waiting(exports)).toBe(2);
  });

  it('fails an enqueue within seconds while the network to the store is silent', async () => {
    const { queue, proxy } = await behindProxy();
    const exports = aQueue();
    await queue.enqueue(exports, { n: 1 });
    proxy.stall();
    await expectQuickFailure(queue.enqueue(exports, { n: 2 }));
  });
});

describe.skipIf(stores.length === 0).each(stores)('BullmqJobQueue stopping while its store is away: %s', (_kind, newStore) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Jobs of a vanished worker run again after half a second. */
  const behindProxy = () => queueBehindProxy(newStore, cleanups, { settings: SETTINGS, leaseMs: 500, onError: () => {} });

  /** A handler whose runs last until their signal is aborted. */
  const holding = () => recorder((_payload, context) => new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(new Error('aborted')))));

  // A stop that waits for the store to come back never resolves: the test's timeout is the failure.
  it('stop() ends a worker still waiting for its store to answer at start, and that worker runs nothing', async () => {
    const { queue, proxy } = await behindProxy();
    const exports = aQueue();
    await proxy.refuse();
    const first = recorder();
    const worker = queue.worker();
    const starting = worker.start({ [exports]: first.handler });
    await worker.stop(5_000);
    await expect(starting).rejects.toThrow();

    await proxy.restore();
    await vi.waitFor(() => queue.enqueue(exports, { n: 1 }), { timeout: 10_000, interval: 200 });
    const second = recorder();
    const other = queue.worker();
    cleanups.push(() => other.stop(0));
    await other.start({ [exports]: second.handler });
    await vi.waitFor(() => expect(second.runs).toHaveLength(1), WAIT);
    expect(first.runs).toEqual([]);
  }, 15_000);

  it('stop() resolves for an idle worker whose store went away, and for one whose network went silent', async () => {
    const exports = aQueue();
    const refused = await behindProxy();
    const worker = refused.queue.worker();
    await worker.start({ [exports]: recorder().handler });
    await refused.proxy.refuse();
    await worker.stop(5_000);

    const stalled = await behindProxy();
    const other = stalled.queue.worker();
    await other.start({ [exports]: recorder().handler });
    stalled.proxy.stall();
    await other.stop(5_000);
  }, 15_000);

  it('stop() past its timeout resolves while the store is away, and the job the worker held runs again once it is back', async () => {
    const { queue, proxy } = await behindProxy();
    const exports = aQueue();
    const first = holding();
    const worker = queue.worker();
    await worker.start({ [exports]: first.handler });
    await queue.enqueue(exports, { n: 1 });
    await vi.waitFor(() => expect(first.runs).toHaveLength(1), WAIT);
    await proxy.refuse();
    await worker.stop(100);

    await proxy.restore();
    await vi.waitFor(() => queue.waiting(exports), { timeout: 10_000, interval: 200 });
    const second = recorder();
    const other = queue.worker();
    cleanups.push(() => other.stop(0));
    await other.start({ [exports]: second.handler });
    await vi.waitFor(() => expect(second.runs).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(second.runs[0]).toMatchObject({ payload: { n: 1 } });
    expect([...first.failures, ...second.failures]).toEqual([]);
  }, 30_000);
});
