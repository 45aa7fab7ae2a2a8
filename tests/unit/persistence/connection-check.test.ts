import { describe, expect, it } from 'vitest';
import { describeConnectionFailure, waitForDatabase } from '../../../src/adapters/persistence/knex/connection-check.js';
import { createDatabase, type DatabaseTarget } from '../../../src/adapters/persistence/knex/database.js';

const pg: DatabaseTarget = { kind: 'postgres', url: 'postgres://app:s3cret@db.internal:6543/orders' };
const failure = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('describeConnectionFailure', () => {
  it.each<[string, unknown, string]>([
    ['a refused connection', failure('ECONNREFUSED'), 'connection refused by db.internal:6543'],
    ['a dual-stack refusal', new AggregateError([failure('ECONNREFUSED'), failure('ECONNREFUSED')]), 'connection refused by db.internal:6543'],
    ['an unknown host', failure('ENOTFOUND'), 'host db.internal not found'],
    ['an unreachable host', failure('EHOSTUNREACH'), 'host db.internal:6543 unreachable (EHOSTUNREACH)'],
    ['a wrong password', failure('28P01', 'password authentication failed for user "app"'), 'authentication failed for user "app" (wrong password)'],
    ['an unknown role', failure('28000', 'role "app" does not exist'), 'authentication failed for user "app": role "app" does not exist'],
    ['a missing database', failure('3D000', 'database "orders" does not exist'), 'database "orders" does not exist on db.internal:6543'],
    ['a server still starting', failure('57P03'), 'the database at db.internal:6543 is still starting up'],
    ['a full server', failure('53300'), 'the database at db.internal:6543 has no connection slots left'],
    ['a pool timeout', Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }), 'host db.internal:6543 unreachable (no answer in time)'],
    ['a connection cut while opening', new Error('Connection terminated unexpectedly'), 'host db.internal:6543 unreachable (Connection terminated unexpectedly)'],
    ['anything else, by its first line', new Error('something odd\nat frame 1'), 'something odd'],
  ])('names %s', (_case, error, expected) => {
    const line = describeConnectionFailure(error, pg);
    expect(line).toContain(expected);
    expect(line).not.toContain('s3cret');
  });

  it('names the SQLite file that cannot be opened', () => {
    expect(describeConnectionFailure(failure('SQLITE_CANTOPEN'), { kind: 'sqlite', filename: '/nowhere/db.sqlite' })).toBe('cannot open the SQLite file /nowhere/db.sqlite');
  });

  it('falls back to the default port and the user as database name, as libpq does', () => {
    const target: DatabaseTarget = { kind: 'postgres', url: 'postgres://reporting@db.internal' };
    expect(describeConnectionFailure(failure('3D000'), target)).toBe('database "reporting" does not exist on db.internal:5432');
  });
});

describe('waitForDatabase', () => {
  it('resolves at once for a database that answers', async () => {
    const db = createDatabase({ kind: 'sqlite', filename: ':memory:' });
    try {
      await expect(waitForDatabase(db, { timeoutMs: 0 })).resolves.toBeUndefined();
    } finally {
      await db.destroy();
    }
  });

  it('retries until the deadline, reports the first failure once, then throws the last error', async () => {
    const db = createDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' }, { log: { warn: () => {}, error: () => {}, debug: () => {} } });
    const reported: unknown[] = [];
    const started = performance.now();
    try {
      await expect(waitForDatabase(db, { timeoutMs: 700, onFirstFailure: (error) => reported.push(error) })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await db.destroy();
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    expect(reported).toHaveLength(1);
  });
});
