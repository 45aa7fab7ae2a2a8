import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationSource } from '../../migrations/index.js';
import { KnexChangeLog } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { repositoryEngines } from '../support/databases.js';
import { openTaskStores, type TaskStores } from '../support/task-stores.js';
import { aNewTask } from '../support/task-builders.js';

/** Migration 010 on the SQL engines: the sweep's index, and the change-log snapshots before and after it. */
const engines = await repositoryEngines();

describe.each(engines)('task reminders in the schema on %s', (engine) => {
  let stores: TaskStores;
  let owner: number;

  beforeAll(async () => {
    stores = await openTaskStores(engine);
    owner = await stores.newUser();
  });
  afterAll(() => stores.close());

  /** The statement findDueReminders runs, as knex reports it (on the connection itself, not a read pool). */
  async function dueRemindersStatement(): Promise<string> {
    const { db } = stores.database!;
    let statement = '';
    const listen = (query: { sql: string }) => {
      if (query.sql.includes('remind_at <=')) statement = query.sql;
    };
    db.on('query', listen);
    await new KnexTaskRepository(db).findDueReminders(new Date(), 10);
    db.off('query', listen);
    return statement.replace(/\$\d+/g, '?');
  }

  it('answers the due-reminders query from the partial index of pending reminders', async () => {
    const { db } = stores.database!;
    const statement = await dueRemindersStatement();
    const bindings = [new Date().toISOString(), 10];
    if (engine === 'postgres') {
      // The tables are tiny: forbid the sequential scan to see whether the index can serve at all.
      const plan = await db.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        return (await trx.raw(`explain ${statement}`, bindings)) as { rows: Array<{ 'QUERY PLAN': string }> };
      });
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('using tasks_pending_reminders');
    } else {
      const plan = (await db.raw(`explain query plan ${statement}`, bindings)) as Array<{ detail: string }>;
      expect(plan.map((row) => row.detail).join('\n')).toContain('USING INDEX tasks_pending_reminders');
    }
  });

  it('snapshots remind_at in task events; reverted, the triggers take the old snapshot, and those still read', async () => {
    const { db } = stores.database!;
    const log = new KnexChangeLog(db);
    const remindAt = new Date('2026-12-01T08:30:00.000Z');
    const created = await stores.tasks.create(aNewTask(owner, { remindAt }));
    const eventOf = async (taskId: number) => {
      const events = await log.readAfter(owner, 0, 1_000);
      return events.filter((event) => (event.payload as { task: { id: number } }).task.id === taskId).map(({ type, payload }) => ({ type, payload }));
    };
    expect(await eventOf(created.id)).toEqual([{ type: 'task.created', payload: { task: created } }]);

    // 017 goes first: it replaced the triggers that 010 takes back.
    await db.migrate.down({ migrationSource, name: '20261212_017_positions_without_head_rows' });
    await db.migrate.down({ migrationSource, name: '20261209_010_task_reminders' });
    try {
      const now = '2026-11-22T10:00:00.000Z';
      const [row] = await db('tasks')
        .insert({ user_id: owner, title: 'Old', title_key: 'old', description: '', status: 'todo', priority: 'low', priority_rank: 1, tags: '[]', created_at: now, updated_at: now })
        .returning('id');
      const id = Number((row as { id: number }).id);
      const data = (await db('events').where({ user_id: owner, type: 'task.created' }).orderBy('position', 'desc').first('data')) as { data: string };
      expect(Object.keys(JSON.parse(data.data) as object)).not.toContain('remind_at');
      await db('tasks').where({ id }).update({ title: 'Older', version: 2 });

      await db.migrate.latest({ migrationSource });
      expect((await eventOf(id)).map(({ type, payload }) => [type, (payload as { task: { title: string; remindAt: Date | null } }).task])).toEqual([
        ['task.created', expect.objectContaining({ title: 'Old', remindAt: null })],
        ['task.updated', expect.objectContaining({ title: 'Older', remindAt: null })],
      ]);
      expect(await stores.tasks.findById(owner, id)).toMatchObject({ remindAt: null, version: 2 });
      expect(await stores.tasks.findById(owner, created.id)).toEqual({ ...created, remindAt: null });
    } finally {
      await db.migrate.latest({ migrationSource });
    }
  });
});
