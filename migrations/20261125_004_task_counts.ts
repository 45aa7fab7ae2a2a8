import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * How many tasks each user has, kept by triggers in the transaction that inserts or deletes a
 * task. An unfiltered GET /tasks answers `total` from it with one primary-key read, where
 * count(*) walks all of the user's index entries, on every page, at a cost that grows with the
 * number of tasks. Triggers rather than application code, so every path that adds or
 * removes tasks (a user's deletion cascading, SQL by hand) keeps the count true. A task never
 * changes owner, so updates need no trigger.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('task_counts', (t) => {
    t.integer('user_id').unsigned().primary().references('id').inTable('users').onDelete('CASCADE');
    t.integer('n').notNullable();
  });
  await knex.raw('insert into task_counts (user_id, n) select user_id, count(*) from tasks group by user_id');
  if (isPostgres(knex)) {
    await knex.raw(`
      create function tasks_count() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into task_counts (user_id, n) values (new.user_id, 1)
            on conflict (user_id) do update set n = task_counts.n + 1;
        else
          update task_counts set n = n - 1 where user_id = old.user_id;
        end if;
        return null;
      end $$`);
    await knex.raw('create trigger tasks_count after insert or delete on tasks for each row execute function tasks_count()');
  } else {
    await knex.raw(`
      create trigger tasks_count_insert after insert on tasks begin
        insert into task_counts (user_id, n) values (new.user_id, 1) on conflict (user_id) do update set n = n + 1;
      end`);
    await knex.raw(`
      create trigger tasks_count_delete after delete on tasks begin
        update task_counts set n = n - 1 where user_id = old.user_id;
      end`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.raw('drop trigger tasks_count on tasks');
    await knex.raw('drop function tasks_count()');
  } else {
    await knex.raw('drop trigger tasks_count_insert');
    await knex.raw('drop trigger tasks_count_delete');
  }
  await knex.schema.dropTable('task_counts');
}
