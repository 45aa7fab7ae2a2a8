import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CHANGE_LOG,
  FireDueReminders,
  FireReminder,
  JOB_QUEUE,
  REMINDERS_QUEUE,
  reminderJob,
  reminderJobKey,
  type ChangeLog,
  type JobQueue,
  type JobWorker,
} from '../../src/application/index.js';
import { toEventDto } from '../../src/adapters/http/events/event-json.js';
import { availableEngines } from '../support/databases.js';
import { buildE2eApp, expectProblem, fieldsOf, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = ['memory' as const, ...(await availableEngines())];

type Body = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- task bodies are checked by assertions
type TaskBody = Record<string, any>;

const inSeconds = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString();

describe.each(engines)('task reminders on %s', (engine) => {
  let app: TestApp;
  let queue: JobQueue & { worker(): JobWorker };
  let workers: JobWorker[] = [];

  beforeAll(async () => {
    app = await buildE2eApp(engine);
    queue = app.container.resolve(JOB_QUEUE);
  });
  afterEach(async () => {
    for (const worker of workers) await worker.stop(5_000);
    workers = [];
  });
  afterAll(() => app.close());

  const call = (who: Account, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: method as 'GET', url, headers: { ...who.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as Body }) });
  async function write(who: Account, method: string, url: string, payload?: unknown): Promise<TaskBody> {
    const response = await call(who, method, url, payload);
    expect(response.statusCode, response.body).toBe(method === 'POST' ? 201 : 200);
    return json(response);
  }
  const create = (who: Account, body: Body = {}) => write(who, 'POST', '/tasks', { title: 'Call the bank', ...body });
  const read = (who: Account, id: number) => write(who, 'GET', `/tasks/${id}`);

  /** The data of the user's task.reminder events, as the event streams send them. */
  async function reminders(who: Account): Promise<Body[]> {
    const events = await app.container.resolve<ChangeLog>(CHANGE_LOG).readAfter(who.id, 0, 1_000);
    return events.filter((event) => event.type === 'task.reminder').map((event) => toEventDto(event)!.data);
  }
  /** Runs the reminders queue in this test, as a worker process would. */
  async function runReminders(): Promise<void> {
    const worker = queue.worker();
    workers.push(worker);
    await worker.start({ [REMINDERS_QUEUE]: app.container.resolve(FireReminder) });
  }
  /** Runs the job for `task`'s reminder at `remindAt` here and now, as a worker would. */
  const runJob = (task: TaskBody, remindAt: string) =>
    app.container.resolve(FireReminder).run(reminderJob({ userId: task.user_id, taskId: task.id, remindAt: new Date(remindAt) }).payload);

  describe('remind_at over HTTP', () => {
    it('round-trips on POST, PUT and PATCH: answered in UTC, cleared by null and by a PUT without it', async () => {
      const ada = await signUp(app);
      const created = await create(ada, { remind_at: '2026-12-01T09:00:00+01:00' });
      expect(created.remind_at).toBe('2026-12-01T08:00:00.000Z');
      expect(await read(ada, created.id)).toEqual(created);

      const patched = await write(ada, 'PATCH', `/tasks/${created.id}`, { remind_at: '2026-12-02T08:00:00Z' });
      expect(patched).toMatchObject({ remind_at: '2026-12-02T08:00:00.000Z', version: 2 });
      expect(await write(ada, 'PATCH', `/tasks/${created.id}`, { title: 'Call the bank at eight' })).toMatchObject({ remind_at: '2026-12-02T08:00:00.000Z', version: 3 });
      expect(await write(ada, 'PATCH', `/tasks/${created.id}`, { remind_at: null })).toMatchObject({ remind_at: null, version: 4 });

      expect(await write(ada, 'PUT', `/tasks/${created.id}`, { title: 'Call', remind_at: '2026-12-03T08:00:00Z' })).toMatchObject({ remind_at: '2026-12-03T08:00:00.000Z' });
      expect(await write(ada, 'PUT', `/tasks/${created.id}`, { title: 'Call' })).toMatchObject({ remind_at: null });
      expect(await create(ada)).toMatchObject({ remind_at: null });
    });

    it('keeps remind_at in the snapshots of task events and in an Idempotency-Key replay', async () => {
      const ada = await signUp(app);
      const headers = { 'idempotency-key': `reminders-${ada.id}` };
      const first = await call(ada, 'POST', '/tasks', { title: 'Pay rent', remind_at: '2026-12-01T08:00:00Z' }, headers);
      const replay = await call(ada, 'POST', '/tasks', { title: 'Pay rent', remind_at: '2026-12-01T08:00:00Z' }, headers);
      expect(json(replay)).toEqual(json(first));
      const task = json(first);
      const patched = await write(ada, 'PATCH', `/tasks/${task.id}`, { remind_at: '2026-12-01T07:00:00Z' });

      const events = await app.container.resolve<ChangeLog>(CHANGE_LOG).readAfter(ada.id, 0, 1_000);
      expect(events.map((event) => toEventDto(event))).toMatchObject([
        { type: 'task.created', data: { task } },
        { type: 'task.updated', data: { task: patched } },
      ]);
    });

    it.each<[string, string, Body]>([
      ['POST', 'a date without time', { remind_at: '2026-12-01' }],
      ['POST', 'a time without offset', { remind_at: '2026-12-01T10:00:00' }],
      ['POST', 'an impossible date', { remind_at: '2026-02-30T10:00:00Z' }],
      ['POST', 'the year 0', { remind_at: '0000-01-01T00:00:00Z' }],
      ['POST', 'a number', { remind_at: 1_764_576_000_000 }],
      ['PUT', 'words', { remind_at: 'tomorrow morning' }],
      ['PATCH', 'words', { remind_at: 'tomorrow morning' }],
      ['PATCH', 'a date without time', { remind_at: '2026-12-01' }],
    ])('refuses on %s %s with 422 naming remind_at, and changes nothing', async (method, _name, body) => {
      const ada = await signUp(app);
      const task = await create(ada, { remind_at: '2026-12-01T08:00:00Z' });
      const url = method === 'POST' ? '/tasks' : `/tasks/${task.id}`;
      const response = await call(ada, method, url, { ...(method === 'PATCH' ? {} : { title: 'Changed' }), ...body });
      expectProblem(response, 422);
      expect(fieldsOf(response)).toContain('remind_at');
      expect(await read(ada, task.id)).toEqual(task);
      expect(json(await call(ada, 'GET', '/tasks')).total).toBe(1);
    });

    it('is neither a filter nor a sort', async () => {
      const ada = await signUp(app);
      for (const query of ['remind_before=2026-12-01T00:00:00Z', 'remind_at=2026-12-01T00:00:00Z', 'sort=remind_at', 'sort=-remind_at']) {
        expectProblem(await call(ada, 'GET', `/tasks?${query}`), 422);
      }
    });
  });

  describe('firing', () => {
    it('appends one task.reminder at remind_at, with the task as GET shows it, and leaves the task as it was', async () => {
      const ada = await signUp(app);
      await runReminders();
      const task = await create(ada, { remind_at: inSeconds(0.5) });
      expect(await reminders(ada)).toEqual([]);
      await vi.waitFor(async () => expect(await reminders(ada)).toHaveLength(1), { timeout: 5_000, interval: 50 });
      const now = await read(ada, task.id);
      expect(now).toEqual(task);
      expect(await reminders(ada)).toEqual([{ task: now }]);
    });

    it('fires a time already past at once', async () => {
      const ada = await signUp(app);
      await runReminders();
      const task = await create(ada, { remind_at: inSeconds(-3600) });
      await vi.waitFor(async () => expect(await reminders(ada)).toEqual([{ task }]), { timeout: 5_000, interval: 50 });
    });

    it('reschedules: the old time does not fire, the new one does', async () => {
      const ada = await signUp(app);
      const old = inSeconds(3600);
      const task = await create(ada, { remind_at: old });
      await runReminders();
      const moved = await write(ada, 'PATCH', `/tasks/${task.id}`, { remind_at: inSeconds(-1) });
      await vi.waitFor(async () => expect(await reminders(ada)).toEqual([{ task: moved }]), { timeout: 5_000, interval: 50 });
      await runJob(task, old);
      expect(await reminders(ada)).toEqual([{ task: moved }]);
    });

    it('does not fire for a task that is done or deleted by then', async () => {
      const ada = await signUp(app);
      const remindAt = inSeconds(-1);
      const done = await create(ada, { remind_at: remindAt });
      await write(ada, 'PATCH', `/tasks/${done.id}`, { status: 'done' });
      const deleted = await create(ada, { remind_at: remindAt });
      expect((await call(ada, 'DELETE', `/tasks/${deleted.id}`)).statusCode).toBe(204);
      await runJob(done, remindAt);
      await runJob(deleted, remindAt);
      expect(await reminders(ada)).toEqual([]);
      // The done task's reminder is spent: it does not come back when the task is reopened.
      const reopened = await write(ada, 'PATCH', `/tasks/${done.id}`, { status: 'todo' });
      await runJob(reopened, remindAt);
      expect(await reminders(ada)).toEqual([]);
    });

    it('fires exactly once when several runs of one reminder race', async () => {
      const ada = await signUp(app);
      const remindAt = inSeconds(-1);
      const task = await create(ada, { remind_at: remindAt });
      const fireReminder = app.container.resolve(FireReminder);
      const job = { userId: ada.id, taskId: task.id, remindAt: new Date(remindAt) };
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => fireReminder.fire(job)));
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect(await reminders(ada)).toEqual([{ task }]);
    });

    it('is fired by the sweep when its job was lost, once', async () => {
      const ada = await signUp(app);
      const remindAt = inSeconds(-1);
      const task = await create(ada, { remind_at: remindAt });
      await queue.cancel(REMINDERS_QUEUE, reminderJobKey(task.id, new Date(remindAt)));
      const sweep = app.container.resolve(FireDueReminders);
      await sweep.execute();
      expect(await reminders(ada)).toEqual([{ task }]);
      await sweep.execute();
      await runJob(task, remindAt);
      expect(await reminders(ada)).toEqual([{ task }]);
    });

    it('changes nothing GET /sync reports', async () => {
      const ada = await signUp(app);
      const remindAt = inSeconds(-1);
      const task = await create(ada, { remind_at: remindAt });
      const full = await write(ada, 'GET', '/sync');
      expect(full.tasks).toEqual([task]);
      await runJob(task, remindAt);
      expect(await reminders(ada)).toHaveLength(1);
      expect(await write(ada, 'GET', `/sync?since=${encodeURIComponent(full.sync_token)}`)).toMatchObject({ tasks: [], deleted: [], has_more: false });
    });
  });
});
