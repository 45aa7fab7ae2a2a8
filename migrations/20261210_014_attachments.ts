import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * Attachments: files on tasks, their bytes in blob storage under `storage_key`.
 *
 * - `attachments` rows go with their task and their user (ON DELETE CASCADE). Indexes: a task's
 *   listing oldest first (task_id, created_at, id); a user's rows (user_id).
 * - `attachment_usage` is each user's total, charged by one conditional update
 *   (`bytes = bytes + size where bytes + size <= quota`): on PostgreSQL the row lock makes a
 *   concurrent charge wait and re-check the new total, on SQLite there is one writer. Triggers
 *   give the bytes back whenever a row goes, whatever deleted it (the route, or a cascade).
 * - `blob_garbage` names bytes no attachment names (or soon will not): no foreign key, it outlives
 *   users and tasks. An upload records its key before writing with `delete_after` = its deadline;
 *   creating the attachment removes the record. The AFTER DELETE trigger records the key of every
 *   attachment that goes, due at once, so a cascade from a task or a user leaves no bytes behind
 *   either. Housekeeping deletes the bytes of due records, then the records (delete_after index).
 *
 * SQLite fires a child table's triggers for rows deleted by a foreign-key cascade (the connection
 * runs with foreign_keys on); PostgreSQL fires row triggers for cascaded deletes too.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('attachments', (t) => {
    t.string('id', 36).primary();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
    t.string('filename', 255).notNullable();
    t.string('content_type', 255).notNullable();
    t.bigInteger('size').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('storage_key', 512).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['task_id', 'created_at', 'id'], 'attachments_task_created_at');
    t.index(['user_id'], 'attachments_user');
  });
  await knex.schema.createTable('attachment_usage', (t) => {
    t.integer('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('bytes').notNullable();
  });
  await knex.schema.createTable('blob_garbage', (t) => {
    t.string('storage_key', 512).primary();
    t.timestamp('delete_after', { useTz: true }).notNullable();
    t.index(['delete_after'], 'blob_garbage_delete_after');
  });
  if (isPostgres(knex)) {
    await knex.raw(`
      create function attachments_deleted() returns trigger language plpgsql as $$
      begin
        update attachment_usage set bytes = bytes - old.size where user_id = old.user_id;
        insert into blob_garbage (storage_key, delete_after) values (old.storage_key, statement_timestamp())
          on conflict (storage_key) do update set delete_after = excluded.delete_after;
        return null;
      end $$`);
    await knex.raw('create trigger attachments_deleted after delete on attachments for each row execute function attachments_deleted()');
  } else {
    // Times as the application writes them: RFC 3339 UTC text with milliseconds, which sorts as it compares.
    await knex.raw(`
      create trigger attachments_deleted after delete on attachments begin
        update attachment_usage set bytes = bytes - old.size where user_id = old.user_id;
        insert into blob_garbage (storage_key, delete_after) values (old.storage_key, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
          on conflict (storage_key) do update set delete_after = excluded.delete_after;
      end`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.raw('drop trigger attachments_deleted on attachments');
    await knex.raw('drop function attachments_deleted()');
  } else {
    await knex.raw('drop trigger attachments_deleted');
  }
  await knex.schema.dropTable('blob_garbage');
  await knex.schema.dropTable('attachment_usage');
  await knex.schema.dropTable('attachments');
}
