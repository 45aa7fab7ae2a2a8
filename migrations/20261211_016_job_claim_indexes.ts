import type { Knex } from 'knex';

/**
 * The claim of the embedded job queue looks for the oldest due waiting job, and for a running job
 * whose lease ran out, across the worker's queues. With only (queue, state, run_at), a claim read
 * every job of those queues and sorted them, so firing n jobs due at once cost time in n²
 * (10,000 reminders due in one minute). Ordered by state then time, the first row found is the
 * one: a claim costs the same with one job waiting or a hundred thousand.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.index(['state', 'run_at'], 'jobs_state_run_at');
    t.index(['state', 'lease_until'], 'jobs_state_lease_until');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.dropIndex(['state', 'run_at'], 'jobs_state_run_at');
    t.dropIndex(['state', 'lease_until'], 'jobs_state_lease_until');
  });
}
