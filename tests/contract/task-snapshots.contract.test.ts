import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/domain/index.js';
import { exportStoreKinds, openExportStores, type ExportStores } from '../support/export-stores.js';
import { aNewTask } from '../support/task-builders.js';

const kinds = await exportStoreKinds();

const T0 = new Date('2026-12-09T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function collect(pages: AsyncIterable<Iterable<Task>>): Promise<Task[][]> {
  const all: Task[][] = [];
  for await (const page of pages) all.push([...page]);
  return all;
}

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

  it('reads every task of the user, oldest first, in pages of at most the page size', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const created = await tasksOf(owner, 7);
    await tasksOf(other, 2);
    const pages = await collect(stores.snapshots.eachPage(owner, 3));
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(created);
    expect(await collect(stores.snapshots.eachPage(owner, 7))).toEqual([created]);
  });

  it('reads no page for a user without tasks', async () => {
    expect(await collect(stores.snapshots.eachPage(await stores.newUser(), 10))).toEqual([]);
  });

  // An in-memory SQLite database has one connection: a write would wait for the snapshot to end.
  it.skipIf(kind === 'sqlite-memory')('reads the tasks as of the first page while writes commit beside it, without waiting for it', async () => {
    const owner = await stores.newUser();
    const created = await tasksOf(owner, 6);
    const pages = stores.snapshots.eachPage(owner, 2)[Symbol.asyncIterator]();
    const first = await pages.next();
    expect([...(first.value as Iterable<Task>)]).toEqual(created.slice(0, 2));

    // Committed while the snapshot is open: a change to a task of a later page, a deletion, a new task.
    const changed = created[4]!;
    expect(await stores.tasks.update(owner, changed.id, 1, { ...changed, title: 'changed meanwhile', version: 2, updatedAt: at(60_000) })).not.toBeNull();
    expect(await stores.tasks.delete(owner, created[3]!.id)).toBe(true);
    await stores.tasks.create(aNewTask(owner, { title: 'created meanwhile', createdAt: at(60_000) }));

    const rest: Task[] = [];
    for (let page = await pages.next(); !page.done; page = await pages.next()) rest.push(...page.value);
    expect(rest).toEqual(created.slice(2));
    // A snapshot taken now sees all of it.
    const now = (await collect(stores.snapshots.eachPage(owner, 100))).flat();
    expect(now.map((task) => task.title)).toEqual(['task 0', 'task 1', 'task 2', 'changed meanwhile', 'task 5', 'created meanwhile']);
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
    expect((await collect(stores.snapshots.eachPage(owner, 100))).flat()).toHaveLength(6);
  });
});
