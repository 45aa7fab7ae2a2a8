import type { Knex } from 'knex';

/**
 * Exports: one row per requested file of a user's tasks, gone with its user by cascade. The id is
 * a UUID the service generates. `file_removed_at` is housekeeping's own: set once the file of an
 * expired export has been deleted, so that the file is deleted once and the row is forgotten only
 * after it (never leaving a file no row names).
 *
 * Indexes: a user's listing, newest first (user_id, created_at); housekeeping's sweeps for
 * exports still queued (status, created_at) and for expired ones (expires_at).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('exports', (t) => {
    t.string('id', 36).primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.enu('format', ['json', 'csv']).notNullable();
    t.enu('status', ['queued', 'running', 'succeeded', 'failed']).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('completed_at', { useTz: true }).nullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.bigInteger('size').nullable();
    t.string('error', 500).nullable();
    t.timestamp('file_removed_at', { useTz: true }).nullable();
    t.index(['user_id', 'created_at'], 'exports_user_created_at');
    t.index(['status', 'created_at'], 'exports_status_created_at');
    t.index(['expires_at'], 'exports_expires_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('exports');
}
