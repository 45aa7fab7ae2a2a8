import { describe, expect, it, vi } from 'vitest';
import { JobRefusedError, type TaskSnapshots } from '../../../src/application/index.js';
import type { DomainError} from '../../../src/domain/index.js';
import { ValidationError, type Task } from '../../../src/domain/index.js';
import { InMemoryJobQueue } from '../../../src/adapters/jobs/in-memory-job-queue.js';
import { DAY_MS, aJobContext, exportHarness, textOf } from '../../support/export-harness.js';
import { aNewTask, aPrincipal } from '../../support/task-builders.js';

const ada = aPrincipal(1);
const bob = aPrincipal(2);
const MINUTE = 60_000;

const codeOf = async (promise: Promise<unknown>) => ((await promise.then(() => null, (error: unknown) => error)) as DomainError | null)?.code;

async function withTasks(h: ReturnType<typeof exportHarness>, userId: number, titles: string[]): Promise<Task[]> {
  const created: Task[] = [];
  for (const [i, title] of titles.entries()) {
    created.push(await h.tasks.create(aNewTask(userId, { title, createdAt: new Date(h.clock.now().getTime() - (titles.length - i) * 1000) })));
  }
  return created;
}

describe('RequestExport', () => {
  it('records a queued export of the caller and enqueues its job under the export’s key', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'csv' });
    expect(requested).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), userId: 1, format: 'csv', status: 'queued', createdAt: h.clock.now(), completedAt: null, expiresAt: null, size: null, error: null,
    });
    expect(await h.exports.findById(1, requested.id)).toEqual(requested);
    expect(h.jobs.enqueued).toEqual([{ queue: 'exports', payload: { exportId: requested.id, userId: 1 }, options: { key: `export-${requested.id}` } }]);
  });

  it('refuses an unknown format and records nothing', async () => {
    const h = exportHarness();
    for (const format of ['xml', 'JSON', '', 42, null, undefined]) {
      await expect(h.requestExport.execute(ada, { format })).rejects.toEqual(ValidationError.field('format', 'must be one of: json, csv'));
    }
    expect(await h.exports.listOfUser(1, 10)).toEqual([]);
    expect(h.jobs.enqueued).toEqual([]);
  });

  it('keeps the export when the queue refuses its job, and reports the failure', async () => {
    const h = exportHarness();
    h.jobs.failWith = new Error('queue unreachable');
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    expect(await h.exports.findById(1, requested.id)).toMatchObject({ status: 'queued' });
    expect(h.enqueueFailures).toEqual([h.jobs.failWith]);
  });
});

describe('ListExports and GetExport', () => {
  it('lists the caller’s exports, newest first, and finds one only for its owner', async () => {
    const h = exportHarness();
    const older = await h.requestExport.execute(ada, { format: 'csv' });
    h.clock.advanceMs(1000);
    const newer = await h.requestExport.execute(ada, { format: 'json' });
    await h.requestExport.execute(bob, { format: 'json' });
    expect(await h.listExports.execute(ada)).toEqual([newer, older]);
    expect(await h.getExport.execute(ada, older.id)).toEqual(older);
    expect(await codeOf(h.getExport.execute(bob, older.id))).toBe('EXPORT_NOT_FOUND');
    expect(await codeOf(h.getExport.execute(ada, 'not an id'))).toBe('EXPORT_NOT_FOUND');
  });
});

