import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { migrationSource } from '../../migrations/index.js';
import type { JobContext, JobHandler, JobWorker } from '../../src/application/index.js';
import { EmbeddedJobQueue, type EmbeddedJobQueueOptions } from '../../src/adapters/jobs/embedded-job-queue.js';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { availableEngines, openTestDatabase } from '../support/databases.js';

const engines = await availableEngines();
const SOON = { timeout: 5_000, interval: 10 };
const QUICK: EmbeddedJobQueueOptions = { attempts: 3, backoffMs: 20, concurrency: 1, leaseMs: 300, pollMs: 20 };

interface JobRow {
  state: string;
  attempts: number;
  last_error: string | null;
  failed_at: number | null;
  lease_token: string | null;
}

/**
 * What the contract suite cannot see: the rows the queue leaves, the worker of a process that
 * died on its last attempt, a lease taken over, and two processes on one SQLite file.
 */
describe('EmbeddedJobQueue on an SQLite file', () => {
  let dir: string;
  let filename: string;
  /** The file as the test reads it. */
  let db: Knex;
  /** Queues as processes on the same file hold them, each on its own connection. */
  const processes: Array<{ db: Knex; queue: EmbeddedJobQueue; workers: JobWorker[] }> = [];
  const releases: Array<() => void> = [];

  const openProcess = (options: EmbeddedJobQueueOptions = QUICK) => {
    const connection = createDatabase({ kind: 'sqlite', filename });
    const queue = new EmbeddedJobQueue(connection, options);
    const instance = {
      db: connection,
      queue,
      workers: [] as JobWorker[],
      start: async (handlers: Record<string, JobHandler>) => {
        const worker = queue.worker();
        instance.workers.push(worker);
        await worker.start(handlers);
        return worker;
      },
      /** Ends like a killed process: no stop, nothing handed back. */
      die: async () => {
        await queue.close();
        processes.splice(processes.indexOf(instance), 1);
        await connection.destroy();
      },
    };
    processes.push(instance);
    return instance;
  };
  const hang = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      releases.push(resolve);
      signal.addEventListener('abort', () => resolve());
    });
  const jobRows = (queue: string): Promise<JobRow[]> => db('jobs').where({ queue }).select('state', 'attempts', 'last_error', 'failed_at', 'lease_token');

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-jobs-'));
    filename = path.join(dir, 'jobs.sqlite');
    db = createDatabase({ kind: 'sqlite', filename });
    await migrateToLatest(db);
  });
  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    for (const instance of processes.splice(0)) {
      await Promise.all(instance.workers.map((worker) => worker.stop(1_000)));
      await instance.queue.close();
      await instance.db.destroy();
    }
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes a job that succeeded and keeps a failed one with its last error, without its payload', async () => {
    const { queue, start } = openProcess();
    const failedCalls: string[] = [];
    await start({
      ok: { run: async () => {} },
      doomed: { run: async (_payload, context) => Promise.reject(new Error(`refused on attempt ${context.attempt}`)), failed: async () => void failedCalls.push('failed') },
    });
    await queue.enqueue('ok', { secret: 's3cr3t' }, { key: 'ok-1' });
    await queue.enqueue('doomed', { secret: 's3cr3t' }, { key: 'doomed-1' });
    await vi.waitFor(() => expect(failedCalls).toEqual(['failed']), SOON);
    await vi.waitFor(async () => expect(await jobRows('ok')).toEqual([]), SOON);
    const [failed] = await jobRows('doomed');
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, last_error: 'refused on attempt 3', lease_token: null });
    expect(failed!.failed_at).toEqual(expect.any(Number));
  });

  it('logs a failed() that threw by job and message, never the payload', async () => {
    const warnings: string[] = [];
    const { queue, start } = openProcess({ ...QUICK, attempts: 1, log: { warn: (message) => void warnings.push(message) } });
    await start({ doomed: { run: async () => Promise.reject(new Error('boom')), failed: async () => Promise.reject(new Error('cannot record it')) } });
    await queue.enqueue('doomed', { secret: 's3cr3t' });
    await vi.waitFor(() => expect(warnings.join('\n')).toContain('cannot record it'), SOON);
    expect(warnings.join('\n')).toMatch(/^job doomed\/[0-9a-f-]{36}: its failed\(\) threw: cannot record it$/m);
    expect(warnings.join('\n')).not.toContain('s3cr3t');
  });

  it('counts a run whose worker died as an attempt; a death on the last attempt fails the job and calls failed()', async () => {
    const options = { ...QUICK, attempts: 2 };
    const attempts: number[] = [];
    const failures: Array<{ message: string; attempt: number }> = [];
    const handler: JobHandler = {
      run: async (_payload, context) => {
        attempts.push(context.attempt);
        await hang(context.signal);
      },
      failed: async (_payload, error, context) => void failures.push({ message: error.message, attempt: context.attempt }),
    };
    const first = openProcess(options);
    await first.start({ work: handler });
    await first.queue.enqueue('work', { n: 1 });
    await vi.waitFor(() => expect(attempts).toEqual([1]), SOON);
    await first.die();

    const second = openProcess(options);
    await second.start({ work: handler });
    await vi.waitFor(() => expect(attempts).toEqual([1, 2]), SOON);
    await second.die();

    const third = openProcess(options);
    await third.start({ work: handler });
    await vi.waitFor(() => expect(failures).toHaveLength(1), SOON);
    expect(failures[0]).toEqual({ message: 'its worker stopped responding on the last of 2 attempts', attempt: 2 });
    expect(attempts).toEqual([1, 2]);
    expect(await jobRows('work')).toEqual([expect.objectContaining({ state: 'failed', attempts: 2 })]);
  });

  it('aborts a run whose lease another worker took over, and lets only the new holder settle the job', async () => {
    const runs: JobContext[] = [];
    const slow = openProcess({ ...QUICK, leaseMs: 150 });
    await slow.start({
      work: {
        run: async (_payload, context) => {
          runs.push(context);
          await hang(context.signal);
        },
      },
    });
    await slow.queue.enqueue('work', { n: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(1), SOON);
    // As if the slow process had stalled past its lease: another one claims the job.
    await db('jobs').where({ queue: 'work' }).update({ lease_until: 0 });
    let releaseSecond!: () => void;
    const other = openProcess({ ...QUICK, leaseMs: 5_000 });
    await other.start({
      work: {
        run: async (_payload, context) => {
          runs.push(context);
          await new Promise<void>((resolve) => (releaseSecond = resolve));
        },
      },
    });
    await vi.waitFor(() => expect(runs).toHaveLength(2), SOON);
    await vi.waitFor(() => expect(runs[0]!.signal.aborted).toBe(true), SOON);
    // The aborted run has returned; the job is still the other worker's.
    expect(await jobRows('work')).toEqual([expect.objectContaining({ state: 'active', attempts: 2 })]);
    releaseSecond();
    await vi.waitFor(async () => expect(await jobRows('work')).toEqual([]), SOON);
  });

  it('wakes its own workers at once for a job enqueued through the same queue', async () => {
    const { queue, start } = openProcess({ ...QUICK, pollMs: 60_000 });
    const ran: unknown[] = [];
    await start({ work: { run: async (payload) => void ran.push(payload) } });
    await vi.waitFor(async () => expect(await db('jobs').count({ n: '*' }).first()).toEqual({ n: 0 }), SOON);
    await queue.enqueue('work', { n: 1 });
    await vi.waitFor(() => expect(ran).toEqual([{ n: 1 }]), { timeout: 2_000, interval: 10 });
  });

  it('keeps the nearer tick when a schedule is declared again, so frequent restarts never postpone it', async () => {
    const { queue, start } = openProcess();
    const ran: number[] = [];
    const declared = Date.now();
    await queue.repeat('housekeeping', { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 200 });
    await queue.repeat('housekeeping', { chore: 'purge' }, { key: 'housekeeping-purge', everyMs: 3_600_000 });
    await start({ housekeeping: { run: async () => void ran.push(Date.now()) } });
    await vi.waitFor(() => expect(ran).toHaveLength(1), SOON);
    expect(ran[0]! - declared).toBeGreaterThanOrEqual(200);
    expect(await db('job_schedules').select('every_ms')).toEqual([{ every_ms: 3_600_000 }]);
  });

  it('refuses a schedule without a positive whole interval', async () => {
    const { queue } = openProcess();
    for (const everyMs of [0, -5, 1.5, Number.NaN]) await expect(queue.repeat('housekeeping', {}, { key: 'k', everyMs })).rejects.toThrow(TypeError);
  });

  it('on two connections to one file (two processes), runs every job once and never one twice at once', async () => {
    const options = { ...QUICK, concurrency: 3, leaseMs: 1_000 };
    const [one, two] = [openProcess(options), openProcess(options)];
    const running = new Set<number>();
    const runs: number[] = [];
    const overlaps: number[] = [];
    const handler: JobHandler = {
      run: async (payload) => {
        const { n } = payload as { n: number };
        if (running.has(n)) overlaps.push(n);
        running.add(n);
        runs.push(n);
        await new Promise((resolve) => setTimeout(resolve, 3));
        running.delete(n);
      },
    };
    await Promise.all([one.start({ work: handler }), two.start({ work: handler })]);
    const jobs = Array.from({ length: 40 }, (_, n) => n);
    await Promise.all(jobs.map((n) => (n % 2 ? one : two).queue.enqueue('work', { n }, { key: `job-${n}` })));
    await vi.waitFor(() => expect(runs).toHaveLength(jobs.length), { timeout: 10_000, interval: 10 });
    expect([...runs].sort((a, b) => a - b)).toEqual(jobs);
    expect(overlaps).toEqual([]);
    await vi.waitFor(async () => expect(await db('jobs').count({ n: '*' }).first()).toEqual({ n: 0 }), SOON);
  });

  it('on two processes polling one file, fires each tick of a schedule once', async () => {
    const everyMs = 150;
    const [one, two] = [openProcess(), openProcess()];
    const ticks: Array<{ at: number; jobId: string }> = [];
    const handler: JobHandler = { run: async (_payload, context) => void ticks.push({ at: Date.now(), jobId: context.jobId }) };
    await one.queue.repeat('housekeeping', { chore: 'due-reminders' }, { key: 'housekeeping-due-reminders', everyMs });
    await two.queue.repeat('housekeeping', { chore: 'due-reminders' }, { key: 'housekeeping-due-reminders', everyMs });
    await Promise.all([one.start({ housekeeping: handler }), two.start({ housekeeping: handler })]);
    await vi.waitFor(() => expect(ticks.length).toBeGreaterThanOrEqual(5), SOON);
    const gaps = ticks.slice(1).map((tick, i) => tick.at - ticks[i]!.at);
    // Two processes firing one tick would run it twice within a poll of each other.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(everyMs / 3);
    expect(new Set(ticks.map((tick) => tick.jobId)).size).toBe(ticks.length);
  });

  it('claims through indexes: the next job is the first row read, however many jobs wait', async () => {
    const claims: Array<{ sql: string; bindings: readonly unknown[] }> = [];
    const instance = openProcess();
    instance.db.on('query', (query: { sql: string; bindings?: readonly unknown[] }) => {
      if (/^update `jobs` set `state` = \?/.test(query.sql)) claims.push({ sql: query.sql, bindings: query.bindings ?? [] });
    });
    for (let n = 0; n < 50; n++) await instance.queue.enqueue(`queue-${n % 3}`, { n });
    const ran: unknown[] = [];
    const handler: JobHandler = { run: async (payload) => void ran.push(payload) };
    // Several queues, as the service's worker has: one index range per queue could not give the oldest job first.
    await instance.start({ 'queue-0': handler, 'queue-1': handler, 'queue-2': handler });
    await vi.waitFor(() => expect(ran).toHaveLength(50), SOON);

    const plan = (await db.raw(`explain query plan ${claims[0]!.sql}`, claims[0]!.bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
    const steps = plan.map((step) => step.detail);
    expect(steps).toContainEqual(expect.stringContaining('USING INDEX jobs_state_run_at'));
    expect(steps).toContainEqual(expect.stringContaining('USING INDEX jobs_state_lease_until'));
    // A scan or a sort would read every waiting job for each claim: n jobs due at once, n² work.
    expect(steps.filter((step) => /^SCAN|TEMP B-TREE/.test(step))).toEqual([]);
  });

  it('refuses jobs once closed', async () => {
    const { queue } = openProcess();
    await queue.close();
    await expect(queue.enqueue('work', { n: randomUUID() })).rejects.toThrow('the job queue is closed');
  });
});

describe.each(engines)('migration 012 on %s', (engine) => {
  it('creates the job tables, and its down drops them', async () => {
    const database = await openTestDatabase(engine);
    try {
      expect(await database.db.schema.hasTable('jobs')).toBe(true);
      expect(await database.db.schema.hasTable('job_schedules')).toBe(true);
      await database.db('jobs').insert({ id: randomUUID(), queue: 'q', key: 'k', payload: '{}', state: 'waiting', run_at: Date.now(), created_at: Date.now() });
      await expect(
        database.db('jobs').insert({ id: randomUUID(), queue: 'q', key: 'k', payload: '{}', state: 'waiting', run_at: Date.now(), created_at: Date.now() }),
      ).rejects.toThrow(/unique/i);
      await database.db.migrate.down({ migrationSource, name: '20261209_012_jobs' });
      expect(await database.db.schema.hasTable('jobs')).toBe(false);
      expect(await database.db.schema.hasTable('job_schedules')).toBe(false);
      await database.db.migrate.latest({ migrationSource });
      expect(await database.db.schema.hasTable('jobs')).toBe(true);
    } finally {
      await database.destroy();
    }
  });
});
