import type { Knex } from 'knex';

/** Sessions opened before scopes existed could do everything their user could; they still can. */
const EVERY_SCOPE = 'tasks:read tasks:write profile admin';

/**
 * Scopes: each login session keeps what it was granted, so a refresh hands out the same. Personal
 * access tokens: one row per token, found by the digest of its secret through a unique index (one
 * lookup per request), gone with their user by cascade.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.string('scopes', 200).notNullable().defaultTo(EVERY_SCOPE);
  });
  await knex.schema.createTable('personal_access_tokens', (t) => {
    t.increments('id').primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('name', 400).notNullable();
    t.string('digest', 64).notNullable().unique();
    t.string('scopes', 200).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('personal_access_tokens');
  // Native on both engines (SQLite 3.35+): knex's SQLite emulation rebuilds the table, which
  // would cascade into refresh_tokens.
  await knex.raw('alter table sessions drop column scopes');
}
