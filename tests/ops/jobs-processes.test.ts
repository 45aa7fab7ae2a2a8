import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServerProcess } from '../../scripts/support/server-process.js';
import { fromEventData } from '../../src/adapters/persistence/knex/event-data.js';
import { fromDbTime } from '../../src/adapters/persistence/knex/sql-values.js';
import { call, expectCall, signUpOn } from '../support/instances.js';
import { processJobQueueKinds, seedTasks, startJobDeployment, type JobDeployment } from '../support/job-processes.js';

/**
 * Issue 16's promises about jobs, kept by real processes on every queue adapter: an API process
 * that runs no jobs, and worker processes killed, stopped and started beside it.
 */

/** JOB_LEASE of every process: a killed worker's job runs again this long after its last renewal. */
const LEASE_MS = 2_000;
/** Well within the default 30 s lease: recovering within it shows JOB_LEASE reached the adapter. */
const RECOVERY_BOUND_MS = 15_000;
/** API.md: a reminder's event is appended within this of its remind_at. */
const REMINDER_BOUND_MS = 5_000;

const isRunning = (worker: ServerProcess) => worker.child.exitCode === null && worker.child.signalCode === null;

/** One sample of a worker's /metrics, 0 when absent. */
async function metric(worker: ServerProcess, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${worker.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
/** The jobs of `queue` a worker has run to success. */
const completed = (worker: ServerProcess, queue: string) => metric(worker, 'jobs_total', `queue="${queue}",outcome="completed"`);

interface FiredReminder {
  taskId: number;
  remindAt: number;
  occurredAt: number;
}

/** The user's task.reminder events, read from the change log itself. */
async function remindersOf(db: Knex, userId: number): Promise<FiredReminder[]> {
  const rows = await db('events').where({ user_id: userId, type: 'task.reminder' }).orderBy('position').select<{ data: string; occurred_at: string | Date }[]>('data', 'occurred_at');
  return rows.map((row) => {
    const { task } = fromEventData(row.data) as { task: { id: number; remindAt: Date } };
    return { taskId: task.id, remindAt: task.remindAt.getTime(), occurredAt: fromDbTime(row.occurred_at).getTime() };
  });
}

/** Resolves once the clock has passed `time`: for what must happen while no process runs. */
const clockPast = (time: number) => vi.waitFor(() => expect(Date.now()).toBeGreaterThan(time), { timeout: Math.max(0, time - Date.now()) + 1_000, interval: 50 });

/** Runs `work` over `items`, `limit` at a time. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

describe.each(processJobQueueKinds())('jobs across processes on %s', (kind) => {
  let deployment: JobDeployment;
  let api: ServerProcess;
  /**
   * The workers up now. Each test works with whatever workers the one before left running
   * (starting those it lacks), so that the suite pays for few process start-ups.
   */
  let workers: ServerProcess[] = [];

  /** Resolves once a worker's log says which queue it runs: it must be this suite's kind. */
  const runsThisKind = (worker: ServerProcess) => worker.waitForOutput(new RegExp(`"jobQueue":"${kind}"[^\\n]*"msg":"running jobs"`));

  async function startWorker(): Promise<ServerProcess> {
    const worker = await deployment.startWorker();
    await runsThisKind(worker);
    return worker;
  }

  /** Every worker up, at least `count` of them. */
  async function workersUp(count: number): Promise<ServerProcess[]> {
    workers = workers.filter(isRunning);
    workers.push(...(await Promise.all(Array.from({ length: Math.max(0, count - workers.length) }, startWorker))));
    return [...workers];
  }

  beforeAll(async () => {
    deployment = await startJobDeployment(kind, { env: { JOB_LEASE: `${LEASE_MS / 1000}s` }, workers: 2 });
    api = deployment.api;
    await Promise.all(deployment.workers.map(runsThisKind));
    workers = [...deployment.workers];
  }, 30_000);
  afterAll(() => deployment?.stop());

  it('fires every reminder exactly once with two workers competing for them, some due at write time, the rest within 2 s', async () => {
    const REMINDERS = 200;
    const [one, two] = await workersUp(2);
    const user = await signUpOn(api);
    const created = await inParallel(Array.from({ length: REMINDERS }, (_, i) => i), 8, async (i) => {
      // A quarter were due before they were written; the others fall due one after another.
      const remindAt = i % 4 === 0 ? Date.now() - 60_000 : Date.now() + 250 + (i % 8) * 200;
      const { body } = await expectCall(201, api, 'POST', '/tasks', user.token, { title: `Remind me ${i}`, remind_at: new Date(remindAt).toISOString() });
      return { id: body.id as number, remindAt: Date.parse(body.remind_at as string), writtenAt: Date.now() };
    });

    const firedTasks = async () => new Set((await remindersOf(deployment.db, user.id)).map((reminder) => reminder.taskId)).size;
    await vi.waitFor(async () => expect(await firedTasks()).toBe(REMINDERS), { timeout: 20_000, interval: 100 });
    // Every reminder job has run, on one worker or the other. A second run of one (after a lease
    // lapsed) would append its event now, if it were to: the log is read again a lease later.
    await vi.waitFor(async () => expect((await completed(one!, 'reminders')) + (await completed(two!, 'reminders'))).toBeGreaterThanOrEqual(REMINDERS), {
      timeout: 10_000,
      interval: 100,
    });
    await clockPast(Date.now() + LEASE_MS);

    const fired = await remindersOf(deployment.db, user.id);
    expect(fired.map((reminder) => reminder.taskId).sort((a, b) => a - b)).toEqual(created.map((task) => task.id).sort((a, b) => a - b));
    const byId = new Map(created.map((task) => [task.id, task]));
    for (const reminder of fired) {
      const task = byId.get(reminder.taskId)!;
      expect(reminder.remindAt).toBe(task.remindAt);
      // Never early; on time, counted from its write for a task written already due.
      expect(reminder.occurredAt).toBeGreaterThanOrEqual(task.remindAt);
      expect(reminder.occurredAt - Math.max(task.remindAt, task.writtenAt)).toBeLessThan(REMINDER_BOUND_MS);
    }
    // Both took part: the jobs were shared out, not run by one while the other idled.
    expect(await completed(one!, 'reminders')).toBeGreaterThan(0);
    expect(await completed(two!, 'reminders')).toBeGreaterThan(0);
  }, 60_000);

  it('loses no export to a kill -9 of every worker mid-job: a new worker writes the whole file', async () => {
    const TASKS = 15_000;
    const user = await signUpOn(api);
    const [, doomed] = await Promise.all([seedTasks(deployment.db, user.id, TASKS), workersUp(1)]);
    const seeded = await deployment.db('tasks').where({ user_id: user.id }).orderBy('id').select<{ id: number; title: string }[]>('id', 'title');

    const { body: started } = await expectCall(202, api, 'POST', '/exports', user.token, { format: 'json' });
    const status = async () => (await expectCall(200, api, 'GET', `/exports/${started.id}`, user.token)).body.status as string;
    await vi.waitFor(async () => expect(await status()).toBe('running'), { timeout: 20_000, interval: 10 });
    for (const worker of doomed) worker.child.kill('SIGKILL');
    for (const worker of doomed) expect((await worker.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    // The kill came mid-job: nothing finished it, and nothing will until a worker takes it over.
    expect(await status()).toBe('running');

    const [successor] = await workersUp(1);
    await vi.waitFor(async () => expect(await status()).not.toMatch(/^(queued|running)$/), { timeout: RECOVERY_BOUND_MS, interval: 50 });
    expect(Date.now() - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
    const { body: finished } = await expectCall(200, api, 'GET', `/exports/${started.id}`, user.token);
    expect(finished).toMatchObject({ status: 'succeeded' });
    expect(await completed(successor!, 'exports')).toBe(1);

    const download = await fetch(`${api.baseUrl}/exports/${started.id}/download`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(finished.size);
    const tasks = JSON.parse(bytes.toString('utf8')) as Array<Record<string, unknown>>;
    expect(tasks).toHaveLength(TASKS);
    expect(tasks.map(({ id, title }) => ({ id, title })).sort((a, b) => Number(a.id) - Number(b.id))).toEqual(seeded);
    for (const task of [tasks[0]!, tasks.at(-1)!]) {
      expect(task).toEqual({ ...(await expectCall(200, api, 'GET', `/tasks/${task.id}`, user.token)).body, attachments: [] });
    }
  }, 60_000);

  it('fires a reminder that fell due while every worker was stopped, once, when a worker comes back', async () => {
    const stopped = await workersUp(1);
    const user = await signUpOn(api);
    const { body: task } = await expectCall(201, api, 'POST', '/tasks', user.token, { title: 'Due while no one works', remind_at: new Date(Date.now() + 2_000).toISOString() });
    const remindAt = Date.parse(task.remind_at as string);
    for (const worker of stopped) worker.child.kill('SIGTERM');
    for (const worker of stopped) expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now()).toBeLessThan(remindAt);

    // It falls due with no worker running: nothing fires it.
    await clockPast(remindAt + 300);
    expect(await remindersOf(deployment.db, user.id)).toEqual([]);

    const [successor] = await workersUp(1);
    await vi.waitFor(async () => expect(await remindersOf(deployment.db, user.id)).toHaveLength(1), { timeout: 10_000, interval: 100 });
    // Its delayed job outlived the stop and ran on the new worker (which may find that its start-up sweep fired the reminder first).
    await vi.waitFor(async () => expect(await completed(successor!, 'reminders')).toBe(1), { timeout: 10_000, interval: 100 });
    expect(await remindersOf(deployment.db, user.id)).toEqual([{ taskId: task.id, remindAt, occurredAt: expect.any(Number) }]);
    expect((await call(api, 'GET', `/tasks/${task.id}`, user.token)).body.remind_at).toBe(task.remind_at);
  }, 30_000);
});
