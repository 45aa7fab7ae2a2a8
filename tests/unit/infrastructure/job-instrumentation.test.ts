import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobRefusedError, type JobHandler, type JobWorker } from '../../../src/application/index.js';
import { InMemoryJobQueue } from '../../../src/adapters/jobs/in-memory-job-queue.js';
import { createJobInstrumentation } from '../../../src/infrastructure/job-instrumentation.js';
import { createLogger } from '../../../src/infrastructure/logger.js';

function capturedLogger() {
  const entries: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        lines.push(line);
        entries.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'info', nodeEnv: 'production' }, stream), entries, lines };
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

const SECRET_PAYLOAD = { userId: 7, note: 'payload-that-must-not-be-logged' };

describe('job instrumentation', () => {
  let worker: JobWorker | undefined;
  afterEach(() => worker?.stop(1_000));

  function setUp(handlers: Record<string, JobHandler>) {
    const queue = new InMemoryJobQueue({ attempts: 2, backoffMs: 1, concurrency: 2 });
    const log = capturedLogger();
    const instrumentation = createJobInstrumentation(queue, ['work', 'idle'], log.logger);
    worker = queue.worker();
    const started = worker.start(instrumentation.instrument(handlers));
    const scrape = () => instrumentation.registry.metrics();
    return { queue, log, scrape, started };
  }

  it('counts completed, retried and failed runs by queue, and times every run', async () => {
    let runs = 0;
    const { queue, scrape, started } = setUp({
      work: {
        async run(payload) {
          runs += 1;
          if ((payload as { kind: string }).kind === 'flaky' && runs === 2) throw new Error('first try fails');
          if ((payload as { kind: string }).kind === 'refused') throw new JobRefusedError('bad payload');
        },
      },
    });
    await started;
    await queue.enqueue('work', { kind: 'fine' });
    await vi.waitFor(async () => expect(sample(await scrape(), 'jobs_total', { queue: 'work', outcome: 'completed' })).toBe(1));
    await queue.enqueue('work', { kind: 'flaky' });
    await vi.waitFor(async () => expect(sample(await scrape(), 'jobs_total', { queue: 'work', outcome: 'completed' })).toBe(2));
    await queue.enqueue('work', { kind: 'refused' });
    await vi.waitFor(async () => expect(sample(await scrape(), 'jobs_total', { queue: 'work', outcome: 'failed' })).toBe(1));

    const text = await scrape();
    expect(sample(text, 'jobs_total', { queue: 'work', outcome: 'retried' })).toBe(1);
    expect(sample(text, 'job_duration_seconds_count', { queue: 'work' })).toBe(4);
    expect(text).toContain('# TYPE job_duration_seconds histogram');
  });

  it('logs every failed attempt with the job, its queue and attempt and the error message, never the payload', async () => {
    const { queue, log, scrape, started } = setUp({
      work: {
        async run() {
          throw new Error('the store is away');
        },
      },
    });
    await started;
    await queue.enqueue('work', SECRET_PAYLOAD);
    await vi.waitFor(async () => expect(sample(await scrape(), 'jobs_total', { queue: 'work', outcome: 'failed' })).toBe(1));

    const failures = log.entries.filter((entry) => entry.queue === 'work');
    expect(failures).toEqual([
      expect.objectContaining({ level: 40, jobId: expect.any(String), queue: 'work', attempt: 1, maxAttempts: 2, error: 'the store is away' }),
      expect.objectContaining({ level: 50, jobId: failures[0]!.jobId, queue: 'work', attempt: 2, maxAttempts: 2, error: 'the store is away' }),
    ]);
    expect(log.lines.join('\n')).not.toContain('payload-that-must-not-be-logged');
  });

  it('passes a handler’s failure hook through, once the job has failed for good', async () => {
    const recorded: unknown[] = [];
    const { queue, started } = setUp({
      work: {
        async run() {
          throw new JobRefusedError('never runnable');
        },
        async failed(payload, error) {
          recorded.push([payload, error.message]);
        },
      },
    });
    await started;
    await queue.enqueue('work', { id: 1 });
    await vi.waitFor(() => expect(recorded).toEqual([[{ id: 1 }, 'never runnable']]));
  });

  it('reports the jobs waiting in every queue when scraped, and leaves out a queue that cannot answer', async () => {
    const queue = new InMemoryJobQueue();
    const instrumentation = createJobInstrumentation(queue, ['work', 'idle'], capturedLogger().logger);
    await queue.enqueue('work', { n: 1 });
    await queue.enqueue('work', { n: 2 });
    await queue.enqueue('work', { n: 3 }, { runAt: new Date(Date.now() + 60_000) });
    let text = await instrumentation.registry.metrics();
    expect(sample(text, 'jobs_waiting', { queue: 'work' })).toBe(2);
    expect(sample(text, 'jobs_waiting', { queue: 'idle' })).toBe(0);

    vi.spyOn(queue, 'waiting').mockImplementation(async (name) => {
      if (name === 'idle') throw new Error('queue unreachable');
      return 5;
    });
    text = await instrumentation.registry.metrics();
    expect(sample(text, 'jobs_waiting', { queue: 'work' })).toBe(5);
    expect(sample(text, 'jobs_waiting', { queue: 'idle' })).toBeUndefined();
  });
});
