import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { migrateToLatest } from '../../src/adapters/persistence/knex/database.js';

/** A migrated PostgreSQL schema of its own, and a URL whose connections work in it. */
export interface ScratchSchema {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates and migrates `<prefix>_<random>` in the database at `url`, so that a script's data never
 * meets the tests' tables or another run's. The URL it returns sets the schema as search_path for
 * whatever connects with it — a server started as a child process, say.
 */
export async function createScratchSchema(url: string, prefix: string): Promise<ScratchSchema> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  await admin.raw('create schema ??', [schema]);
  const migrator = knex({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 1 } });
  try {
    await migrateToLatest(migrator);
  } finally {
    await migrator.destroy();
  }
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: scoped.href,
    drop: async () => {
      await admin.raw('drop schema if exists ?? cascade', [schema]);
      await admin.destroy();
    },
  };
}
