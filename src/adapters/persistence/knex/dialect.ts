import type { Knex } from 'knex';

/** Kept apart from database.ts, which imports the migrations that need it. */
export const isPostgres = (db: Knex): boolean => db.client.config.client === 'pg';
