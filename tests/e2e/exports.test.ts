import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BLOB_STORAGE,
  CHANGE_LOG,
  EXPORT_ENCODERS,
  EXPORT_REPOSITORY,
  ExpireExports,
  JOB_QUEUE,
  PurgeBlobGarbage,
  RunExport,
  TASK_SNAPSHOTS,
  TRANSACTION_RUNNER,
  type ChangeLog,
  type Clock,
  type TaskSnapshots,
} from '../../src/application/index.js';
import { toEventDto } from '../../src/adapters/http/events/event-json.js';
import { InMemoryJobQueue } from '../../src/adapters/jobs/in-memory-job-queue.js';
import { availableEngines } from '../support/databases.js';
import { aJobContext } from '../support/export-harness.js';
import { FixedClock } from '../support/fakes.js';
import { fileBody, type MultipartBody } from '../support/multipart.js';
import { bearer, buildE2eApp, expectProblem, fieldsOf, logInAdmin, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';
import { gate } from '../support/gate.js';

const engines = await availableEngines();

const DAY_MS = 24 * 60 * 60 * 1000;
const EXPORT_KEYS = ['completed_at', 'created_at', 'expires_at', 'format', 'id', 'size', 'status'];

describe.each(engines)('exports on %s', (engine) => {
  let app: TestApp;
  let dataDir: string;
  let queue: InMemoryJobQueue;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-exports-'));
    app = await buildE2eApp(engine, { DATA_DIR: dataDir });
    queue = app.container.resolve<InMemoryJobQueue>(JOB_QUEUE);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const resolve = <T>(token: symbol): T => app.container.resolve<T>(token);
  /** The handler as the container wires it, on other parts where a test says so. */
  const runExportWith = (parts: { snapshots?: TaskSnapshots; clock?: Clock; pageSize?: number } = {}) =>
    new RunExport(
      resolve(EXPORT_REPOSITORY),
      parts.snapshots ?? resolve(TASK_SNAPSHOTS),
      resolve(BLOB_STORAGE),
      resolve(EXPORT_ENCODERS),
      resolve(TRANSACTION_RUNNER),
      parts.clock ?? { now: () => new Date() },
      { ttlMs: DAY_MS, pageSize: parts.pageSize },
    );

  const requestExport = (account: Account, payload: unknown) => app.inject({ method: 'POST', url: '/exports', headers: account.auth, payload: payload as object });
  const getExport = (account: Account, id: string) => app.inject({ method: 'GET', url: `/exports/${id}`, headers: account.auth });
  const download = (account: Account, id: string) => app.inject({ method: 'GET', url: `/exports/${id}/download`, headers: account.auth });

  async function requested(account: Account, format: 'json' | 'csv'): Promise<Record<string, unknown> & { id: string }> {
    const response = await requestExport(account, { format });
    expect(response.statusCode, response.body).toBe(202);
    return json(response);
  }

  async function createTask(account: Account, payload: Record<string, unknown>): Promise<Record<string, unknown> & { id: number }> {
    const response = await app.inject({ method: 'POST', url: '/tasks', headers: account.auth, payload });
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  }

  async function taskAsServed(account: Account, id: number): Promise<Record<string, unknown>> {
    return json(await app.inject({ method: 'GET', url: `/tasks/${id}`, headers: account.auth }));
  }

  async function uploaded(account: Account, taskId: number, body: MultipartBody): Promise<Record<string, unknown> & { id: string }> {
    const response = await app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: { ...account.auth, ...body.headers }, payload: body.payload });
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  }

  /** A task as the export should hold it: as GET /tasks/{id} returns it, with what GET /tasks/{id}/attachments lists. */
  async function exportedTask(account: Account, id: number): Promise<Record<string, unknown>> {
    const attachments = json(await app.inject({ method: 'GET', url: `/tasks/${id}/attachments`, headers: account.auth })).items;
    return { ...(await taskAsServed(account, id)), attachments };
  }

  /** Runs the queued export jobs on a worker, as a worker process would, until these exports have finished. */
  async function runQueuedExports(account: Account, ...ids: string[]): Promise<void> {
    const worker = queue.worker();
    await worker.start({ exports: app.container.resolve(RunExport) });
    try {
      await vi.waitFor(
        async () => {
          for (const id of ids) expect(['succeeded', 'failed']).toContain(json(await getExport(account, id)).status);
        },
        { timeout: 10_000, interval: 20 },
      );
    } finally {
      await worker.stop(5_000);
    }
  }

  /** Every file under the blob storage's root, relative to it. */
  const filesOnDisk = (): string[] => {
    const root = path.join(dataDir, 'attachments'); // where the default STORAGE_URL keeps blobs
    try {
      return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
        .sort();
    } catch {
      return [];
    }
  };
  const fileOf = (id: string, format: string) => path.join('exports', `${id}.${format}`);
  /** Files that are neither an export's nor an attachment's bytes (the tests upload some): what nothing should leave. */
  const strayFiles = () => filesOnDisk().filter((file) => !file.startsWith('exports') && !file.startsWith('attachments'));

  async function eventsOf(account: Account) {
    const events = await resolve<ChangeLog>(CHANGE_LOG).readAfter(account.id, 0, 1_000);
    return events.filter((event) => event.type.startsWith('export.')).map(toEventDto);
  }

  it('exports every task as JSON, exactly as GET /tasks/{id} returns them, from 202 to the downloaded file', async () => {
    const ada = await signUp(app);
    const other = await signUp(app);
    const tasks = [
      await createTask(ada, { title: 'Buy milk', tags: ['home', 'errand'], due_date: '2026-12-24T18:00:00+01:00', priority: 'high' }),
      await createTask(ada, { title: 'Ünïcödé ✓ 日本語', description: 'two\nlines "quoted"', status: 'done' }),
      await createTask(ada, { title: 'Third' }),
    ];
    await createTask(other, { title: 'not Ada’s' });

    const response = await requestExport(ada, { format: 'json' });
    expect(response.statusCode, response.body).toBe(202);
    const queued = json(response);
    expect(Object.keys(queued).sort()).toEqual(EXPORT_KEYS);
    expect(queued).toMatchObject({ format: 'json', status: 'queued', completed_at: null, expires_at: null, size: null });
    expect(response.headers.location).toBe(`/exports/${queued.id}`);
    expect(json(await getExport(ada, queued.id))).toEqual(queued);

    await runQueuedExports(ada, queued.id);
    const done = json(await getExport(ada, queued.id));
    expect(done).toMatchObject({ id: queued.id, format: 'json', status: 'succeeded', created_at: queued.created_at });
    expect(Date.parse(done.expires_at) - Date.parse(done.completed_at)).toBe(DAY_MS);

    const file = await download(ada, queued.id);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="taskforge-export-${queued.id}.json"`);
    const served = await Promise.all(tasks.map(async (task) => ({ ...(await taskAsServed(ada, task.id)), attachments: [] })));
    expect(file.body).toBe(JSON.stringify(served));
    expect(file.rawPayload.byteLength).toBe(done.size);
    expect(Number(file.headers['content-length'])).toBe(done.size);
    expect(readFileSync(path.join(dataDir, 'attachments', fileOf(queued.id, 'json')))).toEqual(file.rawPayload);

    const second = await requested(ada, 'csv');
    expect(json(await app.inject({ method: 'GET', url: '/exports', headers: ada.auth })).items).toEqual([second, done]);
    expect(json(await app.inject({ method: 'GET', url: '/exports/', headers: other.auth })).items).toEqual([]);
  });

  it('exports each task’s attachments’ metadata exactly as the attachments API returns it, oldest first', async () => {
    const ada = await signUp(app);
    const other = await signUp(app);
    const bare = await createTask(ada, { title: 'no files' });
    const withFiles = await createTask(ada, { title: 'with files' });
    const third = await createTask(ada, { title: 'one file' });
    const report = await uploaded(ada, withFiles.id, fileBody('the report ✓', 'reports/../Q4 résumé.txt', 'Text/Plain; Charset="UTF-8"'));
    const image = await uploaded(ada, withFiles.id, fileBody(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'pixel.png', 'image/png'));
    const data = await uploaded(ada, third.id, fileBody('1,2,3\n', 'data.csv', null));
    const othersTask = await createTask(other, { title: 'not Ada’s' });
    await uploaded(other, othersTask.id, fileBody('secret', 'other.txt'));

    const { id } = await requested(ada, 'json');
    await runQueuedExports(ada, id);
    const file = await download(ada, id);
    expect(file.statusCode).toBe(200);
    const expected = await Promise.all([bare, withFiles, third].map((task) => exportedTask(ada, task.id)));
    expect(file.body).toBe(JSON.stringify(expected));
    const exported = JSON.parse(file.body) as Array<{ attachments: unknown[] }>;
    expect(exported.map((task) => task.attachments)).toEqual([[], [report, image], [data]]);
  });

  it('exports CSV by RFC 4180, with formulas defused, and appends export.completed with the export as GET shows it', async () => {
    const ada = await signUp(app);
    const plain = await createTask(ada, { title: 'Plain', tags: ['a', 'b'] });
    const formula = await createTask(ada, { title: '=SUM(A1:A9)', description: '+1 and, a comma', tags: ['@x', 'y'] });
    const quoted = await createTask(ada, { title: 'say "hi"', description: '-minus\r\nnew line', status: 'done', priority: 'urgent', due_date: '2026-12-31T23:59:59Z' });
    const at = (task: Record<string, unknown>) => `${task.created_at},${task.updated_at}`;

    const { id } = await requested(ada, 'csv');
    await runQueuedExports(ada, id);
    const file = await download(ada, id);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="taskforge-export-${id}.csv"`);
    const done = await taskAsServed(ada, quoted.id);
    expect(file.body).toBe(
      'id,title,description,status,priority,due_date,tags,completed_at,created_at,updated_at\r\n' +
        `${plain.id},Plain,,todo,medium,,a;b,,${at(plain)}\r\n` +
        `${formula.id},'=SUM(A1:A9),"'+1 and, a comma",todo,medium,,'@x;y,,${at(formula)}\r\n` +
        `${quoted.id},"say ""hi""","'-minus\r\nnew line",done,urgent,2026-12-31T23:59:59.000Z,,${done.completed_at},${at(quoted)}\r\n`,
    );

    const shown = json(await getExport(ada, id));
    expect(await eventsOf(ada)).toEqual([{ id: expect.any(String), type: 'export.completed', occurred_at: shown.completed_at, data: { export: shown } }]);
  });

  it('exports one moment’s tasks and attachments: writes committed while it runs are in none of it, and are not held up by it', async () => {
    const ada = await signUp(app);
    const tasks = [];
    for (const title of ['one', 'two', 'three', 'four', 'five']) tasks.push(await createTask(ada, { title }));
    const deletedMeanwhile = await uploaded(ada, tasks[2]!.id, fileBody('three', 'three.txt'));
    await uploaded(ada, tasks[4]!.id, fileBody('five', 'five.txt'));
    const before = await Promise.all(tasks.map((task) => exportedTask(ada, task.id)));
    expect(before.map((task) => (task.attachments as unknown[]).length)).toEqual([0, 0, 1, 0, 1]);

    const afterFirstPage = gate();
    const inner = resolve<TaskSnapshots>(TASK_SNAPSHOTS);
    const paused: TaskSnapshots = {
      async *eachPage(userId, pageSize) {
        let first = true;
        for await (const page of inner.eachPage(userId, pageSize)) {
          yield page;
          if (first) await afterFirstPage.pass();
          first = false;
        }
      },
    };
    const { id } = await requested(ada, 'json');
    const running = runExportWith({ snapshots: paused, pageSize: 2 }).run({ exportId: id, userId: ada.id }, aJobContext());
    await afterFirstPage.reached;

    const patched = await app.inject({ method: 'PATCH', url: `/tasks/${tasks[3]!.id}`, headers: ada.auth, payload: { title: 'four, changed meanwhile' } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/tasks/${tasks[4]!.id}`, headers: ada.auth })).statusCode).toBe(204);
    const six = await createTask(ada, { title: 'six, created meanwhile' });
    await uploaded(ada, six.id, fileBody('six', 'six.txt'));
    await uploaded(ada, tasks[3]!.id, fileBody('four', 'four.txt'));
    const removed = await app.inject({ method: 'DELETE', url: `/tasks/${tasks[2]!.id}/attachments/${deletedMeanwhile.id}`, headers: ada.auth });
    expect(removed.statusCode, removed.body).toBe(204);
    afterFirstPage.open();
    await running;

    expect((await download(ada, id)).body).toBe(JSON.stringify(before));
    expect((await taskAsServed(ada, tasks[3]!.id)).title).toBe('four, changed meanwhile');
  });

  it('answers 409 until the export has succeeded, and for one that failed, leaving no file behind', async () => {
    const ada = await signUp(app);
    await createTask(ada, { title: 'one' });
    await createTask(ada, { title: 'two' });
    await createTask(ada, { title: 'three' });
    const early = await requested(ada, 'csv');
    const problem = expectProblem(await download(ada, early.id), 409);
    expect(problem.type).toMatch(/export-not-ready$/);
    await runQueuedExports(ada, early.id);
    expect((await download(ada, early.id)).statusCode).toBe(200);

    // A job whose reads fail after a page has been written to disk, on a queue of its own: retried, then failed for good.
    const inner = resolve<TaskSnapshots>(TASK_SNAPSHOTS);
    const breaking: TaskSnapshots = {
      async *eachPage(userId, pageSize) {
        for await (const page of inner.eachPage(userId, pageSize)) {
          yield page;
          throw new Error('the database went away');
        }
      },
    };
    const failing = await requested(ada, 'json');
    const ownQueue = new InMemoryJobQueue({ attempts: 2, backoffMs: 1 });
    await ownQueue.enqueue('exports', { exportId: failing.id, userId: ada.id }, { key: `export-${failing.id}` });
    const worker = ownQueue.worker();
    await worker.start({ exports: runExportWith({ snapshots: breaking, pageSize: 1 }) });
    try {
      await vi.waitFor(async () => expect(json(await getExport(ada, failing.id)).status).toBe('failed'), { timeout: 10_000, interval: 20 });
    } finally {
      await worker.stop(5_000);
    }
    const failed = json(await getExport(ada, failing.id));
    expect(failed).toMatchObject({ status: 'failed', size: null, expires_at: null, completed_at: expect.any(String) });
    expectProblem(await download(ada, failing.id), 409);
    expect(filesOnDisk()).not.toContain(fileOf(failing.id, 'json'));
    expect(strayFiles()).toEqual([]);
    expect((await eventsOf(ada)).map((event) => [event?.type, event?.data])).toEqual([
      ['export.completed', { export: json(await getExport(ada, early.id)) }],
      ['export.failed', { export: failed }],
    ]);
  });

  it('shows another user’s export to no one else: 404 for it, its file and its listing', async () => {
    const ada = await signUp(app);
    const eve = await signUp(app);
    const { id } = await requested(ada, 'json');
    await runQueuedExports(ada, id);
    expectProblem(await getExport(eve, id), 404);
    expectProblem(await download(eve, id), 404);
    expect(json(await app.inject({ method: 'GET', url: '/exports', headers: eve.auth })).items).toEqual([]);
    expectProblem(await getExport(ada, '3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192'), 404);
    expectProblem(await download(ada, '3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192'), 404);
    for (const malformed of ['1', 'not-a-uuid', `${id}x`]) {
      const response = await getExport(ada, malformed);
      expectProblem(response, 422);
      expect(fieldsOf(response)).toEqual(['exportId']);
      expectProblem(await download(ada, malformed), 422);
    }
  });

  it('refuses a body that is not { format: json | csv } with a 422 naming the field, and creates nothing', async () => {
    const ada = await signUp(app);
    const cases: Array<[unknown, string[]]> = [
      [{ format: 'xml' }, ['format']],
      [{ format: 'JSON' }, ['format']],
      [{ format: 1 }, ['format']],
      [{}, ['format']],
      [{ format: 'json', user_id: 1 }, ['user_id']],
      [{ format: 'csv', status: 'succeeded' }, ['status']],
    ];
    for (const [payload, fields] of cases) {
      const response = await requestExport(ada, payload);
      expectProblem(response, 422);
      expect(fieldsOf(response), JSON.stringify(payload)).toEqual(fields);
    }
    expectProblem(await app.inject({ method: 'POST', url: '/exports', headers: { ...ada.auth, 'content-type': 'text/plain' }, payload: 'json' }), 415);
    expect(json(await app.inject({ method: 'GET', url: '/exports', headers: ada.auth })).items).toEqual([]);
  });

  it('needs tasks:write to start an export and tasks:read to see or download one', async () => {
    const ada = await signUp(app);
    const { id } = await requested(ada, 'csv');
    const tokenWith = async (scope: string) =>
      bearer(json(await app.inject({ method: 'POST', url: '/login', payload: { username: ada.username, password: ada.password, scope } })).access_token);
    const readOnly = await tokenWith('tasks:read');
    const writeOnly = await tokenWith('tasks:write');

    const refused = await app.inject({ method: 'POST', url: '/exports', headers: readOnly, payload: { format: 'csv' } });
    expectProblem(refused, 403);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:write"');
    expect((await app.inject({ method: 'POST', url: '/exports', headers: writeOnly, payload: { format: 'csv' } })).statusCode).toBe(202);
    for (const url of ['/exports', `/exports/${id}`, `/exports/${id}/download`]) {
      const response = await app.inject({ method: 'GET', url, headers: writeOnly });
      expectProblem(response, 403);
      expect(response.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:read"');
      expect((await app.inject({ method: 'GET', url, headers: readOnly })).statusCode).not.toBe(403);
      expectProblem(await app.inject({ method: 'GET', url }), 401);
    }
  });

  // Last: housekeeping sweeps every user's exports, those of the tests above included.
  it('answers 410 once the export has expired; housekeeping removes its file, then, a week later, the export', async () => {
    const ada = await signUp(app);
    await createTask(ada, { title: 'kept for a day' });
    const { id } = await requested(ada, 'csv');
    // Completed 25 hours ago, by the clock the job runs on: expired an hour ago.
    const yesterday = new FixedClock(new Date(Date.now() - 25 * 60 * 60 * 1000));
    await runExportWith({ clock: yesterday }).run({ exportId: id, userId: ada.id }, aJobContext());
    const expired = json(await getExport(ada, id));
    expect(expired).toMatchObject({ status: 'succeeded', completed_at: yesterday.now().toISOString() });
    expect(Date.parse(expired.expires_at)).toBeLessThan(Date.now());
    expect(filesOnDisk()).toContain(fileOf(id, 'csv'));

    const gone = expectProblem(await download(ada, id), 410);
    expect(gone.type).toMatch(/export-expired$/);

    const expire = app.container.resolve(ExpireExports);
    await expire.run(new Date());
    expect(filesOnDisk()).not.toContain(fileOf(id, 'csv'));
    expect(json(await getExport(ada, id))).toEqual(expired);
    expectProblem(await download(ada, id), 410);

    await expire.run(new Date(Date.now() + 8 * DAY_MS));
    expectProblem(await getExport(ada, id), 404);
    expect(strayFiles()).toEqual([]);
  });

  it('removes the file of a deleted user’s export at the next purge of blob garbage', async () => {
    const ada = await signUp(app);
    await createTask(ada, { title: 'exported, then the account goes' });
    const { id } = await requested(ada, 'json');
    await runQueuedExports(ada, id);
    expect(filesOnDisk()).toContain(fileOf(id, 'json'));

    const admin = await logInAdmin(app);
    expect((await app.inject({ method: 'DELETE', url: `/users/${ada.id}`, headers: admin.auth })).statusCode).toBe(204);
    await app.container.resolve(PurgeBlobGarbage).execute();
    expect(filesOnDisk()).not.toContain(fileOf(id, 'json'));
  });
});
