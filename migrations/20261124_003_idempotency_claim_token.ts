import type { Knex } from 'knex';

/**
 * Each claim of an Idempotency-Key gets its own token, and only the claim holding it may complete
 * or release the key. Without it, a request that outlived its in-flight lease completed the claim
 * of the retry that had taken its key over, and both created a task. Rows written before this
 * have no token: those still in flight can no longer be completed, and are taken over after the
 * lease like any abandoned claim.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.string('claim_token', 36).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('claim_token');
  });
}
