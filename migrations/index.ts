import type { Knex } from 'knex';
import * as usersAndSessions from './20261122_001_users_and_sessions.js';
import * as tasks from './20261123_002_tasks.js';
import * as idempotencyClaimToken from './20261124_003_idempotency_claim_token.js';
import * as taskCounts from './20261125_004_task_counts.js';
import * as taskTagsOwner from './20261126_005_task_tags_owner.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Every migration in order. Listed, not globbed, so the same code runs from .ts and from dist/. */
export const migrations: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['20261122_001_users_and_sessions', usersAndSessions],
  ['20261123_002_tasks', tasks],
  ['20261124_003_idempotency_claim_token', idempotencyClaimToken],
  ['20261125_004_task_counts', taskCounts],
  ['20261126_005_task_tags_owner', taskTagsOwner],
];

export const migrationSource: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
