import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotTask } from '../../src/application/index.js';
import { attachmentBlobKey, type Attachment, type Task } from '../../src/domain/index.js';
import { exportStoreKinds, openExportStores, type ExportStores } from '../support/export-stores.js';
import { aNewTask } from '../support/task-builders.js';

const kinds = await exportStoreKinds();

const T0 = new Date('2026-12-09T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function collect(pages: AsyncIterable<Iterable<SnapshotTask>>): Promise<SnapshotTask[][]> {
  const all: SnapshotTask[][] = [];
  for await (const page of pages) all.push([...page]);
  return all;
}

const tasksIn = (pages: SnapshotTask[][]): Task[] => pages.flat().map((item) => item.task);

describe.each(kinds)('TaskSnapshots contract: %s', (kind) => {
  let stores: ExportStores;
  beforeAll(async () => {
    stores = await openExportStores(kind);
  });
  afterAll(() => stores.close());

  /** `count` tasks of the user, created a second apart (and two at the same time, so that ties are broken by id). */
  async function tasksOf(userId: number, count: number): Promise<Task[]> {
    const created: Task[] = [];
    for (let i = 0; i < count; i++) created.push(await stores.tasks.create(aNewTask(userId, { title: `task ${i}`, createdAt: at(Math.max(i, 1) * 1000), updatedAt: at(i * 1000) })));
    return created;
  }

  /** An attachment of the user's task, stored; created `ms` after T0 (its id decides between equal times). */
  async function attached(userId: number, taskId: number, ms: number, id: string = randomUUID()): Promise<Attachment> {
    const entity: Attachment = {
      id,
      userId,
      taskId,
      filename: `file ${ms}.txt`,
      contentType: 'text/plain; charset=utf-8',
      size: 3,
      sha256: 'c'.repeat(64),
      storageKey: attachmentBlobKey(userId, id),
      createdAt: at(ms),
    };
    expect(await stores.attachments.create(entity, Number.MAX_SAFE_INTEGER)).toBe('created');
    return entity;
  }

  it('reads every task of the user, oldest first, in pages of at most the page size', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const created = await tasksOf(owner, 7);
    await tasksOf(other, 2);
    const pages = await collect(stores.snapshots.eachPage(owner, 3));
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(created.map((task) => ({ task, attachments: [] })));
    expect(await collect(stores.snapshots.eachPage(owner, 7))).toEqual([created.map((task) => ({ task, attachments: [] }))]);
  });

  it('reads no page for a user without tasks', async () => {
    expect(await collect(stores.snapshots.eachPage(await stores.newUser(), 10))).toEqual([]);
  });

  it('reads each task with its own attachments, oldest first (ties by id), on every page', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const [a, b, c, d, e] = await tasksOf(owner, 5);
    const [others] = await tasksOf(other, 1);
    // Stored out of order: the snapshot orders them, not the insertion.
    const bLater = await attached(owner, b!.id, 5_000);
    const bTieSecond = await attached(owner, b!.id, 2_000, 'ffffffff-0000-4000-8000-000000000000');
    const bTieFirst = await attached(owner, b!.id, 2_000, '00000000-0000-4000-8000-000000000000');
    const onE = await attached(owner, e!.id, 1_000);
    await attached(other, others!.id, 1_000);

    const pages = await collect(stores.snapshots.eachPage(owner, 2));
    expect(pages).toEqual([
      [
        { task: a, attachments: [] },
        { task: b, attachments: [bTieFirst, bTieSecond, bLater] },
      ],
      [
        { task: c, attachments: [] },
        { task: d, attachments: [] },
      ],
      [{ task: e, attachments: [onE] }],
    ]);
    // Each task's attachments as the attachments' own listing has them.
    for (const { task, attachments } of pages.flat()) expect(attachments).toEqual(await stores.attachments.listOfTask(owner, task.id));
  });

  // An in-memory SQLite database has one connection: a write would wait for the snapshot to end.
  it.skipIf(kind === 'sqlite-memory')('reads the tasks as of the first page while writes commit beside it, without waiting for it', async () => {
    const owner = await stores.newUser();
    const created = await tasksOf(owner, 6);
    const pages = stores.snapshots.eachPage(owner, 2)[Symbol.asyncIterator]();
    const first = await pages.next();
    expect(tasksIn([[...(first.value as Iterable<SnapshotTask>)]])).toEqual(created.slice(0, 2));

    // Committed while the snapshot is open: a change to a task of a later page, a deletion, a new task.
    const changed = created[4]!;
    expect(await stores.tasks.update(owner, changed.id, 1, { ...changed, title: 'changed meanwhile', version: 2, updatedAt: at(60_000) })).not.toBeNull();
    expect(await stores.tasks.delete(owner, created[3]!.id)).toBe(true);
    await stores.tasks.create(aNewTask(owner, { title: 'created meanwhile', createdAt: at(60_000) }));

    const rest: Task[] = [];
    for (let page = await pages.next(); !page.done; page = await pages.next()) rest.push(...tasksIn([[...page.value]]));
    expect(rest).toEqual(created.slice(2));
    // A snapshot taken now sees all of it.
    const now = tasksIn(await collect(stores.snapshots.eachPage(owner, 100)));
    expect(now.map((task) => task.title)).toEqual(['task 0', 'task 1', 'task 2', 'changed meanwhile', 'task 5', 'created meanwhile']);
  });

  it.skipIf(kind === 'sqlite-memory')('reads the attachments of the same moment as their tasks: one is there exactly when it and its task both were', async () => {
    const owner = await stores.newUser();
    const created = await tasksOf(owner, 6);
    const kept = await attached(owner, created[3]!.id, 1_000);
    const deletedMeanwhile = await attached(owner, created[3]!.id, 2_000);
    const goesWithItsTask = await attached(owner, created[4]!.id, 1_000);
    const pages = stores.snapshots.eachPage(owner, 2)[Symbol.asyncIterator]();
    expect([...((await pages.next()).value as Iterable<SnapshotTask>)]).toEqual(created.slice(0, 2).map((task) => ({ task, attachments: [] })));

    // Committed while the snapshot is open, all to tasks of later pages: an attachment added and
    // one deleted, a task deleted with its attachment, a new task with one.
    await attached(owner, created[2]!.id, 3_000);
    expect(await stores.attachments.delete(owner, created[3]!.id, deletedMeanwhile.id)).not.toBeNull();
    expect(await stores.tasks.delete(owner, created[4]!.id)).toBe(true);
    const newTask = await stores.tasks.create(aNewTask(owner, { title: 'created meanwhile', createdAt: at(60_000) }));
    await attached(owner, newTask.id, 60_000);

    const rest: SnapshotTask[] = [];
    for (let page = await pages.next(); !page.done; page = await pages.next()) rest.push(...page.value);
    expect(rest).toEqual([
      { task: created[2], attachments: [] },
      { task: created[3], attachments: [kept, deletedMeanwhile] },
      { task: created[4], attachments: [goesWithItsTask] },
      { task: created[5], attachments: [] },
    ]);
    // A snapshot taken now sees all of it.
    const now = (await collect(stores.snapshots.eachPage(owner, 100))).flat();
    expect(now.map(({ task, attachments }) => [task.title, attachments.map((attachment) => attachment.filename)])).toEqual([
      ['task 0', []],
      ['task 1', []],
      ['task 2', ['file 3000.txt']],
      ['task 3', ['file 1000.txt']],
      ['task 5', []],
      ['created meanwhile', ['file 60000.txt']],
    ]);
  });

  it('lets go of what it holds when the reader stops early', async () => {
    const owner = await stores.newUser();
    await tasksOf(owner, 5);
    // More early exits than an SQLite read pool or a test PostgreSQL pool has connections.
    for (let i = 0; i < 12; i++) {
      for await (const page of stores.snapshots.eachPage(owner, 2)) {
        expect([...page]).toHaveLength(2);
        break;
      }
    }
    await stores.tasks.create(aNewTask(owner, { title: 'after', createdAt: at(90_000) }));
    expect(tasksIn(await collect(stores.snapshots.eachPage(owner, 100)))).toHaveLength(6);
  });
});
