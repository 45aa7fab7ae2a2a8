import type { Knex } from 'knex';

/**
 * Failed jobs are kept for a retention (JOB_FAILED_RETENTION) and at most so many per queue:
 * each job that fails for good deletes its queue's failed jobs past either bound, the oldest
 * first. This index finds them without reading the queue's other jobs.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.index(['queue', 'state', 'failed_at'], 'jobs_queue_state_failed_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.dropIndex(['queue', 'state', 'failed_at'], 'jobs_queue_state_failed_at');
  });
}
