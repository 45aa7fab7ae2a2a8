import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationSource } from '../../migrations/index.js';
import { KnexChangeLog } from '../../src/adapters/persistence/knex/knex-change-log.js';
import { repositoryEngines } from '../support/databases.js';
import { openTaskStores, type TaskStores } from '../support/task-stores.js';
import { aNewTask } from '../support/task-builders.js';

/** Migration 017 on the SQL engines: positions read from the log itself, and the counter rows it replaced. */
const engines = await repositoryEngines();
const MIGRATION = '20261212_017_positions_without_head_rows';
const ALL = 1_000;

describe.each(engines)('event positions in the schema on %s', (engine) => {
  let stores: TaskStores;
  let log: KnexChangeLog;

  beforeAll(async () => {
    stores = await openTaskStores(engine);
    log = new KnexChangeLog(stores.database!.db);
  });
  afterAll(() => stores.close());

  const positionsOf = async (user: number) => (await log.readAfter(user, 0, ALL)).map((event) => event.position);

  it('writes nothing but the event when a task write appends one: the purge alone keeps a floor', async () => {
    const { db } = stores.database!;
    const user = await stores.newUser();
    await stores.tasks.create(aNewTask(user));
    await stores.tasks.create(aNewTask(user));
    expect(await positionsOf(user)).toEqual([1, 2]);
    expect(await db('purged_event_heads').where({ user_id: user })).toEqual([]);

    await log.purgeBefore(new Date('2100-01-01T00:00:00.000Z'));
    expect(await db('purged_event_heads').where({ user_id: user }).first('position')).toEqual({ position: expect.anything() });
    expect(await log.head(user)).toBe(2);
    await stores.tasks.create(aNewTask(user));
    expect(await positionsOf(user)).toEqual([3]);
  });

  it('reverts to a head row per user holding every head, purged or not, and comes back numbering on', async () => {
    const { db } = stores.database!;
    const [emptied, active] = [await stores.newUser(), await stores.newUser()];
    for (let i = 0; i < 2; i++) await stores.tasks.create(aNewTask(emptied));
    await log.purgeBefore(new Date('2100-01-01T00:00:00.000Z'));
    for (let i = 0; i < 3; i++) await stores.tasks.create(aNewTask(active));

    await db.migrate.down({ migrationSource, name: MIGRATION });
    try {
      const heads = await db('event_heads').whereIn('user_id', [emptied, active]).orderBy('user_id').select('user_id', 'position');
      expect(heads.map((row) => [Number(row.user_id), Number(row.position)])).toEqual([[emptied, 2], [active, 3]]);
      await stores.tasks.create(aNewTask(emptied));
      await stores.tasks.create(aNewTask(active));
    } finally {
      await db.migrate.latest({ migrationSource });
    }
    await stores.tasks.create(aNewTask(emptied));
    await stores.tasks.create(aNewTask(active));
    expect(await positionsOf(emptied)).toEqual([3, 4]);
    expect(await positionsOf(active)).toEqual([1, 2, 3, 4, 5]);
  });
});
