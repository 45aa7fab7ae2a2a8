import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * Tag rows become a derived index of tasks.tags, kept by triggers on tasks, and one B-tree keyed
 * (user_id, tag, task_id) — the key every tag filter reads by — instead of a table, its primary
 * key on (task_id, tag) and a second index.
 *
 * Why: each create wrote its tag rows into three B-trees, and on SQLite that was a third of the
 * writer's time per task and several WAL pages per commit. The tag rows are now written by the
 * statement that writes the task, with nothing for the application to keep in step, and every
 * path that changes tasks — a user's deletion cascading, SQL by hand — keeps them true. The
 * delete trigger finds a task's rows through its tags, so no index on task_id is needed.
 */
export async function up(knex: Knex): Promise<void> {
  if (isPostgres(knex)) await upPostgres(knex);
  else await upSqlite(knex);
}

/**
 * Every tag row that the tasks' tags columns imply, as (user_id, tag, task_id). On SQLite "where
 * true" keeps an upsert after it from being read as a join constraint.
 */
const tagRowsOfTasks = (postgres: boolean): string =>
  postgres
    ? 'select tasks.user_id, tag, tasks.id from tasks cross join lateral jsonb_array_elements_text(tasks.tags::jsonb) as tag'
    : 'select tasks.user_id, tag.value, tasks.id from tasks, json_each(tasks.tags) as tag where true';

/** The body of SQLite's insert and update triggers: the new tags' rows, those already there kept. */
const SQLITE_INSERT_NEW_TAGS = `
      insert into task_tags (user_id, tag, task_id)
      select new.user_id, value, new.id from json_each(new.tags) where true on conflict do nothing;`;

async function upSqlite(knex: Knex): Promise<void> {
  await knex.raw(`
    create table task_tags_next (
      user_id integer not null, tag varchar(200) not null, task_id integer not null,
      primary key (user_id, tag, task_id)
    ) without rowid`);
  await knex.raw(`insert into task_tags_next (user_id, tag, task_id) ${tagRowsOfTasks(false)} on conflict do nothing`);
  await knex.schema.dropTable('task_tags');
  await knex.raw('alter table task_tags_next rename to task_tags');
  await knex.raw(`create trigger tasks_tags_insert after insert on tasks begin ${SQLITE_INSERT_NEW_TAGS} end`);
  await knex.raw(`
    create trigger tasks_tags_update after update of tags on tasks when old.tags is not new.tags begin
      delete from task_tags
      where user_id = old.user_id and task_id = old.id
        and tag in (select value from json_each(old.tags)) and tag not in (select value from json_each(new.tags));
      ${SQLITE_INSERT_NEW_TAGS}
    end`);
  await knex.raw(`
    create trigger tasks_tags_delete after delete on tasks begin
      delete from task_tags where user_id = old.user_id and task_id = old.id and tag in (select value from json_each(old.tags));
    end`);
}

async function upPostgres(knex: Knex): Promise<void> {
  await knex.raw(`
    create table task_tags_next (
      user_id integer not null, tag varchar(200) not null, task_id integer not null,
      constraint task_tags_next_pkey primary key (user_id, tag, task_id)
    )`);
  await knex.raw(`insert into task_tags_next (user_id, tag, task_id) ${tagRowsOfTasks(true)} on conflict do nothing`);
  await knex.schema.dropTable('task_tags');
  await knex.raw('alter table task_tags_next rename to task_tags');
  await knex.raw('alter table task_tags rename constraint task_tags_next_pkey to task_tags_pkey');
  await knex.raw(`
    create function tasks_tags() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'INSERT' then
        delete from task_tags
        where user_id = old.user_id and task_id = old.id
          and tag in (select jsonb_array_elements_text(old.tags::jsonb))
          and (tg_op = 'DELETE' or tag not in (select jsonb_array_elements_text(new.tags::jsonb)));
      end if;
      if tg_op <> 'DELETE' then
        insert into task_tags (user_id, tag, task_id)
        select new.user_id, tag, new.id from jsonb_array_elements_text(new.tags::jsonb) as tag
        on conflict do nothing;
      end if;
      return null;
    end $$`);
  await knex.raw('create trigger tasks_tags_insert after insert on tasks for each row execute function tasks_tags()');
  await knex.raw(
    'create trigger tasks_tags_update after update of tags on tasks for each row when (old.tags is distinct from new.tags) execute function tasks_tags()',
  );
  await knex.raw('create trigger tasks_tags_delete after delete on tasks for each row execute function tasks_tags()');
}

/** Back to migration 005's shape: tag rows that the application writes, filled from tasks.tags. */
export async function down(knex: Knex): Promise<void> {
  const postgres = isPostgres(knex);
  if (postgres) {
    for (const event of ['insert', 'update', 'delete']) await knex.raw(`drop trigger tasks_tags_${event} on tasks`);
    await knex.raw('drop function tasks_tags()');
  } else {
    for (const event of ['insert', 'update', 'delete']) await knex.raw(`drop trigger tasks_tags_${event}`);
  }
  await knex.schema.dropTable('task_tags');
  await knex.schema.createTable('task_tags', (t) => {
    t.integer('task_id').notNullable().references('id').inTable('tasks').onDelete('CASCADE');
    t.string('tag', 200).notNullable();
    t.integer('user_id').nullable();
    t.primary(['task_id', 'tag']);
    t.index(['user_id', 'tag', 'task_id'], 'task_tags_user_tag');
  });
  await knex.raw(`insert into task_tags (user_id, tag, task_id) ${tagRowsOfTasks(postgres)} on conflict do nothing`);
}
