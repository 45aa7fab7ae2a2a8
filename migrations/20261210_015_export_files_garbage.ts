import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * An export row deleted while its file is still there (its user deleted, by cascade) records the
 * file's key as due garbage, as a deleted attachment does: the purge removes the bytes, so a
 * deleted account leaves no file behind until some expiry sweep that no longer knows of it.
 * Rows forgotten by housekeeping had their file removed first (`file_removed_at`): nothing to do.
 * The key is the one the service gives an export's file: `exports/<id>.<format>`.
 */
export async function up(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.raw(`
      create function exports_deleted() returns trigger language plpgsql as $$
      begin
        if old.file_removed_at is null then
          insert into blob_garbage (storage_key, delete_after) values ('exports/' || old.id || '.' || old.format, statement_timestamp())
            on conflict (storage_key) do update set delete_after = excluded.delete_after;
        end if;
        return null;
      end $$`);
    await knex.raw('create trigger exports_deleted after delete on exports for each row execute function exports_deleted()');
  } else {
    await knex.raw(`
      create trigger exports_deleted after delete on exports when old.file_removed_at is null begin
        insert into blob_garbage (storage_key, delete_after) values ('exports/' || old.id || '.' || old.format, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
          on conflict (storage_key) do update set delete_after = excluded.delete_after;
      end`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.raw('drop trigger exports_deleted on exports');
    await knex.raw('drop function exports_deleted()');
  } else {
    await knex.raw('drop trigger exports_deleted');
  }
}
