import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { closeReadPool, openReadPool } from '../../src/adapters/persistence/knex/database.js';
import { availableEngines, openTestDatabase, type TestDatabase } from '../support/databases.js';

const engines = await availableEngines();
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0LXNhbHQ$secret-hash-never-shown';

/**
 * A failed statement's error is logged (a 500, a 503) and printed by the command line: it must name
 * the statement without the values bound to it, which include password hashes and token digests.
 */
describe.each(engines)('an error of a statement on %s', (engine) => {
  let database: TestDatabase;
  let reads: Knex;

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    reads = openReadPool(database.db);
  });
  afterAll(async () => {
    await closeReadPool(reads, database.db);
    await database.destroy();
  });

  const messageOf = async (statement: Promise<unknown>): Promise<string> => {
    const error = await statement.then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  };

  it('names the statement without the values of a write', async () => {
    const now = new Date().toISOString();
    // username missing: a NOT NULL constraint fails with the hash among the values.
    const message = await messageOf(database.db('users').insert({ email: 'x@example.com', email_key: 'x@example.com', password_hash: HASH, created_at: now, updated_at: now }));
    expect(message).toMatch(/insert into .users./i);
    expect(message).not.toContain('secret-hash-never-shown');
  });

  it('names the statement without the values of a read, on the read pool too', async () => {
    for (const db of [database.db, reads]) {
      const message = await messageOf(db.raw('select id from users where password_hash = ? and no_such_column = 1', [HASH]));
      expect(message).toMatch(/no_such_column/);
      expect(message).not.toContain('secret-hash-never-shown');
    }
  });
});
