import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';
import * as perUserTaskCounts from './20261125_004_task_counts.js';

/**
 * Each user's task count is kept in a few stripes instead of one row: a task counts in the stripe
 * its id falls in (id modulo TASK_COUNT_STRIPES), and the count is the sum of a user's stripes.
 *
 * Why: with one row per user, every insert's trigger updated the same row, and on PostgreSQL that
 * row stays locked until the inserting transaction commits, WAL flush included, so one user's
 * concurrent creates queued behind each other (Lock:transactionid). Concurrent inserts get
 * neighbouring ids, so they land in different stripes and commit side by side.
 *
 * A task is counted and uncounted in the same stripe (its id never changes), so every stripe is
 * exactly the number of the user's tasks in it, and the sum stays exact; the stripes go with the
 * user, like the tasks. Reverting brings back migration 004's single row, filled from `tasks`.
 */
export const TASK_COUNT_STRIPES = 16;

export async function up(knex: Knex): Promise<void> {
  await perUserTaskCounts.down(knex);
  await knex.schema.createTable('task_count_stripes', (t) => {
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.smallint('stripe').notNullable();
    t.integer('n').notNullable();
    t.primary(['user_id', 'stripe']);
  });
  await knex.raw(
    `insert into task_count_stripes (user_id, stripe, n) select user_id, id % ${TASK_COUNT_STRIPES}, count(*) from tasks group by user_id, id % ${TASK_COUNT_STRIPES}`,
  );
  const stripe = (task: 'new' | 'old') => `${task}.id % ${TASK_COUNT_STRIPES}`;
  if (isPostgres(knex)) {
    await knex.raw(`
      create function tasks_count_stripes() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into task_count_stripes (user_id, stripe, n) values (new.user_id, ${stripe('new')}, 1)
            on conflict (user_id, stripe) do update set n = task_count_stripes.n + 1;
        else
          update task_count_stripes set n = n - 1 where user_id = old.user_id and stripe = ${stripe('old')};
        end if;
        return null;
      end $$`);
    await knex.raw('create trigger tasks_count_stripes after insert or delete on tasks for each row execute function tasks_count_stripes()');
  } else {
    await knex.raw(`
      create trigger tasks_count_stripes_insert after insert on tasks begin
        insert into task_count_stripes (user_id, stripe, n) values (new.user_id, ${stripe('new')}, 1)
          on conflict (user_id, stripe) do update set n = n + 1;
      end`);
    await knex.raw(`
      create trigger tasks_count_stripes_delete after delete on tasks begin
        update task_count_stripes set n = n - 1 where user_id = old.user_id and stripe = ${stripe('old')};
      end`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.raw('drop trigger tasks_count_stripes on tasks');
    await knex.raw('drop function tasks_count_stripes()');
  } else {
    await knex.raw('drop trigger tasks_count_stripes_insert');
    await knex.raw('drop trigger tasks_count_stripes_delete');
  }
  await knex.schema.dropTable('task_count_stripes');
  await perUserTaskCounts.up(knex);
}
