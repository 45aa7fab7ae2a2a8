/**
 * Times the listing queries that matter at scale and prints their plans:
 *   npm run measure -- [--database-url postgres://…/db] [--schema taskforge_perf] [--depth 100000] [--runs 30]
 * Run `npm run seed` against the same database first. Timings go through the real ListTasks use
 * case and Knex repository (page query and total together), then the page query alone.
 */
import type { Knex } from 'knex';
import { ListTasks, cursorFor, type ListCriteria, type ListTasksQuery, type Principal } from '../../src/application/index.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { HmacCursorCodec } from '../../src/adapters/security/hmac-cursor-codec.js';
import { parseArgs } from 'node:util';
import { PERF_OPTIONS, perfTarget } from './perf-database.js';

const { values: args } = parseArgs({
  options: {
    ...PERF_OPTIONS,
    user: { type: 'string', default: '1' },
    depth: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '30' },
    'no-plans': { type: 'boolean', default: false },
  },
});
const USER = Number(args.user);
const DEPTH = Number(args.depth);
const RUNS = Number(args.runs);

interface Case {
  name: string;
  query: ListTasksQuery;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
const ms = (value: number) => `${value.toFixed(2)} ms`;

async function time(run: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 3; i++) await run(); // warm caches and the connection
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
}

/** The SQL statements one call issues, as knex reports them. */
async function statementsOf(db: Knex, run: () => Promise<unknown>): Promise<Array<{ sql: string; bindings: readonly unknown[] }>> {
  const captured: Array<{ sql: string; bindings: readonly unknown[] }> = [];
  // PostgreSQL reports native $n placeholders; knex.raw takes ? (the bindings are in order).
  const listener = (query: { sql: string; bindings?: readonly unknown[] }) =>
    captured.push({ sql: query.sql.replace(/\$\d+/g, '?'), bindings: query.bindings ?? [] });
  db.on('query', listener);
  try {
    await run();
  } finally {
    db.removeListener('query', listener);
  }
  return captured;
}

async function plan(db: Knex, postgres: boolean, statement: { sql: string; bindings: readonly unknown[] }): Promise<string> {
  const prefix = postgres ? 'explain (analyze, buffers, costs off) ' : 'explain query plan ';
  const result = await db.raw(prefix + statement.sql, statement.bindings as Knex.RawBinding[]);
  const rows = (postgres ? result.rows : result) as Array<Record<string, unknown>>;
  return rows.map((row) => `    ${String(postgres ? row['QUERY PLAN'] : row.detail)}`).join('\n');
}

async function main(): Promise<void> {
  const target = perfTarget(args);
  const db = await target.open();
  const repo = new KnexTaskRepository(db);
  const codec = HmacCursorCodec.fromSecret('measure');
  const list = new ListTasks(repo, codec);
  const actor: Principal = { userId: USER, role: 'user', sessionId: 'measure', scopes: ['tasks:read'] };
  const total = Number(((await db('tasks').count({ n: '*' }).first()) as { n: string | number }).n);
  const owned = Number(((await db('tasks').where({ user_id: USER }).count({ n: '*' }).first()) as { n: string | number }).n);
  console.log(`${target.label}: ${total} tasks in all, user ${USER} owns ${owned}; ${RUNS} runs each, after 3 warm-up runs\n`);
  if (owned <= DEPTH) throw new Error(`user ${USER} owns ${owned} tasks; --depth ${DEPTH} needs more (seed with a larger --heavy)`);

  // The cursor a client holds after paging DEPTH rows into the default listing (found untimed).
  const criteria: ListCriteria = { sort: '-created_at' };
  const [deepTask] = await repo.findPage(USER, { filter: {}, sort: { key: 'created_at', descending: true }, limit: 1, offset: DEPTH - 1 });
  const deepCursor = codec.encode(cursorFor(USER, criteria, deepTask!));
  const [deepDue] = await repo.findPage(USER, { filter: {}, sort: { key: 'due_date', descending: false }, limit: 1, offset: DEPTH - 1 });
  const deepDueCursor = codec.encode(cursorFor(USER, { sort: 'due_date' }, deepDue!));

  const cases: Case[] = [
    { name: 'first page (default sort -created_at, limit 20)', query: { limit: 20 } },
    { name: `cursor page ${DEPTH.toLocaleString('en')} rows deep (-created_at)`, query: { limit: 20, cursor: deepCursor } },
    { name: `offset page ${DEPTH.toLocaleString('en')} rows deep, for contrast`, query: { limit: 20, offset: DEPTH } },
    { name: 'first page sorted by due_date', query: { limit: 20, sort: 'due_date' } },
    { name: `cursor page ${DEPTH.toLocaleString('en')} rows deep (due_date)`, query: { limit: 20, cursor: deepDueCursor } },
    { name: 'filtered page (status=todo,in_progress priority=high,urgent tag=work sort=due_date)', query: { limit: 20, status: ['todo', 'in_progress'], priority: ['high', 'urgent'], tag: ['work'], sort: 'due_date' } },
    { name: 'search q=report (sort=title)', query: { limit: 20, q: 'report', sort: 'title' } },
  ];

  const rows: string[] = [];
  for (const { name, query } of cases) {
    const whole = await time(() => list.execute(actor, query));
    const page = await list.execute(actor, query);
    const statements = await statementsOf(db, () => list.execute(actor, query));
    const pageStatement = statements.find((statement) => /\bfrom [`"]?tasks\b/i.test(statement.sql) && !/count\(/i.test(statement.sql));
    const pageTime = pageStatement ? await time(() => db.raw(pageStatement.sql, pageStatement.bindings as Knex.RawBinding[])) : { median: 0, p95: 0 };
    rows.push(`| ${name} | ${ms(whole.median)} | ${ms(whole.p95)} | ${ms(pageTime.median)} | ${page.items.length} / ${page.total} |`);
    console.log(`${name}\n  use case (page + total): median ${ms(whole.median)}, p95 ${ms(whole.p95)}; page query alone: median ${ms(pageTime.median)}`);
    if (!args['no-plans']) {
      for (const statement of statements) {
        console.log(`  ${statement.sql.replace(/\s+/g, ' ').slice(0, 400)}`);
        console.log(await plan(db, target.postgres, statement));
      }
    }
    console.log('');
  }
  console.log(`| ${target.label} | median | p95 | page query alone (median) | items / total |\n|---|---|---|---|---|\n${rows.join('\n')}`);
  await db.destroy();
}

main().catch((error: unknown) => {
  console.error(`measure failed: ${String(error instanceof Error ? error.message : error).slice(0, 500)}`);
  process.exit(1);
});
