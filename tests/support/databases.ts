import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import knex from 'knex';
import { createDatabase, migrateToLatest, type DatabaseOptions } from '../../src/adapters/persistence/knex/database.js';

/** 'sqlite': a file, as the service runs it (WAL, one connection); 'sqlite-memory': `:memory:`. */
export type SqlEngine = 'sqlite' | 'sqlite-memory' | 'postgres';

let containerUrl: Promise<string | null> | undefined;

/** TEST_DATABASE_URL, else a throwaway testcontainers PostgreSQL when Docker answers, else null. */
export function postgresUrl(): Promise<string | null> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return Promise.resolve(fromEnv);
  containerUrl ??= (async () => {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const started = await new PostgreSqlContainer('postgres:16-alpine').withDatabase('taskforge_test').start();
      return started.getConnectionUri();
    } catch {
      console.warn('PostgreSQL tests skipped: set TEST_DATABASE_URL or start Docker for testcontainers.');
      return null;
    }
  })();
  return containerUrl;
}

/** Tests wipe what they touch; they refuse to run against a database not named for testing. */
function assertTestDatabase(url: string): void {
  const name = new URL(url).pathname.replace(/^\//, '');
  if (!name.includes('test')) throw new Error(`refusing to run destructive tests against database "${name}": its name must contain "test"`);
}

export interface TestDatabase {
  db: Knex;
  engine: SqlEngine;
  destroy(): Promise<void>;
}

/**
 * A migrated, empty database of its own: an in-memory SQLite file, or a fresh schema in the
 * PostgreSQL test database, so parallel test files never see each other's rows.
 */
export async function openTestDatabase(engine: SqlEngine, options: Pick<DatabaseOptions, 'acquireTimeoutMs'> = {}): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-test-'));
    const db = createDatabase({ kind: 'sqlite', filename: path.join(dir, 'test.sqlite') }, options);
    await migrateToLatest(db);
    return {
      db,
      engine,
      destroy: async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (engine === 'sqlite-memory') {
    const db = createDatabase({ kind: 'sqlite', filename: ':memory:' }, options);
    await migrateToLatest(db);
    return { db, engine, destroy: () => db.destroy() };
  }
  const url = await postgresUrl();
  if (!url) throw new Error('PostgreSQL is not available');
  assertTestDatabase(url);
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: url });
  await admin.raw(`create schema ${schema}`);
  await admin.destroy();
  const db = knex({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 5 }, acquireConnectionTimeout: options.acquireTimeoutMs });
  await migrateToLatest(db);
  return {
    db,
    engine,
    destroy: async () => {
      await db.raw(`drop schema ${schema} cascade`);
      await db.destroy();
    },
  };
}

/** The engines to run SQL suites on here: SQLite always, PostgreSQL when reachable. */
export async function availableEngines(): Promise<SqlEngine[]> {
  return (await postgresUrl()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** For the repository contracts: SQLite in a file and in memory, and PostgreSQL when reachable. */
export async function repositoryEngines(): Promise<SqlEngine[]> {
  const [sqlite, ...others] = await availableEngines();
  return [sqlite!, 'sqlite-memory', ...others];
}
