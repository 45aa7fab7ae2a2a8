import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFilter, TaskSort } from '../../src/application/index.js';
import { sortPositionOf } from '../../src/application/index.js';
import type { Task } from '../../src/domain/index.js';
import { openTaskStores, storeKinds, type TaskStores } from '../support/task-stores.js';
import { aNewTask, aTask } from '../support/task-builders.js';

const kinds = await storeKinds();

const at = (iso: string) => new Date(iso);
describe.each(kinds)('TaskRepository contract on %s', (kind) => {
  let stores: TaskStores;
  let owner: number;
  let stranger: number;

  beforeAll(async () => {
    stores = await openTaskStores(kind);
    owner = await stores.newUser();
    stranger = await stores.newUser();
  });
  afterAll(() => stores.close());

  it('round-trips every field, tags in order, times to the millisecond', async () => {
    const input = aNewTask(owner, {
      title: 'Ünïcode 😀 title',
      description: 'line one\nline two',
      status: 'done',
      priority: 'urgent',
      dueDate: at('2026-12-01T15:00:00.123Z'),
      remindAt: at('2026-12-01T14:45:00.789Z'),
      tags: ['zeta', 'alpha', 'mid'],
      completedAt: at('2026-11-22T10:00:00.456Z'),
      createdAt: at('2026-11-22T10:00:00.456Z'),
      updatedAt: at('2026-11-22T10:00:00.456Z'),
    });
    const created = await stores.tasks.create(input);
    expect(created).toEqual({ ...input, id: expect.any(Number) });
    expect(await stores.tasks.findById(owner, created.id)).toEqual(created);
  });

  it('finds, updates and deletes only the owner\'s task', async () => {
    const task = await stores.tasks.create(aNewTask(owner));
    expect(await stores.tasks.findById(stranger, task.id)).toBeNull();
    expect(await stores.tasks.update(stranger, task.id, 1, { ...task, title: 'hijack', version: 2 })).toBeNull();
    expect(await stores.tasks.delete(stranger, task.id)).toBe(false);
    expect(await stores.tasks.count(stranger, {})).toBe(0);
    expect(await stores.tasks.findById(owner, task.id)).toEqual(task);
  });

  it('finds several of the owner\'s tasks by id, leaving out absent ids and other users\' tasks', async () => {
    const [first, second] = await Promise.all([stores.tasks.create(aNewTask(owner, { tags: ['a'] })), stores.tasks.create(aNewTask(owner))]);
    const foreign = await stores.tasks.create(aNewTask(stranger));
    const gone = await stores.tasks.create(aNewTask(owner));
    await stores.tasks.delete(owner, gone.id);
    const found = await stores.tasks.findByIds(owner, [second!.id, foreign.id, gone.id, first!.id, second!.id, 0, -5, 2 ** 31]);
    expect(found.sort((a, b) => a.id - b.id)).toEqual([first, second].sort((a, b) => a!.id - b!.id));
    expect(await stores.tasks.findByIds(owner, [])).toEqual([]);
    expect(await stores.tasks.findByIds(stranger, [first!.id])).toEqual([]);
  });

  it('finds more tasks by id than one statement may bind', async () => {
    const many = await stores.newUser();
    const created = [];
    for (let i = 0; i < 1_200; i += 1) created.push(await stores.tasks.create(aNewTask(many)));
    const found = await stores.tasks.findByIds(many, created.map((task) => task.id));
    expect(found.map((task) => task.id).sort((a, b) => a - b)).toEqual(created.map((task) => task.id));
  });

  it('answers "absent" for ids no table can hold', async () => {
    for (const id of [0, -1, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      expect(await stores.tasks.findById(owner, id)).toBeNull();
      expect(await stores.tasks.delete(owner, id)).toBe(false);
      expect(await stores.tasks.update(owner, id, 1, aTask({ userId: owner }))).toBeNull();
    }
  });

  it('updates only the expected version: of two writers of one version exactly one wins', async () => {
    const task = await stores.tasks.create(aNewTask(owner, { tags: ['old'] }));
    const results = await Promise.all(
      ['first', 'second', 'third'].map((title) => stores.tasks.update(owner, task.id, 1, { ...task, title, tags: ['new'], version: 2 })),
    );
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(await stores.tasks.findById(owner, task.id)).toEqual(winners[0]);
    expect(await stores.tasks.count(owner, { tags: ['old'] })).toBe(0);
    expect(await stores.tasks.count(owner, { tags: ['new'] })).toBeGreaterThanOrEqual(1);
    expect(await stores.tasks.update(owner, task.id, 1, { ...task, version: 2 })).toBeNull();
  });

  it('deletes a given version only', async () => {
    const task = await stores.tasks.create(aNewTask(owner, { version: 3 }));
    expect(await stores.tasks.delete(owner, task.id, 2)).toBe(false);
    expect(await stores.tasks.delete(owner, task.id, 3)).toBe(true);
    expect(await stores.tasks.delete(owner, task.id)).toBe(false);
  });

  describe('pages', () => {
    let user: number;
    const specs: Array<Partial<Task>> = [
      { title: 'b', priority: 'high', dueDate: at('2026-01-02T00:00:00Z'), tags: ['x'], status: 'todo', createdAt: at('2026-01-01T00:00:00Z') },
      { title: 'A', priority: 'low', dueDate: null, tags: ['x', 'y'], status: 'done', createdAt: at('2026-01-01T00:00:00Z') },
      { title: 'éclair', priority: 'urgent', dueDate: at('2026-01-01T00:00:00Z'), tags: [], status: 'in_progress', createdAt: at('2026-01-03T00:00:00Z') },
      { title: 'z_50%', priority: 'medium', dueDate: at('2026-01-02T00:00:00Z'), tags: ['y'], status: 'todo', createdAt: at('2025-12-31T00:00:00Z') },
      { title: 'Zeta\\', priority: 'high', dueDate: null, tags: ['x'], status: 'done', createdAt: at('2026-01-02T00:00:00Z') },
      { title: '😀 grin', priority: 'low', dueDate: at('2027-01-01T00:00:00Z'), tags: ['y'], status: 'todo', createdAt: at('2026-01-01T00:00:00Z') },
    ];
    const stored: Task[] = [];

    beforeAll(async () => {
      user = await stores.newUser();
      for (const spec of specs) stored.push(await stores.tasks.create(aNewTask(user, { ...spec, updatedAt: spec.createdAt })));
    });

    const titles = (tasks: Task[]) => tasks.map((t) => t.title);
    const page = async (sort: TaskSort, filter: TaskFilter = {}, limit = 100) => titles(await stores.tasks.findPage(user, { filter, sort, limit }));

    it.each<[string, boolean, string[]]>([
      ['created_at', false, ['z_50%', 'b', 'A', '😀 grin', 'Zeta\\', 'éclair']],
      ['created_at', true, ['éclair', 'Zeta\\', '😀 grin', 'A', 'b', 'z_50%']],
      ['priority', false, ['A', '😀 grin', 'z_50%', 'b', 'Zeta\\', 'éclair']],
      ['priority', true, ['éclair', 'Zeta\\', 'b', 'z_50%', '😀 grin', 'A']],
      ['due_date', false, ['éclair', 'b', 'z_50%', '😀 grin', 'A', 'Zeta\\']],
      ['due_date', true, ['😀 grin', 'z_50%', 'b', 'éclair', 'Zeta\\', 'A']],
      ['title', false, ['A', 'b', 'z_50%', 'Zeta\\', 'éclair', '😀 grin']],
      ['title', true, ['😀 grin', 'éclair', 'Zeta\\', 'z_50%', 'b', 'A']],
    ])('sorts by %s (descending: %s) with id tie-breaks and undated last', async (key, descending, expected) => {
      const sort = { key: key as TaskSort['key'], descending };
      expect(await page(sort)).toEqual(expected);
      // Walking by keyset, one task at a time, gives the same order.
      const walked: Task[] = [];
      for (;;) {
        const last = walked.at(-1);
        const next = await stores.tasks.findPage(user, { filter: {}, sort, limit: 1, after: last && sortPositionOf(last, sort.key) });
        if (next.length === 0) break;
        walked.push(...next);
      }
      expect(titles(walked)).toEqual(expected);
      // And offsets agree with it too.
      expect(titles(await stores.tasks.findPage(user, { filter: {}, sort, limit: 2, offset: 3 }))).toEqual(expected.slice(3, 5));
    });

    it.each<[string, TaskFilter, string[]]>([
      ['statuses', { statuses: ['todo', 'done'] }, ['A', 'b', 'z_50%', 'Zeta\\', '😀 grin']],
      ['no status at all', { statuses: [] }, []],
      ['priorities', { priorities: ['low', 'urgent'] }, ['A', 'éclair', '😀 grin']],
      ['every tag', { tags: ['x', 'y'] }, ['A']],
      ['one tag', { tags: ['y'] }, ['A', 'z_50%', '😀 grin']],
      ['q, case-insensitive', { q: 'z' }, ['z_50%', 'Zeta\\']],
      ['q with a literal %', { q: '%' }, ['z_50%']],
      ['q with a literal _', { q: '_' }, ['z_50%']],
      ['q with a literal \\', { q: '\\' }, ['Zeta\\']],
      ['q with non-ASCII', { q: 'écl' }, ['éclair']],
      ['dueBefore (exclusive)', { dueBefore: at('2026-01-02T00:00:00Z') }, ['éclair']],
      ['dueAfter (inclusive)', { dueAfter: at('2026-01-02T00:00:00Z') }, ['b', 'z_50%', '😀 grin']],
      ['several at once', { tags: ['y'], priorities: ['low'], statuses: ['todo'] }, ['😀 grin']],
    ])('filters by %s, and counts the same set', async (_name, filter, expected) => {
      expect(await page({ key: 'title', descending: false }, filter)).toEqual(expected);
      expect(await stores.tasks.count(user, filter)).toBe(expected.length);
    });
  });

  describe('IdempotencyStore', () => {
    const now = at('2026-11-22T10:00:00.000Z');
    const claim = (userId: number, key: string, fingerprint = 'f1', when = now) => ({
      userId,
      key,
      fingerprint,
      now: when,
      expiredBefore: new Date(when.getTime() - 86_400_000),
      abandonedBefore: new Date(when.getTime() - 60_000),
    });

    /** Claims a key that must be free, and returns the claim's token. */
    const claimed = async (c: ReturnType<typeof claim>): Promise<string> => {
      const outcome = await stores.idempotency.claim(c);
      expect(outcome).toEqual({ kind: 'claimed', token: expect.any(String) });
      return (outcome as { token: string }).token;
    };

    it('claims once, reports in-flight and mismatch, then replays the stored snapshot', async () => {
      const task = await stores.tasks.create(aNewTask(owner, { dueDate: at('2026-12-01T00:00:00Z'), remindAt: at('2026-11-30T08:00:00.250Z'), tags: ['a'] }));
      const token = await claimed(claim(owner, 'k1'));
      expect(await stores.idempotency.claim(claim(owner, 'k1'))).toEqual({ kind: 'in_flight' });
      expect(await stores.idempotency.claim(claim(owner, 'k1', 'f2'))).toEqual({ kind: 'mismatch' });
      await claimed(claim(stranger, 'k1'));
      await stores.idempotency.complete(owner, 'k1', token, [task]);
      expect(await stores.idempotency.claim(claim(owner, 'k1'))).toEqual({ kind: 'replay', tasks: [task] });
      await stores.idempotency.release(owner, 'k1', token);
      expect(await stores.idempotency.claim(claim(owner, 'k1'))).toEqual({ kind: 'replay', tasks: [task] });
    });

    it('replays every task a request created, in the order it created them', async () => {
      const first = await stores.tasks.create(aNewTask(owner, { title: 'Book the venue' }));
      const second = await stores.tasks.create(aNewTask(owner, { title: 'Send invitations', tags: ['party'] }));
      const token = await claimed(claim(owner, 'generated'));
      await stores.idempotency.complete(owner, 'generated', token, [first, second]);
      expect(await stores.idempotency.claim(claim(owner, 'generated'))).toEqual({ kind: 'replay', tasks: [first, second] });
    });

    it.skipIf(kind === 'memory')('replays a key stored before generation existed, when it held one task object', async () => {
      const task = await stores.tasks.create(aNewTask(owner, { dueDate: at('2026-12-01T00:00:00Z') }));
      await claimed(claim(owner, 'before-lists'));
      await stores.database!.db('idempotency_keys').where({ user_id: owner, key: 'before-lists' }).update({ task: JSON.stringify(task) });
      expect(await stores.idempotency.claim(claim(owner, 'before-lists'))).toEqual({ kind: 'replay', tasks: [task] });
    });

    it('forgets released keys, expired keys and abandoned claims', async () => {
      const first = await claimed(claim(owner, 'k2'));
      await stores.idempotency.release(owner, 'k2', first);
      await claimed(claim(owner, 'k2'));
      const later = new Date(now.getTime() + 61_000);
      const takenOver = await claimed(claim(owner, 'k2', 'f1', later));
      const task = await stores.tasks.create(aNewTask(owner));
      await stores.idempotency.complete(owner, 'k2', takenOver, [task]);
      const nextDay = new Date(later.getTime() + 86_400_001);
      await claimed(claim(owner, 'k2', 'other', nextDay));
    });

    it('gives every claim its own token, even of the same key', async () => {
      const first = await claimed(claim(owner, 'k3'));
      const second = await claimed(claim(owner, 'k3', 'f1', new Date(now.getTime() + 61_000)));
      const third = await claimed(claim(owner, 'k3', 'f1', new Date(now.getTime() + 122_000)));
      expect(new Set([first, second, third]).size).toBe(3);
    });

    it('lets only the claim holding the key complete or release it: a taken-over claim\'s token does nothing', async () => {
      const task = await stores.tasks.create(aNewTask(owner));
      const stale = await claimed(claim(owner, 'slow'));
      const later = new Date(now.getTime() + 61_000);
      const current = await claimed(claim(owner, 'slow', 'f1', later));

      // The overtaken request's release must not free the key under the request that now holds it.
      await stores.idempotency.release(owner, 'slow', stale);
      expect(await stores.idempotency.claim(claim(owner, 'slow', 'f1', later))).toEqual({ kind: 'in_flight' });
      // Nor may it store its outcome there: it is refused, and nothing is written.
      await expect(stores.idempotency.complete(owner, 'slow', stale, [task])).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      expect(await stores.idempotency.claim(claim(owner, 'slow', 'f1', later))).toEqual({ kind: 'in_flight' });
      await expect(stores.idempotency.complete(owner, 'slow', 'never-issued', [task])).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
      await expect(stores.idempotency.complete(stranger, 'slow', current, [task])).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });

      // The right token works.
      await stores.idempotency.complete(owner, 'slow', current, [task]);
      expect(await stores.idempotency.claim(claim(owner, 'slow', 'f1', later))).toEqual({ kind: 'replay', tasks: [task] });

      const released = await claimed(claim(owner, 'freed'));
      await stores.idempotency.release(owner, 'freed', released);
      await claimed(claim(owner, 'freed'));
    });

    it('purges every user\'s keys created before the cut-off, in flight or completed, and keeps the rest', async () => {
      const longAgo = at('2020-01-01T00:00:00.000Z');
      const cutoff = at('2020-01-02T00:00:00.000Z');
      const task = await stores.tasks.create(aNewTask(owner));
      // Claims that never forget anything by themselves, so only the purge can free a key.
      const lookup = (userId: number, key: string, when: Date) => ({ ...claim(userId, key, 'f1', when), expiredBefore: new Date(0), abandonedBefore: new Date(0) });
      await stores.idempotency.complete(owner, 'old-done', await claimed(lookup(owner, 'old-done', longAgo)), [task]);
      await claimed(lookup(stranger, 'old-in-flight', longAgo));
      await claimed(lookup(owner, 'at-cutoff', cutoff));

      expect(await stores.idempotency.purgeExpired(cutoff)).toBe(2);
      expect(await stores.idempotency.purgeExpired(cutoff)).toBe(0);
      await claimed(lookup(owner, 'old-done', now));
      await claimed(lookup(stranger, 'old-in-flight', now));
      expect(await stores.idempotency.claim(lookup(owner, 'at-cutoff', now))).toEqual({ kind: 'in_flight' });
    });

    it('of concurrent claims of one key exactly one wins', async () => {
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => stores.idempotency.claim(claim(owner, 'race'))));
      expect(outcomes.filter((o) => o.kind === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'in_flight')).toHaveLength(7);
    });
  });

  describe('reminders', () => {
    // Reminder times long past, which no other case uses: the due list is every user's.
    const early = at('1990-01-01T08:00:00.000Z');
    const later = at('1990-01-01T09:00:00.000Z');
    const latest = at('1990-01-02T09:00:00.000Z');
    let user: number;

    beforeAll(async () => {
      user = await stores.newUser();
    });

    /** The due reminders of this block's user (and of `stranger`), earliest first. */
    const dueFor = async (now: Date, limit = 100) => (await stores.tasks.findDueReminders(now, limit)).filter((due) => due.userId === user || due.userId === stranger);
    const eventCount = async () => (stores.database ? Number((await stores.database.db('events').count<{ n: number | string }[]>({ n: '*' }))[0]!.n) : 0);

    it('claims a pending reminder once, leaving the task, its version and its times as they were, and records no event', async () => {
      const task = await stores.tasks.create(aNewTask(user, { remindAt: early }));
      const events = await eventCount();
      expect(await stores.tasks.claimReminder(stranger, task.id, early)).toBeNull();
      expect(await stores.tasks.claimReminder(user, task.id, later)).toBeNull();
      expect(await stores.tasks.claimReminder(user, task.id, early)).toEqual(task);
      expect(await stores.tasks.claimReminder(user, task.id, early)).toBeNull();
      expect(await stores.tasks.findById(user, task.id)).toEqual(task);
      expect(await eventCount()).toBe(events);
      for (const id of [0, -1, 2 ** 31]) expect(await stores.tasks.claimReminder(user, id, early)).toBeNull();
      const without = await stores.tasks.create(aNewTask(user));
      expect(await stores.tasks.claimReminder(user, without.id, early)).toBeNull();
    });

    it('of concurrent claims of one reminder exactly one gets the task', async () => {
      const task = await stores.tasks.create(aNewTask(user, { remindAt: early }));
      const claims = await Promise.all(Array.from({ length: 6 }, () => stores.tasks.claimReminder(user, task.id, early)));
      expect(claims.filter((claimed) => claimed !== null)).toEqual([task]);
    });

    it('lists pending reminders due by a time, every user\'s, earliest first, up to a limit', async () => {
      const a = await stores.tasks.create(aNewTask(user, { remindAt: later }));
      const b = await stores.tasks.create(aNewTask(stranger, { remindAt: early }));
      const c = await stores.tasks.create(aNewTask(user, { remindAt: later }));
      await stores.tasks.create(aNewTask(user, { remindAt: latest }));
      const fired = await stores.tasks.create(aNewTask(user, { remindAt: early }));
      await stores.tasks.claimReminder(user, fired.id, early);
      const gone = await stores.tasks.create(aNewTask(user, { remindAt: early }));
      await stores.tasks.delete(user, gone.id);

      const mine = new Set([a.id, b.id, c.id, fired.id, gone.id]);
      const due = (await dueFor(later)).filter((entry) => mine.has(entry.taskId));
      expect(due).toEqual([
        { userId: stranger, taskId: b.id, remindAt: early },
        { userId: user, taskId: a.id, remindAt: later },
        { userId: user, taskId: c.id, remindAt: later },
      ]);
      expect(await stores.tasks.findDueReminders(at('1989-12-31T00:00:00Z'), 100)).toEqual([]);
      expect(await stores.tasks.findDueReminders(later, 1)).toHaveLength(1);
      for (const entry of due) await stores.tasks.claimReminder(entry.userId, entry.taskId, entry.remindAt);
      expect((await dueFor(later)).filter((entry) => mine.has(entry.taskId))).toEqual([]);
    });

    it('makes a reminder pending again when remind_at changes, even back to a time it fired for, and not when other fields do', async () => {
      const task = await stores.tasks.create(aNewTask(user, { remindAt: early }));
      const dueOfTask = async () => (await dueFor(latest)).filter((entry) => entry.taskId === task.id);
      await stores.tasks.claimReminder(user, task.id, early);
      const retitled = (await stores.tasks.update(user, task.id, 1, { ...task, title: 'Retitled', version: 2 }))!;
      expect(await dueOfTask()).toEqual([]);

      const moved = (await stores.tasks.update(user, task.id, 2, { ...retitled, remindAt: later, version: 3 }))!;
      expect(await dueOfTask()).toEqual([{ userId: user, taskId: task.id, remindAt: later }]);
      expect(await stores.tasks.claimReminder(user, task.id, early)).toBeNull();

      // Set again before the new time fired: the old time is a new reminder, due at once.
      const back = (await stores.tasks.update(user, task.id, 3, { ...moved, remindAt: early, version: 4 }))!;
      expect(await dueOfTask()).toEqual([{ userId: user, taskId: task.id, remindAt: early }]);
      expect(await stores.tasks.claimReminder(user, task.id, early)).toEqual(back);

      await stores.tasks.update(user, task.id, 4, { ...back, remindAt: null, version: 5 });
      expect(await stores.tasks.claimReminder(user, task.id, early)).toBeNull();
      expect(await dueOfTask()).toEqual([]);
    });
  });

  it('loses a user\'s tasks and keys with the user', async () => {
    const user = await stores.newUser();
    const task = await stores.tasks.create(aNewTask(user, { tags: ['t'] }));
    await stores.idempotency.claim({ userId: user, key: 'gone', fingerprint: 'f', now: new Date(), expiredBefore: new Date(0), abandonedBefore: new Date(0) });
    await stores.deleteUser(user);
    expect(await stores.tasks.findById(user, task.id)).toBeNull();
    if (kind === 'memory') {
      const again = await stores.idempotency.claim({ userId: user, key: 'gone', fingerprint: 'other', now: new Date(), expiredBefore: new Date(0), abandonedBefore: new Date(0) });
      expect(again).toEqual({ kind: 'claimed', token: expect.any(String) });
    } else {
      const db = stores.database!.db;
      expect(await db('idempotency_keys').where({ user_id: user })).toEqual([]);
      expect(await db('task_tags').where({ task_id: task.id })).toEqual([]);
    }
  });
});
