import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';
import { EVENT_APPEND_LOCK } from '../src/adapters/persistence/knex/event-append-lock.js';

/**
 * An event's position is the user's newest position plus one, read from `events` itself, instead
 * of a counter row written with every event: the row doubled what each task write changed on
 * SQLite and, on PostgreSQL, added an updated row (and its WAL record) to every write.
 *
 * - `event_heads` becomes `purged_event_heads`: a user's newest position at the last purge that
 *   emptied their log up to it, written only by the purge. A user's head is the newer of that
 *   and their newest event, so positions go on where they were even after every event is gone.
 *   The rows there today are current heads, as good a floor as a purge would leave.
 * - On PostgreSQL one user's appends take turns through a transaction-level advisory lock
 *   (`EVENT_APPEND_LOCK`, the user's id), held until the transaction ends exactly as the head
 *   row's lock was: positions follow commit order. The lock comes first and the newest position
 *   is read in the next statement, whose snapshot sees the commit of the transaction the lock
 *   waited for. `log_event` is that pair, for the triggers and for KnexChangeLog alike.
 * - SQLite has one writer at a time and needs no lock.
 * - The purge, once an hour, no longer has every append insert into a B-tree on `occurred_at`.
 *   On PostgreSQL it finds old events through a BRIN index instead: events are appended in time
 *   order, so block ranges summarise them well. SQLite has no such index, and the purge reads
 *   the table through, on a reader connection, beside the writer.
 */
/** The task columns the repository reads a Task from, as the snapshot of created and updated events (as in migration 010). */
const SNAPSHOT_COLUMNS = [
  'id', 'user_id', 'title', 'description', 'status', 'priority', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version', 'remind_at',
];
const snapshot = (buildObject: 'json_object' | 'json_build_object'): string =>
  `${buildObject}(${SNAPSHOT_COLUMNS.map((column) => `'${column}', new.${column}`).join(', ')})`;

/** What a trigger appends for the task `new` or `old`: its type, its time and its data. */
interface TaskEvent {
  type: string;
  occurredAt: string;
  data: string;
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.renameTable('event_heads', 'purged_event_heads');
  await knex.raw('drop index events_occurred_at_index');
  if (isPostgres(knex)) {
    await appendByLockPostgres(knex);
    await knex.raw('create index events_occurred_at_brin on events using brin (occurred_at)');
  } else {
    await appendByNewestSqlite(knex);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.renameTable('purged_event_heads', 'event_heads');
  // The counter rows hold every user's head again, events or not.
  await knex.raw(`
    insert into event_heads (user_id, position)
    select user_id, max(position) from events where true group by user_id
    on conflict (user_id) do update set position = excluded.position`);
  if (isPostgres(knex)) {
    await appendByHeadRowPostgres(knex);
    await knex.raw('drop index events_occurred_at_brin');
  } else {
    await appendByHeadRowSqlite(knex);
  }
  await knex.raw('create index events_occurred_at_index on events (occurred_at)');
}

/**
 * The newest position of `user` (an SQL expression), purged ones included. While the user has
 * events the purge's floor lies below them all, so it is read only once the log is empty.
 */
const newestPosition = (user: string): string =>
  `coalesce((select max(position) from events where user_id = ${user}),
            (select position from purged_event_heads where user_id = ${user}), 0)`;

/** The statements that append one event on PostgreSQL: the user's lock, then the row (see above). */
const appendPostgres = (user: string, type: string, occurredAt: string, data: string): string => `
      perform pg_advisory_xact_lock(${EVENT_APPEND_LOCK}, ${user});
      insert into events (user_id, position, type, occurred_at, data)
      values (${user}, ${newestPosition(user)} + 1, ${type}, ${occurredAt}, ${data})`;

async function appendByNewestSqlite(knex: Knex): Promise<void> {
  await replaceSqliteTriggers(knex, (row, event) => `
      insert into events (user_id, position, type, occurred_at, data)
      values (${row}.user_id, ${newestPosition(`${row}.user_id`)} + 1, '${event.type}', ${event.occurredAt}, ${event.data});`);
}

async function appendByHeadRowSqlite(knex: Knex): Promise<void> {
  await replaceSqliteTriggers(knex, (row, event) => `
      insert into event_heads (user_id, position) values (${row}.user_id, 1) on conflict (user_id) do update set position = position + 1;
      insert into events (user_id, position, type, occurred_at, data)
        select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data} from event_heads where user_id = ${row}.user_id;`);
}

/** SQLite's triggers hold their bodies: all three are dropped and created again around `append`. */
async function replaceSqliteTriggers(knex: Knex, append: (row: 'new' | 'old', event: TaskEvent) => string): Promise<void> {
  for (const event of ['insert', 'update', 'delete']) await knex.raw(`drop trigger tasks_change_log_${event}`);
  await knex.raw(`
    create trigger tasks_change_log_insert after insert on tasks begin
      ${append('new', { type: 'task.created', occurredAt: 'new.created_at', data: snapshot('json_object') })}
    end`);
  await knex.raw(`
    create trigger tasks_change_log_update after update of version on tasks when old.version is not new.version begin
      ${append('new', { type: 'task.updated', occurredAt: 'new.updated_at', data: snapshot('json_object') })}
    end`);
  // A task whose user is gone is being deleted with them: their log goes too.
  await knex.raw(`
    create trigger tasks_change_log_delete after delete on tasks when exists (select 1 from users where id = old.user_id) begin
      ${append('old', { type: 'task.deleted', occurredAt: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, data: `json_object('taskId', old.id)` })}
    end`);
}

/** `log_event` appends for KnexChangeLog; the triggers run the same statements in their own body, a call the cheaper. */
async function appendByLockPostgres(knex: Knex): Promise<void> {
  await knex.raw(`
    create function log_event(event_user integer, event_type text, event_time timestamptz, event_data text) returns bigint
    language plpgsql as $$
    declare
      event_id bigint;
    begin
      ${appendPostgres('event_user', 'event_type', 'event_time', 'event_data')}
      returning id into event_id;
      return event_id;
    end $$`);
  await replacePostgresFunction(knex, (row, event) => `${appendPostgres(`${row}.user_id`, `'${event.type}'`, event.occurredAt, `${event.data}::text`)};`);
}

async function appendByHeadRowPostgres(knex: Knex): Promise<void> {
  await replacePostgresFunction(knex, (row, event) => `
      with head as (
        insert into event_heads (user_id, position) values (${row}.user_id, 1)
        on conflict (user_id) do update set position = event_heads.position + 1
        returning position)
      insert into events (user_id, position, type, occurred_at, data)
      select ${row}.user_id, position, '${event.type}', ${event.occurredAt}, ${event.data}::text from head;`);
  await knex.raw('drop function log_event(integer, text, timestamptz, text)');
}

/** PostgreSQL's triggers call one function: replacing it is enough, and the triggers stay as they are. */
async function replacePostgresFunction(knex: Knex, append: (row: 'new' | 'old', event: TaskEvent) => string): Promise<void> {
  await knex.raw(`
    create or replace function tasks_change_log() returns trigger language plpgsql as $$
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
}
