import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationSource } from '../../migrations/index.js';
import { repositoryEngines } from '../support/databases.js';
import { openTaskStores, type TaskStores } from '../support/task-stores.js';
import { aNewTask } from '../support/task-builders.js';

/**
 * A task's tag rows are written by the triggers on tasks, in the statement that writes the task.
 * A trigger that rejects one tag makes a write fail after its task row is in, so these tests see
 * whether everything of it was rolled back, whether concurrent writes were kept, and whether the
 * connection is left usable.
 */
const engines = await repositoryEngines();

const SQLITE_REJECTING_TRIGGER = [
  `create trigger reject_tag before insert on task_tags when new.tag = 'explode'
   begin select raise(abort, 'tag rejected'); end`,
];
const REJECTING_TRIGGER = {
  sqlite: SQLITE_REJECTING_TRIGGER,
  'sqlite-memory': SQLITE_REJECTING_TRIGGER,
  postgres: [
    `create function reject_tag() returns trigger as $$
     begin if new.tag = 'explode' then raise exception 'tag rejected'; end if; return new; end $$ language plpgsql`,
    `create trigger reject_tag before insert on task_tags for each row execute function reject_tag()`,
  ],
};

describe.runIf(engines.length > 0).each(engines)('task writes on %s are atomic', (engine) => {
  let stores: TaskStores;
  let owner: number;

  beforeAll(async () => {
    stores = await openTaskStores(engine, { acquireTimeoutMs: 1_000 });
    for (const statement of REJECTING_TRIGGER[engine]) await stores.database!.db.raw(statement);
    owner = await stores.newUser();
  });
  afterAll(() => stores?.close());

  const taskRows = async () => (await stores.database!.db('tasks').where({ user_id: owner }).count<{ n: number | string }[]>({ n: '*' }))[0]!.n;

  it('a create whose tag rows fail leaves no task behind, and the next write succeeds', async () => {
    const before = Number(await taskRows());
    await expect(stores.tasks.create(aNewTask(owner, { tags: ['fine', 'explode'] }))).rejects.toThrow(/tag rejected/);
    expect(Number(await taskRows())).toBe(before);

    const created = await stores.tasks.create(aNewTask(owner, { tags: ['fine'] }));
    expect(await stores.tasks.findById(owner, created.id)).toEqual(created);
    expect(Number(await taskRows())).toBe(before + 1);
  });

  it('of concurrent creates, the one that fails leaves nothing and every other one is stored', async () => {
    const before = Number(await taskRows());
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'explode', 'c', 'd'].map((tag) => stores.tasks.create(aNewTask(owner, { title: `Concurrent ${tag}`, tags: [tag] }))),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(Number(await taskRows())).toBe(before + 4);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') expect(await stores.tasks.findById(owner, outcome.value.id)).toEqual(outcome.value);
    }
    const titles = await stores.database!.db('tasks').where({ user_id: owner }).where('title', 'like', 'Concurrent %').pluck('title');
    expect(titles.sort()).toEqual(['Concurrent a', 'Concurrent b', 'Concurrent c', 'Concurrent d']);
  });

  it('an update whose tag rows fail keeps the stored task, its version and its tags', async () => {
    const created = await stores.tasks.create(aNewTask(owner, { title: 'Before', tags: ['kept'] }));
    const next = { ...created, title: 'After', tags: ['explode'], version: created.version + 1 };
    await expect(stores.tasks.update(owner, created.id, created.version, next)).rejects.toThrow(/tag rejected/);
    expect(await stores.tasks.findById(owner, created.id)).toEqual(created);
    expect(await stores.database!.db('task_tags').where({ task_id: created.id }).pluck('tag')).toEqual(['kept']);

    const updated = await stores.tasks.update(owner, created.id, created.version, { ...next, tags: ['new'] });
    expect(updated).toMatchObject({ title: 'After', version: created.version + 1, tags: ['new'] });
  });

  describe('the unfiltered total, kept by triggers', () => {
    const total = (userId: number) => stores.tasks.count(userId, {});
    const countStar = async (userId: number) => Number((await stores.database!.db('tasks').where({ user_id: userId }).count<{ n: number | string }[]>({ n: '*' }))[0]!.n);

    it('follows creates and deletes, including deletes made with SQL by hand', async () => {
      const user = await stores.newUser();
      const created = await Promise.all([1, 2, 3].map((n) => stores.tasks.create(aNewTask(user, { title: `Counted ${n}` }))));
      expect(await total(user)).toBe(3);
      await stores.tasks.delete(user, created[0]!.id);
      expect(await total(user)).toBe(2);
      await stores.database!.db('tasks').where({ id: created[1]!.id }).delete();
      expect(await total(user)).toBe(1);
      expect(await total(user)).toBe(await countStar(user));
    });

    it('does not count a create that rolled back', async () => {
      const user = await stores.newUser();
      await expect(stores.tasks.create(aNewTask(user, { tags: ['explode'] }))).rejects.toThrow(/tag rejected/);
      expect(await total(user)).toBe(0);
    });

    it('is zero for a user without tasks, and goes with a deleted user', async () => {
      const user = await stores.newUser();
      expect(await total(user)).toBe(0);
      await stores.tasks.create(aNewTask(user));
      await stores.deleteUser(user);
      expect(Number((await stores.database!.db('task_count_stripes').where({ user_id: user }).count<{ n: number | string }[]>({ n: '*' }))[0]!.n)).toBe(0);
    });

    it('stays exact over many concurrent creates and deletes, which spread over several stripes', async () => {
      const user = await stores.newUser();
      const created = await Promise.all(Array.from({ length: 40 }, (_, n) => stores.tasks.create(aNewTask(user, { title: `Striped ${n}` }))));
      await Promise.all(created.filter((_, n) => n % 3 === 0).map((task) => stores.tasks.delete(user, task.id)));
      expect(await total(user)).toBe(26);
      expect(await total(user)).toBe(await countStar(user));
    });

    it('is filled for the tasks that existed before the migration, and again when it is reverted', async () => {
      const user = await stores.newUser();
      for (let n = 0; n < 4; n++) await stores.tasks.create(aNewTask(user));
      const { db } = stores.database!;
      await db.migrate.down({ migrationSource, name: '20261207_007_striped_task_counts' });
      expect(await db('task_counts').where({ user_id: user }).first('n')).toEqual({ n: 4 });
      await db.migrate.latest({ migrationSource });
      expect(await total(user)).toBe(4);
      expect(await total(owner)).toBe(await countStar(owner));
      await stores.tasks.create(aNewTask(user));
      expect(await total(user)).toBe(5);
    });
  });

  it('gives tag rows written before migration 005 their owner, so tag filters still find them', async () => {
    const user = await stores.newUser();
    const tagged = await stores.tasks.create(aNewTask(user, { tags: ['legacy', 'kept'] }));
    await stores.tasks.create(aNewTask(user, { tags: ['other'] }));
    const { db } = stores.database!;
    await db.migrate.down({ migrationSource, name: '20261206_006_task_tags_by_triggers' });
    await db.migrate.down({ migrationSource, name: '20261126_005_task_tags_owner' });
    await db.migrate.latest({ migrationSource });
    expect(await db('task_tags').where({ task_id: tagged.id }).orderBy('tag').select('user_id', 'tag')).toEqual([
      { user_id: user, tag: 'kept' },
      { user_id: user, tag: 'legacy' },
    ]);
    const page = await stores.tasks.findPage(user, { filter: { tags: ['legacy'] }, sort: { key: 'created_at', descending: true }, limit: 10 });
    expect(page.map((task) => task.id)).toEqual([tagged.id]);
    expect(await stores.tasks.count(user, { tags: ['legacy', 'kept'] })).toBe(1);
  });

  it('an update leaves exactly the new tags in task_tags, each with its owner, and filters follow', async () => {
    const user = await stores.newUser();
    let task = await stores.tasks.create(aNewTask(user, { tags: ['a', 'b'] }));
    const rows = async () => (await stores.database!.db('task_tags').where({ task_id: task.id }).orderBy('tag').select('tag', 'user_id')).map((r) => `${r.tag}:${r.user_id}`);
    const tagged = async (tag: string) => stores.tasks.count(user, { tags: [tag] });
    for (const tags of [['b', 'c'], ['c', 'b', 'd'], ['c', 'b', 'd'], [], ['e']]) {
      task = (await stores.tasks.update(user, task.id, task.version, { ...task, tags, version: task.version + 1 }))!;
      expect(await rows()).toEqual([...tags].sort().map((tag) => `${tag}:${user}`));
      for (const tag of ['a', 'b', 'c', 'd', 'e']) expect(await tagged(tag)).toBe(tags.includes(tag) ? 1 : 0);
    }
  });

  describe('tag rows, kept by triggers on tasks (migration 006)', () => {
    const db = () => stores.database!.db;
    const tagRows = async (taskId: number) =>
      (await db()('task_tags').where({ task_id: taskId }).orderBy('tag').select('user_id', 'tag')).map((r) => `${r.tag}:${r.user_id}`);

    it('follow tasks written with SQL by hand: insert, change of tags, delete', async () => {
      const user = await stores.newUser();
      const created = await stores.tasks.create(aNewTask(user, { tags: ['model'] }));
      const { id: _id, ...row } = await db()('tasks').where({ id: created.id }).first();
      const [{ id }] = await db()('tasks').insert({ ...row, tags: JSON.stringify(['by-hand', 'x']) }).returning('id');
      expect(await tagRows(id)).toEqual([`by-hand:${user}`, `x:${user}`]);
      expect(await stores.tasks.count(user, { tags: ['by-hand'] })).toBe(1);

      await db()('tasks').where({ id }).update({ tags: JSON.stringify(['x', 'y']) });
      expect(await tagRows(id)).toEqual([`x:${user}`, `y:${user}`]);
      await db()('tasks').where({ id }).update({ title: 'Only the title' });
      expect(await tagRows(id)).toEqual([`x:${user}`, `y:${user}`]);

      await db()('tasks').where({ id }).delete();
      expect(await tagRows(id)).toEqual([]);
      expect(await tagRows(created.id)).toEqual([`model:${user}`]);
    });

    it('go with a deleted task and with a deleted user, and no other user\'s rows go', async () => {
      const [gone, kept] = [await stores.newUser(), await stores.newUser()];
      const doomed = await stores.tasks.create(aNewTask(gone, { tags: ['shared', 'mine'] }));
      const deleted = await stores.tasks.create(aNewTask(gone, { tags: ['shared'] }));
      const other = await stores.tasks.create(aNewTask(kept, { tags: ['shared'] }));
      await stores.tasks.delete(gone, deleted.id);
      expect(await tagRows(deleted.id)).toEqual([]);
      await stores.deleteUser(gone);
      expect(await db()('task_tags').where({ user_id: gone })).toEqual([]);
      expect(await tagRows(doomed.id)).toEqual([]);
      expect(await tagRows(other.id)).toEqual([`shared:${kept}`]);
    });

    it('are rebuilt from tasks.tags by the migration, and back by its down', async () => {
      const user = await stores.newUser();
      const first = await stores.tasks.create(aNewTask(user, { tags: ['old', 'both'] }));
      const second = await stores.tasks.create(aNewTask(user, { tags: ['both'] }));
      await db().migrate.down({ migrationSource, name: '20261206_006_task_tags_by_triggers' });
      expect(await db()('task_tags').where({ task_id: first.id }).orderBy('tag').select('user_id', 'tag')).toEqual([
        { user_id: user, tag: 'both' },
        { user_id: user, tag: 'old' },
      ]);
      await db()('task_tags').where({ task_id: second.id }).delete(); // lost before the migration: rebuilt from tasks.tags
      await db().migrate.latest({ migrationSource });
      expect(await tagRows(first.id)).toEqual([`both:${user}`, `old:${user}`]);
      expect(await tagRows(second.id)).toEqual([`both:${user}`]);
      expect(await stores.tasks.count(user, { tags: ['both'] })).toBe(2);
      const page = await stores.tasks.findPage(user, { filter: { tags: ['old'] }, sort: { key: 'created_at', descending: true }, limit: 10 });
      expect(page.map((task) => task.id)).toEqual([first.id]);
    });
  });
});
