import type { Knex } from 'knex';
import * as usersAndSessions from './20261122_001_users_and_sessions.js';
import * as tasks from './20261123_002_tasks.js';
import * as idempotencyClaimToken from './20261124_003_idempotency_claim_token.js';
import * as taskCounts from './20261125_004_task_counts.js';
import * as taskTagsOwner from './20261126_005_task_tags_owner.js';
import * as taskTagsByTriggers from './20261206_006_task_tags_by_triggers.js';
import * as stripedTaskCounts from './20261207_007_striped_task_counts.js';
import * as personalAccessTokens from './20261207_008_personal_access_tokens.js';
import * as changeLog from './20261208_009_change_log.js';
import * as taskReminders from './20261209_010_task_reminders.js';
import * as jobs from './20261209_012_jobs.js';
import * as exportsTable from './20261209_011_exports.js';
import * as failedJobsIndex from './20261210_013_failed_jobs_index.js';
import * as attachments from './20261210_014_attachments.js';
import * as exportFilesGarbage from './20261210_015_export_files_garbage.js';
import * as jobClaimIndexes from './20261211_016_job_claim_indexes.js';
import * as positionsWithoutHeadRows from './20261212_017_positions_without_head_rows.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** A migration and its name; `file` is the name knex's own CLI prints (`migrate:list`). */
interface NamedMigration {
  file: string;
  migration: Migration;
}

/** Every migration in order. Listed, not globbed, so the same code runs from .ts and from dist/. */
export const migrations: readonly NamedMigration[] = [
  { file: '20261122_001_users_and_sessions', migration: usersAndSessions },
  { file: '20261123_002_tasks', migration: tasks },
  { file: '20261124_003_idempotency_claim_token', migration: idempotencyClaimToken },
  { file: '20261125_004_task_counts', migration: taskCounts },
  { file: '20261126_005_task_tags_owner', migration: taskTagsOwner },
  { file: '20261206_006_task_tags_by_triggers', migration: taskTagsByTriggers },
  { file: '20261207_007_striped_task_counts', migration: stripedTaskCounts },
  { file: '20261207_008_personal_access_tokens', migration: personalAccessTokens },
  { file: '20261208_009_change_log', migration: changeLog },
  { file: '20261209_010_task_reminders', migration: taskReminders },
  { file: '20261209_012_jobs', migration: jobs },
  { file: '20261209_011_exports', migration: exportsTable },
  { file: '20261210_013_failed_jobs_index', migration: failedJobsIndex },
  { file: '20261210_014_attachments', migration: attachments },
  { file: '20261210_015_export_files_garbage', migration: exportFilesGarbage },
  { file: '20261211_016_job_claim_indexes', migration: jobClaimIndexes },
  { file: '20261212_017_positions_without_head_rows', migration: positionsWithoutHeadRows },
];

export const migrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ({ file }) => file,
  getMigration: async ({ migration }) => migration,
};
