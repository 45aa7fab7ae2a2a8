import type { Knex } from 'knex';
import { isPostgres } from '../src/adapters/persistence/knex/dialect.js';

/**
 * Tag rows carry their task's owner, indexed with the tag, so a tag filter starts from the
 * matching rows of one user instead of probing task_tags for every task the user has: the
 * tag-filtered `total` of a 200,000-task account walked all 200,000 (~250 ms on SQLite, on the
 * event loop). A task never changes owner, so the copy cannot go stale; it is written with the
 * tag rows and goes with them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('task_tags', (t) => {
    t.integer('user_id').nullable();
  });
  if (isPostgres(knex)) {
    await knex.raw('update task_tags set user_id = tasks.user_id from tasks where tasks.id = task_tags.task_id');
  } else {
    await knex.raw('update task_tags set user_id = (select user_id from tasks where tasks.id = task_tags.task_id)');
  }
  await knex.schema.alterTable('task_tags', (t) => {
    t.index(['user_id', 'tag', 'task_id'], 'task_tags_user_tag');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('task_tags', (t) => {
    t.dropIndex(['user_id', 'tag', 'task_id'], 'task_tags_user_tag');
  });
  await knex.schema.alterTable('task_tags', (t) => {
    t.dropColumn('user_id');
  });
}
