import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * Task reminders.
 *
 * - `tasks.remind_at`: when the owner wants a `task.reminder` event, stored as `due_date` is.
 * - `tasks.reminder_fired_for`: the remind_at the reminder last fired for (internal, never in
 *   the API). A reminder is pending while remind_at is set and differs from it; firing sets it
 *   to remind_at in one conditional statement, so of all the jobs and sweeps that try, exactly
 *   one fires it. Firing leaves `version` alone: it is no edit, and records no `task.updated`.
 * - `tasks_pending_reminders`: the pending reminders only, by time, for the sweep that fires
 *   the ones whose job was lost. Its predicate is spelt as the repository's queries spell it.
 * - The change-log triggers of migration 009 are recreated so that the task snapshots of
 *   `task.created` and `task.updated` include remind_at; everything else they do is unchanged.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tasks', (t) => {
    t.timestamp('remind_at', { useTz: true }).nullable();
    t.timestamp('reminder_fired_for', { useTz: true }).nullable();
  });
  await knex.raw(`
    create index tasks_pending_reminders on tasks (remind_at, id, user_id)
    where remind_at is not null and (reminder_fired_for is null or reminder_fired_for <> remind_at)`);
  await recreateSnapshotTriggers(knex, [...SNAPSHOT_COLUMNS_009, 'remind_at']);
}

export async function down(knex: Knex): Promise<void> {
  await recreateSnapshotTriggers(knex, SNAPSHOT_COLUMNS_009);
  await knex.raw('drop index tasks_pending_reminders');
  // Plain SQL: knex would rebuild an SQLite table to drop a column, and lose its triggers.
  for (const column of ['reminder_fired_for', 'remind_at']) await knex.raw(`alter table tasks drop column ${column}`);
}

/** The snapshot migration 009 takes: the task columns the repository read a Task from then. */
const SNAPSHOT_COLUMNS_009 = [
  'id', 'user_id', 'title', 'description', 'status', 'priority', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version',
];

async function recreateSnapshotTriggers(knex: Knex, columns: readonly string[]): Promise<void> {
  if (isPostgres(knex)) await replacePostgresFunction(knex, columns);
  else await recreateSqliteTriggers(knex, columns);
}

const snapshot = (buildObject: 'json_object' | 'json_build_object', columns: readonly string[]): string =>
  `${buildObject}(${columns.map((column) => `'${column}', new.${column}`).join(', ')})`;

/** What a trigger appends for the task `new` or `old`: its type, its time and its data (as in migration 009). */
interface TaskEvent {
  type: string;
  occurredAt: string;
  data: string;
}

/**
 * SQLite's triggers hold their bodies, so the insert and update triggers are dropped and created
 * again, as migration 009 created them; the delete trigger holds no snapshot and stays.
 */
async function recreateSqliteTriggers(knex: Knex, columns: readonly string[]): Promise<void> {
  const append = (row: 'new' | 'old', event: TaskEvent): string => `
      insert into event_heads (user_id, position) values (${row}.user_id, 1) on conflict (user_id) do update set position = position + 1;
      insert into events (user_id, position, type, occurred_at, data)
        select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data} from event_heads where user_id = ${row}.user_id;`;
  await knex.raw('drop trigger tasks_change_log_insert');
  await knex.raw(`
    create trigger tasks_change_log_insert after insert on tasks begin
      ${append('new', { type: 'task.created', occurredAt: 'new.created_at', data: snapshot('json_object', columns) })}
    end`);
  await knex.raw('drop trigger tasks_change_log_update');
  await knex.raw(`
    create trigger tasks_change_log_update after update of version on tasks when old.version is not new.version begin
      ${append('new', { type: 'task.updated', occurredAt: 'new.updated_at', data: snapshot('json_object', columns) })}
    end`);
}

/** PostgreSQL's triggers call one function: replacing it is enough, and the triggers stay as they are. */
async function replacePostgresFunction(knex: Knex, columns: readonly string[]): Promise<void> {
  const append = (row: 'new' | 'old', event: TaskEvent): string => `
      with head as (
        insert into event_heads (user_id, position) values (${row}.user_id, 1)
        on conflict (user_id) do update set position = event_heads.position + 1
        returning position)
      insert into events (user_id, position, type, occurred_at, data)
      select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data}::text from head;`;
  await knex.raw(`
    create or replace function tasks_change_log() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${append('new', { type: 'task.created', occurredAt: 'new.created_at', data: snapshot('json_build_object', columns) })}
      elsif tg_op = 'UPDATE' then
        ${append('new', { type: 'task.updated', occurredAt: 'new.updated_at', data: snapshot('json_build_object', columns) })}
      -- A task whose user is gone is being deleted with them: their log goes too.
      elsif exists (select 1 from users where id = old.user_id) then
        ${append('old', { type: 'task.deleted', occurredAt: 'statement_timestamp()', data: `json_build_object('taskId', old.id)` })}
      end if;
      return null;
    end $$`);
}
