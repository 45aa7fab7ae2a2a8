import { beforeEach, describe, expect, it } from 'vitest';
import { ListTasks, type Principal, type SyncPage } from '../../../src/application/index.js';
import type { Task } from '../../../src/domain/index.js';
import { SEVEN_DAYS_MS, SyncClient, syncHarness } from '../../support/sync-harness.js';
import { aPrincipal, aTaskInput } from '../../support/task-builders.js';

const DAY_MS = 86_400_000;

describe('SyncTasks', () => {
  const ada = aPrincipal(1);
  const bob = aPrincipal(2);
  let h: ReturnType<typeof syncHarness>;

  beforeEach(() => {
    h = syncHarness();
  });

  const create = async (actor: Principal = ada, title = 'A task') => (await h.createTask.execute(actor, aTaskInput({ title }))).task;
  const createMany = async (count: number, actor: Principal = ada) => {
    const created: Task[] = [];
    for (let i = 0; i < count; i += 1) created.push(await create(actor, `task ${i}`));
    return created;
  };
  const serverTasks = async (actor: Principal = ada) =>
    (await h.tasks.findPage(actor.userId, { filter: {}, sort: { key: 'created_at', descending: false }, limit: 10_000 })).sort((a, b) => a.id - b.id);
  const sync = (actor: Principal, since: string | undefined, limit = 500) => h.syncTasks.execute(actor, { since, limit });
  const ids = (page: SyncPage) => page.tasks.map((task) => task.id);
  const rejects = async (promise: Promise<unknown>, code: string, field?: string) => {
    await expect(promise).rejects.toMatchObject({ code, ...(field ? { fieldErrors: [expect.objectContaining({ field })] } : {}) });
  };

  it('answers an empty account with an empty, finished full sync, and then with no changes', async () => {
    const first = await sync(ada, undefined);
    expect(first).toEqual({ tasks: [], deleted: [], syncToken: expect.any(String), hasMore: false, fullSync: true });
    expect(await sync(ada, first.syncToken)).toEqual({ tasks: [], deleted: [], syncToken: expect.any(String), hasMore: false, fullSync: false });
  });

  it('pages a full sync in creation order, only the caller\'s tasks, then carries on incrementally', async () => {
    const mine = await createMany(5);
    await create(bob);
    const client = new SyncClient(h.syncTasks, ada);
    const pages = await client.untilDone(2);
    expect(pages.map(ids)).toEqual([[mine[0]!.id, mine[1]!.id], [mine[2]!.id, mine[3]!.id], [mine[4]!.id]]);
    expect(pages.map((page) => [page.hasMore, page.fullSync, page.deleted])).toEqual([[true, true, []], [true, false, []], [false, false, []]]);
    expect(client.tasks()).toEqual(mine);

    const later = await create();
    const next = await client.page(2);
    expect(next).toMatchObject({ tasks: [later], deleted: [], hasMore: false, fullSync: false });
  });

  it('sends each changed task once, in its current state, and each deleted one as a tombstone with its time', async () => {
    const [kept, changed, removed] = await createMany(3);
    const { syncToken } = await sync(ada, undefined);

    h.clock.advanceSeconds(10);
    const added = await create(ada, 'added');
    await h.patchTask.execute(ada, changed!.id, { title: 'first change' });
    h.clock.advanceSeconds(10);
    const latest = await h.patchTask.execute(ada, changed!.id, { status: 'done' });
    h.clock.advanceSeconds(10);
    await h.deleteTask.execute(ada, removed!.id);

    const page = await sync(ada, syncToken);
    expect(page).toEqual({ tasks: [added, latest], deleted: [{ id: removed!.id, deletedAt: h.clock.now() }], syncToken: expect.any(String), hasMore: false, fullSync: false });
    expect(ids(page)).not.toContain(kept!.id);
    expect(latest).toMatchObject({ title: 'first change', status: 'done', version: 3 });
  });

  it('names a task created and deleted within the window only among the deleted', async () => {
    const { syncToken } = await sync(ada, undefined);
    const brief = await create();
    await h.patchTask.execute(ada, brief.id, { title: 'briefly changed' });
    h.clock.advanceSeconds(3);
    await h.deleteTask.execute(ada, brief.id);
    const deletedAt = h.clock.now();
    h.clock.advanceSeconds(3);
    expect(await sync(ada, syncToken)).toMatchObject({ tasks: [], deleted: [{ id: brief.id, deletedAt }], hasMore: false });
  });

  it('makes a tombstone of a task its events say exists but which is gone by the time it is read', async () => {
    const { syncToken } = await sync(ada, undefined);
    const task = await create();
    // Deleted after the page read the log: here, without an event at all, as if it had not committed yet.
    await h.tasks.delete(ada.userId, task.id);
    h.clock.advanceSeconds(5);
    expect(await sync(ada, syncToken)).toMatchObject({ tasks: [], deleted: [{ id: task.id, deletedAt: h.clock.now() }] });
  });

  it('counts tasks and tombstones against the limit, and a task\'s later events take no more room', async () => {
    const { syncToken } = await sync(ada, undefined);
    const a = await create(ada, 'a');
    for (let i = 0; i < 5; i += 1) await h.patchTask.execute(ada, a.id, { title: `a ${i}` });
    const b = await create(ada, 'b');
    await h.deleteTask.execute(ada, b.id);
    const c = await create(ada, 'c');

    const first = await sync(ada, syncToken, 1);
    expect(first).toMatchObject({ tasks: [{ id: a.id, title: 'a 4' }], deleted: [], hasMore: true });
    const second = await sync(ada, first.syncToken, 1);
    expect(second).toMatchObject({ tasks: [], deleted: [{ id: b.id }], hasMore: true });
    const third = await sync(ada, second.syncToken, 1);
    expect(third).toMatchObject({ tasks: [{ id: c.id }], deleted: [], hasMore: false });
    expect(await sync(ada, third.syncToken, 1)).toMatchObject({ tasks: [], deleted: [], hasMore: false });
  });

  it('finishes a full sync with the changes that raced it, tombstones for tasks sent earlier included', async () => {
    const [t1, t2, t3, t4] = await createMany(4);
    const client = new SyncClient(h.syncTasks, ada);
    expect(ids(await client.page(2))).toEqual([t1!.id, t2!.id]);

    await h.deleteTask.execute(ada, t1!.id);
    await h.patchTask.execute(ada, t2!.id, { title: 'changed after it was sent' });
    await h.patchTask.execute(ada, t4!.id, { title: 'changed before it was sent' });
    await h.deleteTask.execute(ada, t3!.id);
    const added = await create(ada, 'added during the scan');

    const rest = await client.untilDone(2);
    expect(rest.at(-1)!.hasMore).toBe(false);
    expect(rest.flatMap((page) => page.deleted.map((tombstone) => tombstone.id))).toContain(t1!.id);
    expect(client.tasks()).toEqual(await serverTasks());
    expect(client.tasks().map((task) => task.id)).toEqual([t2!.id, t4!.id, added.id]);
  });

  it('leaves tombstones out of the first page of a full sync, and the deleted tasks with them', async () => {
    const [gone, kept] = await createMany(2);
    // A delete committed after the head was read but before the scan: the first page sees both.
    const head = h.log.head.bind(h.log);
    h.log.head = async (userId) => {
      const position = await head(userId);
      h.log.head = head;
      await h.deleteTask.execute(ada, gone!.id);
      return position;
    };
    const page = await sync(ada, undefined);
    expect(page).toMatchObject({ tasks: [kept], deleted: [], hasMore: false, fullSync: true });
  });

  it('reads a bounded number of events per page, however few tasks they name', async () => {
    const { syncToken } = await sync(ada, undefined);
    const task = await create();
    for (let i = 0; i < 12_000; i += 1) h.log.append({ type: 'task.updated', userId: ada.userId, occurredAt: h.clock.now(), payload: { task } });
    const first = await sync(ada, syncToken);
    expect(first).toMatchObject({ tasks: [task], deleted: [], hasMore: true });
    expect(await sync(ada, first.syncToken)).toMatchObject({ tasks: [task], deleted: [], hasMore: false });
  });

  it('skips events that are not about tasks, and moves past them', async () => {
    const { syncToken } = await sync(ada, undefined);
    h.log.append({ type: 'export.completed', userId: ada.userId, occurredAt: h.clock.now(), payload: { export: { id: 'e1' } } });
    const page = await sync(ada, syncToken);
    expect(page).toMatchObject({ tasks: [], deleted: [], hasMore: false });
    const task = await create();
    expect(await sync(ada, page.syncToken)).toMatchObject({ tasks: [task], deleted: [] });
  });

  it('takes a limit from 1 to 1000 and refuses anything else naming limit', async () => {
    for (const limit of [0, -1, 1001, 1.5, Number.NaN]) await rejects(sync(ada, undefined, limit), 'VALIDATION_FAILED', 'limit');
    await createMany(2);
    expect((await sync(ada, undefined, 1)).tasks).toHaveLength(1);
    expect((await sync(ada, undefined, 1000)).tasks).toHaveLength(2);
  });

  it('refuses (422, since) a token of another user, an altered or made-up one, and a list cursor', async () => {
    await createMany(3);
    const bobs = await sync(bob, undefined);
    await rejects(sync(ada, bobs.syncToken), 'VALIDATION_FAILED', 'since');
    const scanning = await sync(bob, undefined, 1);
    await rejects(sync(ada, scanning.syncToken), 'VALIDATION_FAILED', 'since');

    const mine = await sync(ada, undefined);
    const [body, tag] = mine.syncToken.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...payload, p: 0 })).toString('base64url')}.${tag}`;
    for (const token of [forged, `${mine.syncToken}x`, 'not-a-token', '1', h.codec.encode({ v: 1, k: 'sync', u: 1 })]) {
      await rejects(sync(ada, token), 'VALIDATION_FAILED', 'since');
    }
    const cursor = (await new ListTasks(h.tasks, h.codec).execute(ada, { limit: 1 })).nextCursor!;
    await rejects(sync(ada, cursor), 'VALIDATION_FAILED', 'since');
  });

  it('answers a token older than the retention with 410, even with nothing purged', async () => {
    const { syncToken } = await sync(ada, undefined);
    h.clock.advanceMs(SEVEN_DAYS_MS);
    expect(await sync(ada, syncToken)).toMatchObject({ hasMore: false });
    h.clock.advanceMs(1);
    await rejects(sync(ada, syncToken), 'HISTORY_GONE');
  });

  /** Three tasks created on day 0; a token issued on day 6 that has consumed only the first. */
  async function aYoungTokenBehindOldEvents(): Promise<string> {
    const start = (await sync(ada, undefined)).syncToken;
    await createMany(3);
    h.clock.advanceMs(6 * DAY_MS);
    const first = await sync(ada, start, 1);
    expect(first.hasMore).toBe(true);
    return first.syncToken;
  }

  it('answers 410 when every event after a young token has been purged', async () => {
    const token = await aYoungTokenBehindOldEvents();
    h.clock.advanceMs(2 * DAY_MS);
    expect(await h.purge.execute()).toEqual({ events: 3, tickets: 0 });
    await rejects(sync(ada, token), 'HISTORY_GONE');
  });

  it('answers 410 when some of the events after a young token have been purged', async () => {
    const token = await aYoungTokenBehindOldEvents();
    await create(); // day 6: outlives the purge
    h.clock.advanceMs(2 * DAY_MS);
    expect(await h.purge.execute()).toEqual({ events: 3, tickets: 0 });
    await rejects(sync(ada, token), 'HISTORY_GONE');
    const fresh = new SyncClient(h.syncTasks, ada);
    await fresh.untilDone(2);
    expect(fresh.tasks()).toEqual(await serverTasks());
  });

  it('brings a client\'s copy to the server\'s state over any mix of full and incremental syncs', async () => {
    const client = new SyncClient(h.syncTasks, ada);
    await createMany(3);
    await client.untilDone(2);
    const [first] = await serverTasks();
    await h.deleteTask.execute(ada, first!.id);
    await createMany(2, bob);
    await create();
    await client.untilDone(1);
    expect(client.tasks()).toEqual(await serverTasks());
    client.restart();
    await client.untilDone(3);
    expect(client.tasks()).toEqual(await serverTasks());
  });
});
