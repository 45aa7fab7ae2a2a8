import type { Knex } from 'knex';

/**
 * The change log: every committed change to a user's data, as one event, written in the same
 * transaction as the change (see KnexChangeLog).
 *
 * - `events.id` is global and never reused (SQLite AUTOINCREMENT, a PostgreSQL identity): clients
 *   resume from it, so an id must name one event of one user for good, even after retention has
 *   purged that user's older events.
 * - `events.position` orders one user's events. It is taken from the user's row in `event_heads`,
 *   whose lock a writer holds from its append until it commits: one user's concurrent writers
 *   (on any instance) append one after the other, so positions follow commit order, which ids
 *   from a sequence would not.
 *
 * `event_tickets` are the single-use tickets of `POST /events/tickets`, by the digest of their
 * secret, bound to the login session or personal access token that asked for them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_heads', (t) => {
    t.integer('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('position').notNullable();
  });
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id').primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('position').notNullable();
    t.string('type', 40).notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('data').notNullable();
    t.unique(['user_id', 'position']);
    t.index(['occurred_at']);
  });
  await knex.schema.createTable('event_tickets', (t) => {
    t.string('digest', 64).primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('session_id', 36).nullable().references('id').inTable('sessions').onDelete('CASCADE');
    t.integer('personal_token_id').nullable().references('id').inTable('personal_access_tokens').onDelete('CASCADE');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('event_tickets');
  await knex.schema.dropTable('events');
  await knex.schema.dropTable('event_heads');
}