describe('RunExport', () => {
  it('writes the file from the owner’s tasks, then marks the export succeeded and appends export.completed together', async () => {
    const h = exportHarness();
    await withTasks(h, 1, ['one', 'two', 'three']);
    await withTasks(h, 2, ['not ada’s']);
    const requested = await h.requestExport.execute(ada, { format: 'csv' });
    h.clock.advanceMs(5_000);
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext());

    const done = await h.getExport.execute(ada, requested.id);
    const { content } = await h.openExportDownload.execute(ada, requested.id);
    const file = await textOf(content);
    expect(file.split('\r\n').map((line) => line.split(',')[1])).toEqual(['title', 'one', 'two', 'three', undefined]);
    expect(done).toEqual({ ...requested, status: 'succeeded', completedAt: h.clock.now(), expiresAt: new Date(h.clock.now().getTime() + DAY_MS), size: Buffer.byteLength(file) });
    expect(h.storage.keys()).toEqual([`exports/${requested.id}.csv`]);
    const events = await h.log.readAfter(1, 0, 10);
    expect(events.map(({ type, occurredAt, payload }) => ({ type, occurredAt, payload }))).toEqual([{ type: 'export.completed', occurredAt: h.clock.now(), payload: { export: done } }]);
  });

  it('does nothing for an export that has finished (a job run again) or is gone', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext());
    const done = await h.getExport.execute(ada, requested.id);
    h.clock.advanceMs(1000);
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext({ attempt: 2 }));
    expect(await h.getExport.execute(ada, requested.id)).toEqual(done);
    expect(await h.log.readAfter(1, 0, 10)).toHaveLength(1);

    await h.runExport.run({ exportId: requested.id, userId: 2 }, aJobContext());
    const vanished = await h.requestExport.execute(bob, { format: 'json' });
    h.exports.deleteAllOf(2);
    await h.runExport.run({ exportId: vanished.id, userId: 2 }, aJobContext());
    expect(h.storage.keys()).toEqual([`exports/${requested.id}.json`]);
    expect(await h.log.readAfter(2, 0, 10)).toEqual([]);
  });

  it.each([
    ['nothing', undefined],
    ['a string', 'export'],
    ['no user', { exportId: '00000000-0000-4000-8000-000000000001' }],
    ['a user that is no id', { exportId: '00000000-0000-4000-8000-000000000001', userId: 0 }],
    ['a user as text', { exportId: '00000000-0000-4000-8000-000000000001', userId: '1' }],
    ['an export id that is no UUID', { exportId: '../../etc/passwd', userId: 1 }],
  ])('refuses a payload with %s, which no retry could mend', async (_what, payload) => {
    const h = exportHarness();
    await expect(h.runExport.run(payload, aJobContext())).rejects.toBeInstanceOf(JobRefusedError);
    await expect(h.runExport.failed(payload, new Error('refused'))).resolves.toBeUndefined();
  });

  it('leaves no file behind when an attempt fails midway, and the export running for the next attempt', async () => {
    let failing = true;
    const flaky = (inner: TaskSnapshots): TaskSnapshots => ({
      async *eachPage(userId, pageSize) {
        for await (const page of inner.eachPage(userId, pageSize)) {
          yield page;
          if (failing) throw new Error('connection lost');
        }
      },
    });
    const h = exportHarness({ snapshots: flaky });
    await withTasks(h, 1, ['a', 'b', 'c', 'd']);
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    await expect(h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext())).rejects.toThrow('connection lost');
    expect(h.storage.keys()).toEqual([]);
    expect(await h.getExport.execute(ada, requested.id)).toMatchObject({ status: 'running' });
    expect(await h.log.readAfter(1, 0, 10)).toEqual([]);

    failing = false;
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext({ attempt: 2 }));
    expect(JSON.parse(await textOf((await h.openExportDownload.execute(ada, requested.id)).content)).map((task: { title: string }) => task.title)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('stops between two pages when the worker asks for the job back, leaving no file', async () => {
    const worker = new AbortController();
    const stopsAfterFirstPage = (inner: TaskSnapshots): TaskSnapshots => ({
      async *eachPage(userId, pageSize) {
        for await (const page of inner.eachPage(userId, pageSize)) {
          yield page;
          worker.abort();
        }
      },
    });
    const h = exportHarness({ snapshots: stopsAfterFirstPage });
    await withTasks(h, 1, ['a', 'b', 'c']);
    const requested = await h.requestExport.execute(ada, { format: 'csv' });
    await expect(h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext({ signal: worker.signal }))).rejects.toThrow();
    expect(h.storage.keys()).toEqual([]);
    expect(await h.getExport.execute(ada, requested.id)).toMatchObject({ status: 'running' });
  });

  it('marks the export failed with export.failed once its job has failed for good, and removes any file', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'csv' });
    await h.exports.markRunning(1, requested.id);
    await h.storage.put(`exports/${requested.id}.csv`, (async function* () {
      yield Buffer.from('left over');
    })());
    h.clock.advanceMs(7_000);
    await h.runExport.failed({ exportId: requested.id, userId: 1 }, new Error('disk\u0000 full'));

    const failed = await h.getExport.execute(ada, requested.id);
    expect(failed).toEqual({ ...requested, status: 'failed', completedAt: h.clock.now(), error: 'disk  full' });
    expect(h.storage.keys()).toEqual([]);
    expect((await h.log.readAfter(1, 0, 10)).map(({ type, payload }) => ({ type, payload }))).toEqual([{ type: 'export.failed', payload: { export: failed } }]);
    // Told twice, it fails it once.
    await h.runExport.failed({ exportId: requested.id, userId: 1 }, new Error('again'));
    expect(await h.log.readAfter(1, 0, 10)).toHaveLength(1);
  });

  it('runs on a job queue: retried with backoff, then failed for good, with the one export.failed event', async () => {
    const h = exportHarness({
      snapshots: () => ({
        // eslint-disable-next-line require-yield -- a source that fails before its first page
        async *eachPage() {
          throw new Error('database down');
        },
      }),
    });
    const queue = new InMemoryJobQueue({ attempts: 3, backoffMs: 1 });
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    const run = vi.spyOn(h.runExport, 'run');
    await queue.enqueue('exports', { exportId: requested.id, userId: 1 }, { key: `export-${requested.id}` });
    const worker = queue.worker();
    await worker.start({ exports: h.runExport });
    try {
      await vi.waitFor(async () => expect((await h.getExport.execute(ada, requested.id)).status).toBe('failed'), { timeout: 5_000 });
    } finally {
      await worker.stop(1_000);
    }
    expect(run).toHaveBeenCalledTimes(3);
    expect((await h.log.readAfter(1, 0, 10)).map((event) => event.type)).toEqual(['export.failed']);
    expect(h.storage.keys()).toEqual([]);
  });
});

