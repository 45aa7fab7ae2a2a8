/**
 * Fills a database with many users and tasks for the scale check:
 *   npm run seed -- --users 1000 --tasks 1000000 [--heavy 200000] [--database-url postgres://…/db] [--schema taskforge_perf]
 * One user (id 1, "heavy") owns --heavy tasks, enough to page 100,000 rows deep; the others share
 * the rest. Rows are written directly in large batches inside transactions, with the same derived
 * columns (lower-cased title, priority rank, tag rows) the repository writes.
 */
import type { Knex } from 'knex';
import { priorityRank, titleKey, TASK_PRIORITIES, type TaskPriority, type TaskStatus } from '../../src/domain/index.js';
import { parseArgs } from 'node:util';
import { PERF_OPTIONS, perfTarget } from './perf-database.js';

const { values: args } = parseArgs({
  options: {
    ...PERF_OPTIONS,
    users: { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '1000000' },
    heavy: { type: 'string' },
    seed: { type: 'string', default: '42' },
  },
});
const USERS = Number(args.users);
const TASKS = Number(args.tasks);
const HEAVY = Math.min(TASKS, Number(args.heavy ?? Math.min(200_000, Math.floor(TASKS / 5))));

/** mulberry32: the same data on every run and every engine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(Number(args.seed));
const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;

const WORDS = ['Review', 'quarterly', 'report', 'Call', 'dentist', 'Fix', 'login', 'bug', 'Plan', 'sprint', 'Write', 'blog', 'post', 'Update',
  'invoice', 'Buy', 'groceries', 'Prepare', 'slides', 'Email', 'team', 'Renew', 'passport', 'Deploy', 'release', 'Clean', 'garage', 'Book',
  'flights', 'Refactor', 'billing', 'module', 'Read', 'paper', 'Pay', 'rent', 'Backup', 'laptop', 'Organise', 'meetup'];
const TAG_POOL = ['work', 'home', 'urgent', 'errand', 'finance', 'health', 'q1', 'q2', 'q3', 'q4', 'travel', 'family', 'code', 'ops', 'reading',
  'writing', 'music', 'garden', 'car', 'school'];
const STATUSES: TaskStatus[] = ['todo', 'todo', 'todo', 'in_progress', 'done', 'done'];
const START = Date.parse('2024-01-01T00:00:00.000Z');
const SPAN_MS = 2 * 365 * 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

function taskRow(id: number, userId: number) {
  const words = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(WORDS));
  const title = `${words.join(' ')} ${id % 1000}`;
  const status = pick(STATUSES);
  const priority: TaskPriority = pick(TASK_PRIORITIES);
  // Creation time grows with the id (as it does in life), with jitter so ties and inversions occur.
  const created = START + Math.floor((id / TASKS) * SPAN_MS) + Math.floor(rnd() * 3_600_000);
  const updated = created + Math.floor(rnd() * 30 * 86_400_000);
  const tags = [...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => pick(TAG_POOL)))];
  return {
    id,
    user_id: userId,
    title,
    title_key: titleKey(title),
    description: '',
    status,
    priority,
    priority_rank: priorityRank(priority),
    due_date: rnd() < 0.7 ? iso(created + Math.floor(rnd() * 90 * 86_400_000)) : null,
    tags: JSON.stringify(tags),
    completed_at: status === 'done' ? iso(updated) : null,
    created_at: iso(created),
    updated_at: iso(updated),
    version: 1 + Math.floor(rnd() * 3),
  };
}

/** Multi-row VALUES statements, under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
async function insertAll(trx: Knex.Transaction, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.floor(32_000 / columns.length);
  const tuple = `(${columns.map(() => '?').join(',')})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const sql = `insert into ${table} (${columns.join(',')}) values ${chunk.map(() => tuple).join(',')}`;
    await trx.raw(sql, chunk.flatMap((row) => columns.map((column) => row[column] as Knex.Value)));
  }
}

async function main(): Promise<void> {
  const target = perfTarget(args);
  const db = await target.open();
  const started = Date.now();
  console.log(`seeding ${target.label}: ${USERS} users, ${TASKS} tasks (${HEAVY} for user 1)`);

  await db('users').delete(); // cascades to tasks, tags, sessions and idempotency keys
  const now = new Date().toISOString();
  const users = Array.from({ length: USERS }, (_, i) => ({
    id: i + 1,
    username: i === 0 ? 'heavy' : `user${i + 1}`,
    username_key: i === 0 ? 'heavy' : `user${i + 1}`,
    email: `user${i + 1}@example.com`,
    email_key: `user${i + 1}@example.com`,
    role: 'user',
    password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$not-a-real-hash-seed-data-only',
    created_at: now,
    updated_at: now,
  }));
  await db.transaction((trx) => insertAll(trx, 'users', users));

  const BATCH = 20_000;
  const heavyShare = HEAVY / TASKS;
  for (let first = 1; first <= TASKS; first += BATCH) {
    const tasks: Array<Record<string, unknown>> = [];
    for (let id = first; id < Math.min(first + BATCH, TASKS + 1); id++) {
      const owner = USERS === 1 || rnd() < heavyShare ? 1 : 2 + Math.floor(rnd() * (USERS - 1));
      tasks.push(taskRow(id, owner));
    }
    // Their tag rows are written by the triggers on tasks.
    await db.transaction((trx) => insertAll(trx, 'tasks', tasks));
    if ((first - 1) % 100_000 === 0) process.stdout.write(`  ${first - 1 + tasks.length} tasks, ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  if (target.postgres) {
    // Explicit ids bypassed the sequences; later inserts must not collide with them.
    await db.raw(`select setval(pg_get_serial_sequence('users', 'id'), (select max(id) from users))`);
    await db.raw(`select setval(pg_get_serial_sequence('tasks', 'id'), (select max(id) from tasks))`);
    // Sets the visibility map too, so counts can be index-only scans as on a long-lived table.
    for (const table of ['users', 'tasks', 'task_tags']) await db.raw(`vacuum analyze ${table}`);
  } else {
    await db.raw('analyze');
  }
  const heavy = Number(((await db('tasks').where({ user_id: 1 }).count({ n: '*' }).first()) as { n: string | number }).n);
  console.log(`done in ${Math.round((Date.now() - started) / 1000)} s; user 1 owns ${heavy} tasks`);
  await db.destroy();
}

main().catch((error: unknown) => {
  console.error(`seed failed: ${String(error instanceof Error ? error.message : error).slice(0, 500)}`);
  process.exit(1);
});
