import type { Knex } from 'knex';
import { migrationSource } from '../../../../migrations/index.js';

/** knex's default bookkeeping table: what `migrate.latest` writes one row into per migration. */
const MIGRATIONS_TABLE = 'knex_migrations';

export interface SchemaStatus {
  /** Applied migrations, oldest first. */
  applied: string[];
  /** This code's migrations that the database has not applied, in the order they would run. */
  pending: string[];
}

async function knownMigrations(): Promise<string[]> {
  return (await migrationSource.getMigrations([])).map((migration) => migrationSource.getMigrationName(migration));
}

/**
 * Reads which migrations the database has applied, without writing: knex's own `migrate.list`
 * and `migrate.status` create the bookkeeping table when it is missing, which a readiness probe
 * or a start-up check must not do.
 */
export async function schemaStatus(db: Knex): Promise<SchemaStatus> {
  const applied = (await db.schema.hasTable(MIGRATIONS_TABLE))
    ? (await db(MIGRATIONS_TABLE).select('name').orderBy('id')).map((row: { name: string }) => row.name)
    : [];
  const done = new Set(applied);
  return { applied, pending: (await knownMigrations()).filter((name) => !done.has(name)) };
}

/** What a rollback would revert, newest first: the latest applied migration, or with `all` every one. */
export async function rollbackPlan(db: Knex, all: boolean): Promise<string[]> {
  const { applied } = await schemaStatus(db);
  const done = new Set(applied);
  const newestFirst = (await knownMigrations()).filter((name) => done.has(name)).reverse();
  return all ? newestFirst : newestFirst.slice(0, 1);
}

/** Reverts the most recent migration only (knex's `rollback` reverts a whole batch). */
export async function revertLast(db: Knex): Promise<string[]> {
  const [, reverted] = (await db.migrate.down({ migrationSource })) as [number, string[]];
  return reverted;
}

/** Reverts every applied migration, newest first. */
export async function revertAll(db: Knex): Promise<string[]> {
  const [, reverted] = (await db.migrate.rollback({ migrationSource }, true)) as [number, string[]];
  return reverted;
}
