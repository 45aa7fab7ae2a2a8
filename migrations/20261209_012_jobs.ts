import type { Knex } from 'knex';

/**
 * The embedded job queue's store (EmbeddedJobQueue): the jobs of a service that runs on SQLite
 * without Redis, kept in its own database so an accepted job survives a crash.
 *
 * - `jobs`: one row per job that is waiting (`run_at` says from when), running (`lease_until`
 *   says until when its worker holds it; the worker renews it while the job runs) or kept as
 *   failed (`last_error`). A job that succeeds is deleted, which frees its key. `(queue, key)` is
 *   unique: enqueueing a key a row still holds adds nothing. Keyless jobs leave `key` null, which
 *   both engines let repeat. A job materialised from a schedule names it in `schedule_key`.
 * - `job_schedules`: the repeat schedules, one per `(queue, key)`, with the time of their next tick.
 *
 * Times are epoch milliseconds: the queue only compares and adds them, never shows them, and
 * integers compare alike in SQL and in JavaScript on every engine. The schema is portable (the
 * adapter runs on SQLite only, yet every migration applies to PostgreSQL too).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('jobs', (t) => {
    t.string('id', 36).primary();
    t.string('queue', 100).notNullable();
    t.string('key', 200).nullable();
    t.string('schedule_key', 200).nullable();
    t.text('payload').notNullable();
    t.string('state', 10).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('run_at').notNullable();
    t.string('lease_token', 36).nullable();
    t.bigInteger('lease_until').nullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('failed_at').nullable();
    t.unique(['queue', 'key']);
    // The claim: the oldest due job of a worker's queues, among the waiting ones or the running
    // ones whose lease ran out.
    t.index(['queue', 'state', 'run_at']);
    t.index(['queue', 'schedule_key']);
  });
  await knex.schema.createTable('job_schedules', (t) => {
    t.string('queue', 100).notNullable();
    t.string('key', 200).notNullable();
    t.text('payload').notNullable();
    t.bigInteger('every_ms').notNullable();
    t.bigInteger('next_at').notNullable();
    t.primary(['queue', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('job_schedules');
  await knex.schema.dropTable('jobs');
}
