import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { closeReadPool, openReadPool, openSnapshotPool } from '../../src/adapters/persistence/knex/database.js';
import { availableEngines, openTestDatabase, type TestDatabase } from '../support/databases.js';

const engines = await availableEngines();

describe('the read pool of an SQLite file', () => {
  let database: TestDatabase;
  let reads: Knex;

  beforeAll(async () => {
    database = await openTestDatabase('sqlite');
    reads = openReadPool(database.db);
  });
  afterAll(async () => {
    await closeReadPool(reads, database.db);
    await database.destroy();
  });

  it('is a pool of its own', () => {
    expect(reads).not.toBe(database.db);
  });

  it('sees a write as soon as it is committed, even while its own reads are open', async () => {
    const now = new Date().toISOString();
    const user = { username: 'reader', username_key: 'reader', email: 'r@example.com', email_key: 'r@example.com', password_hash: 'x', created_at: now, updated_at: now };
    const [inserted] = await database.db('users').insert(user).returning<{ id: number }[]>('id');
    const reading = Promise.all([1, 2, 3].map(() => reads('users').where({ id: inserted!.id }).first('username')));
    expect(await reading).toEqual([{ username: 'reader' }, { username: 'reader' }, { username: 'reader' }]);
    await database.db('users').where({ id: inserted!.id }).update({ username: 'renamed' });
    expect(await reads('users').where({ id: inserted!.id }).first('username')).toEqual({ username: 'renamed' });
  });

  it('refuses writes, which belong to the one writing connection', async () => {
    await expect(reads('users').delete()).rejects.toThrow(/readonly/i);
  });
});

describe.runIf(engines.includes('postgres'))('the read pool on PostgreSQL', () => {
  it('is the database itself: its pool already reads in parallel', async () => {
    const database = await openTestDatabase('postgres');
    try {
      expect(openReadPool(database.db)).toBe(database.db);
    } finally {
      await database.destroy();
    }
  });
});

describe('the read pool of an in-memory SQLite database', () => {
  it('is the database itself: a second connection would open another, empty one', async () => {
    const database = await openTestDatabase('sqlite-memory');
    try {
      expect(openReadPool(database.db)).toBe(database.db);
    } finally {
      await database.destroy();
    }
  });
});

describe('the snapshot pool', () => {
  // PostgreSQL's, a pool of its own, is tested with the timeouts it keeps: tests/ops/database-outage-snapshots.test.ts.
  it.each(['sqlite', 'sqlite-memory'] as const)('is the read pool itself on %s', async (engine) => {
    const database = await openTestDatabase(engine);
    const reads = openReadPool(database.db);
    try {
      expect(openSnapshotPool(reads)).toBe(reads);
    } finally {
      await closeReadPool(reads, database.db);
      await database.destroy();
    }
  });

  it.runIf(engines.includes('postgres'))('is the pool itself on PostgreSQL when the pool sets no client-side query timeout', async () => {
    const database = await openTestDatabase('postgres');
    try {
      expect(openSnapshotPool(database.db)).toBe(database.db);
    } finally {
      await database.destroy();
    }
  });
});
