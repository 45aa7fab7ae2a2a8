import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

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
 * - Task events are appended by triggers on `tasks`, in the statement that writes the task: a
 *   created, updated (its version changed) or deleted task appends `task.created`,
 *   `task.updated` or `task.deleted`. The write and its event are then one statement, as cheap
 *   as the write alone was before the log, and no path that writes tasks can forget the event.
 *   Created and updated events hold the row as the repository reads it (JSON); deleted ones the
 *   task's id. A task deleted because its user is being deleted appends nothing: the user's log
 *   goes with them.
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
  if (isPostgres(knex)) await createPostgresTriggers(knex);
  else await createSqliteTriggers(knex);
}

/** The task columns the repository reads a Task from, as the snapshot of created and updated events. */
const SNAPSHOT_COLUMNS = [
  'id', 'user_id', 'title', 'description', 'status', 'priority', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version',
];
const snapshot = (buildObject: 'json_object' | 'json_build_object'): string =>
  `${buildObject}(${SNAPSHOT_COLUMNS.map((column) => `'${column}', new.${column}`).join(', ')})`;

/** What each trigger appends for the task `row` (new or old): its type, its time and its data. */
interface TaskEvent {
  type: string;
  occurredAt: string;
  data: string;
}

/** SQLite's triggers: like the application, one writer at a time, so the head and the event are two statements. */
async function createSqliteTriggers(knex: Knex): Promise<void> {
  const append = (row: 'new' | 'old', event: TaskEvent): string => `
      insert into event_heads (user_id, position) values (${row}.user_id, 1) on conflict (user_id) do update set position = position + 1;
      insert into events (user_id, position, type, occurred_at, data)
        select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data} from event_heads where user_id = ${row}.user_id;`;
  await knex.raw(`
    create trigger tasks_change_log_insert after insert on tasks begin
      ${append('new', { type: 'task.created', occurredAt: 'new.created_at', data: snapshot('json_object') })}
    end`);
  await knex.raw(`
    create trigger tasks_change_log_update after update of version on tasks when old.version is not new.version begin
      ${append('new', { type: 'task.updated', occurredAt: 'new.updated_at', data: snapshot('json_object') })}
    end`);
  // Now, as the application writes times: RFC 3339 UTC text with milliseconds. A task whose user
  // is gone is being deleted with them: their log goes too, and an event would name no user.
  await knex.raw(`
    create trigger tasks_change_log_delete after delete on tasks when exists (select 1 from users where id = old.user_id) begin
      ${append('old', { type: 'task.deleted', occurredAt: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, data: `json_object('taskId', old.id)` })}
    end`);
}

/**
 * PostgreSQL's: the head and the event are one statement, as KnexEventAppender appends them. The
 * head row stays locked until the write commits, so one user's positions follow commit order.
 */
async function createPostgresTriggers(knex: Knex): Promise<void> {
  const append = (row: 'new' | 'old', event: TaskEvent): string => `
      with head as (
        insert into event_heads (user_id, position) values (${row}.user_id, 1)
        on conflict (user_id) do update set position = event_heads.position + 1
        returning position)
      insert into events (user_id, position, type, occurred_at, data)
      select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data}::text from head;`;
  await knex.raw(`
    create function tasks_change_log() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${append('new', { type: 'task.created', occurredAt: 'new.created_at', data: snapshot('json_build_object') })}
      elsif tg_op = 'UPDATE' then
        ${append('new', { type: 'task.updated', occurredAt: 'new.updated_at', data: snapshot('json_build_object') })}
      -- A task whose user is gone is being deleted with them: their log goes too.
      elsif exists (select 1 from users where id = old.user_id) then
        ${append('old', { type: 'task.deleted', occurredAt: 'statement_timestamp()', data: `json_build_object('taskId', old.id)` })}
      end if;
      return null;
    end $$`);
  await knex.raw('create trigger tasks_change_log_insert after insert on tasks for each row execute function tasks_change_log()');
  await knex.raw(
    'create trigger tasks_change_log_update after update of version on tasks for each row when (old.version is distinct from new.version) execute function tasks_change_log()',
  );
  await knex.raw('create trigger tasks_change_log_delete after delete on tasks for each row execute function tasks_change_log()');
}

export async function down(knex: Knex): Promise<void> {
  for (const event of ['insert', 'update', 'delete']) await knex.raw(`drop trigger tasks_change_log_${event}${isPostgres(knex) ? ' on tasks' : ''}`);
  if (isPostgres(knex)) await knex.raw('drop function tasks_change_log()');
  await knex.schema.dropTable('event_tickets');
  await knex.schema.dropTable('events');
  await knex.schema.dropTable('event_heads');
}
