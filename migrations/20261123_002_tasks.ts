import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * Tasks, their tags and the Idempotency-Key store.
 *
 * Listing is keyset pagination over (user_id, sort column, id), so every sort has an index of
 * exactly that shape and compares plain columns: a lower-cased title (byte order, "C" collation on
 * PostgreSQL, as SQLite's BINARY does) and a priority rank. Times are RFC 3339 UTC text on SQLite,
 * which sorts chronologically, and timestamptz on PostgreSQL.
 */
export async function up(knex: Knex): Promise<void> {
  const postgres = isPostgres(knex);

  await knex.schema.createTable('tasks', (t) => {
    t.increments('id').primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('title').notNullable();
    if (postgres) t.specificType('title_key', 'text collate "C"').notNullable();
    else t.text('title_key').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.string('status', 16).notNullable().checkIn(['todo', 'in_progress', 'done']);
    t.string('priority', 16).notNullable().checkIn(['low', 'medium', 'high', 'urgent']);
    t.smallint('priority_rank').notNullable();
    t.timestamp('due_date', { useTz: true }).nullable();
    // The tags in the client's order; task_tags holds them again for filtering.
    t.text('tags').notNullable().defaultTo('[]');
    t.timestamp('completed_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['user_id', 'created_at', 'id'], 'tasks_user_created_at');
    t.index(['user_id', 'updated_at', 'id'], 'tasks_user_updated_at');
    t.index(['user_id', 'due_date', 'id'], 'tasks_user_due_date');
    t.index(['user_id', 'priority_rank', 'id'], 'tasks_user_priority');
    t.index(['user_id', 'title_key', 'id'], 'tasks_user_title');
  });

  await knex.schema.createTable('task_tags', (t) => {
    t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
    t.string('tag', 200).notNullable();
    t.primary(['task_id', 'tag']);
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('key', 255).notNullable();
    t.text('fingerprint').notNullable();
    // The snapshot of the created task that every replay returns; null while in flight.
    t.text('task').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['user_id', 'key']);
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
  await knex.schema.dropTable('task_tags');
  await knex.schema.dropTable('tasks');
}