describe('OpenExportDownload', () => {
  it('answers 409 (not ready) for a queued, running or failed export and 404 for another user’s', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'csv' });
    expect(await codeOf(h.openExportDownload.execute(ada, requested.id))).toBe('EXPORT_NOT_READY');
    await h.exports.markRunning(1, requested.id);
    expect(await codeOf(h.openExportDownload.execute(ada, requested.id))).toBe('EXPORT_NOT_READY');
    await h.runExport.failed({ exportId: requested.id, userId: 1 }, new Error('x'));
    expect(await codeOf(h.openExportDownload.execute(ada, requested.id))).toBe('EXPORT_NOT_READY');
    expect(await codeOf(h.openExportDownload.execute(bob, requested.id))).toBe('EXPORT_NOT_FOUND');
  });

  it('hands out the file until the export expires, then answers 410 (expired)', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext());
    h.clock.advanceMs(DAY_MS - 1);
    expect(await textOf((await h.openExportDownload.execute(ada, requested.id)).content)).toBe('[]');
    h.clock.advanceMs(1);
    expect(await codeOf(h.openExportDownload.execute(ada, requested.id))).toBe('EXPORT_EXPIRED');
  });

  it('answers 410 for a succeeded export whose file is gone', async () => {
    const h = exportHarness();
    const requested = await h.requestExport.execute(ada, { format: 'json' });
    await h.runExport.run({ exportId: requested.id, userId: 1 }, aJobContext());
    await h.storage.delete(`exports/${requested.id}.json`);
    expect(await codeOf(h.openExportDownload.execute(ada, requested.id))).toBe('EXPORT_EXPIRED');
  });
});

describe('ExpireExports', () => {
  it('removes the file at expiry, forgets the export 7 days later, and a failed one 7 days after it failed', async () => {
    const h = exportHarness();
    const succeeded = await h.requestExport.execute(ada, { format: 'json' });
    await h.runExport.run({ exportId: succeeded.id, userId: 1 }, aJobContext());
    const failed = await h.requestExport.execute(ada, { format: 'csv' });
    await h.runExport.failed({ exportId: failed.id, userId: 1 }, new Error('x'));
    const start = h.clock.now().getTime();
    h.jobs.enqueued.length = 0;

    expect(await h.expireExports.run(new Date(start + DAY_MS - 1))).toBe(0);
    expect(h.storage.keys()).toEqual([`exports/${succeeded.id}.json`]);

    expect(await h.expireExports.run(new Date(start + DAY_MS))).toBe(1);
    expect(h.storage.keys()).toEqual([]);
    expect(await h.expireExports.run(new Date(start + DAY_MS))).toBe(0);
    expect((await h.listExports.execute(ada)).map((e) => e.id)).toEqual([failed.id, succeeded.id]);

    expect(await h.expireExports.run(new Date(start + 7 * DAY_MS + 1))).toBe(1);
    expect((await h.listExports.execute(ada)).map((e) => e.id)).toEqual([succeeded.id]);
    expect(await h.expireExports.run(new Date(start + 8 * DAY_MS + 1))).toBe(1);
    expect(await h.listExports.execute(ada)).toEqual([]);
    expect(h.jobs.enqueued).toEqual([]);
  });

  it('enqueues again the job of an export left queued for over 5 minutes', async () => {
    const h = exportHarness();
    h.jobs.failWith = new Error('queue down');
    const lost = await h.requestExport.execute(ada, { format: 'csv' });
    h.jobs.failWith = null;
    h.clock.advanceMs(4 * MINUTE);
    await h.requestExport.execute(ada, { format: 'csv' }); // queued 1 minute before the sweep: its job is still due
    h.jobs.enqueued.length = 0;

    expect(await h.expireExports.run(new Date(lost.createdAt.getTime() + 5 * MINUTE))).toBe(0);
    expect(await h.expireExports.run(new Date(lost.createdAt.getTime() + 5 * MINUTE + 1))).toBe(1);
    expect(h.jobs.enqueued).toEqual([{ queue: 'exports', payload: { exportId: lost.id, userId: 1 }, options: { key: `export-${lost.id}` } }]);
  });
});
