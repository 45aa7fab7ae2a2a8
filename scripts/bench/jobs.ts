/**
 * npm run bench:jobs [-- options]
 *
 * Background jobs measured from outside, against the compiled service (dist/):
 * - exports: one user's N tasks (default 100,000, written straight into the database) exported as
 *   JSON and as CSV through `POST /exports`; the time from the 202 to `succeeded`, the growth of
 *   the worker's peak resident memory while it ran, and the downloaded file checked for every task;
 * - reminders: M tasks (default 10,000) created through the API with one `remind_at`, all due at
 *   the same instant; how long after it the last `task.reminder` event was appended, and that
 *   every task got exactly one;
 * - enqueueing: the median latency of `POST /tasks` with a `remind_at` (which enqueues a job)
 *   against the same request without one, one request at a time, interleaved.
 *
 * Setups: `sqlite` (one process running its jobs itself, on the embedded queue), `postgres` (the
 * API with WORKERS=off and a worker process, on BullMQ's PostgreSQL backend) and `postgres-redis`
 * (the same on BullMQ over Redis).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import knex, { type Knex } from 'knex';
import { createDatabase } from '../../src/adapters/persistence/knex/database.js';
import { priorityRank, titleKey } from '../../src/domain/index.js';
import {
  PeakRssMeter,
  freePort,
  mapLimit,
  migrateWithCli,
  percentile,
  redisAnswers,
  requestJson,
  round1,
  rssMiB,
  sleep,
  startServer,
  wholeNumber,
  type ServerProcess,
} from './harness.js';
import { createScratchDatabase, probe, redact, type ScratchDatabase } from './pg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_MAIN = path.join(ROOT, 'dist/src/infrastructure/main.js');
const DIST_WORKER = path.join(ROOT, 'dist/src/infrastructure/worker.js');
const DIST_CLI = path.join(ROOT, 'dist/src/infrastructure/cli.js');
const JWT_SECRET = 'bench-jobs-secret-that-is-long-enough-0123456789';
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const SETUPS = ['sqlite', 'postgres', 'postgres-redis'] as const;
type Setup = (typeof SETUPS)[number];

const TARGETS = { exportSeconds: 20, exportRssMiB: 50, reminderSeconds: 60, enqueueMs: 2 } as const;

const HELP = `npm run bench:jobs -- [options]
  --setups <a,b>      of ${SETUPS.join(', ')} (default: all whose services answer)
  --tasks <n>         tasks in the exported account (default 100000)
  --reminders <n>     reminders due at the same instant (default 10000)
  --requests <n>      POST /tasks of each kind for the enqueue cost (default 1000)
  --pg <url>          PostgreSQL (or BENCH_PG_URL; default ${DEFAULT_PG_URL})
  --redis <url>       Redis (or BENCH_REDIS_URL; default ${DEFAULT_REDIS_URL})
  --steps <a,b>       of exports, reminders, enqueue (default: all)
  --smoke             2,000 tasks, 200 reminders, 100 requests: checks the bench, measures nothing
  --check             exit 1 when a target is missed`;

const { values: args } = parseArgs({
  options: {
    setups: { type: 'string' },
    steps: { type: 'string' },
    tasks: { type: 'string' },
    reminders: { type: 'string' },
    requests: { type: 'string' },
    pg: { type: 'string' },
    redis: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const TASKS = wholeNumber('tasks', args.tasks, args.smoke ? 2_000 : 100_000);
const REMINDERS = wholeNumber('reminders', args.reminders, args.smoke ? 200 : 10_000);
const REQUESTS = wholeNumber('requests', args.requests, args.smoke ? 100 : 1_000);
const STEPS = ['exports', 'reminders', 'enqueue'] as const;
type Step = (typeof STEPS)[number];
const steps = new Set((args.steps?.split(',').map((s) => s.trim()) ?? [...STEPS]) as Step[]);
for (const step of steps) if (!STEPS.includes(step)) throw new Error(`unknown step "${step}"; known: ${STEPS.join(', ')}`);
const PG_URL = args.pg ?? process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const REDIS_URL = args.redis ?? process.env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL;

interface Check {
  what: string;
  value: number;
  target: string;
  ok: boolean;
}

interface ExportResult {
  format: 'json' | 'csv';
  seconds: number;
  rssGrowthMiB: number;
  sizeMiB: number;
}

interface SetupResult {
  setup: Setup;
  exports: ExportResult[];
  /** Absent when the step was not run (--steps). */
  reminders?: { count: number; fired: number; duplicates: number; lastAfterDueSeconds: number };
  enqueue?: { withReminderP50Ms: number; withoutP50Ms: number; addedMs: number };
  checks: Check[];
}

interface Account {
  id: number;
  token: string;
}

async function signUp(server: ServerProcess, name: string): Promise<Account> {
  const password = `Bench-jobs-${name}-password`;
  const user = await requestJson<{ id: number }>(server.url, 'POST', '/register', { username: name, email: `${name}@example.com`, password });
  const pair = await requestJson<{ access_token: string }>(server.url, 'POST', '/login', { username: name, password });
  return { id: user.id, token: pair.access_token };
}

/** Multi-row inserts straight into the service's database, with the derived columns the repository writes; triggers add the rest. */
async function seedTasks(db: Knex, userId: number, count: number): Promise<void> {
  const now = Date.now();
  const columns = ['user_id', 'title', 'title_key', 'description', 'status', 'priority', 'priority_rank', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at', 'version'];
  const perStatement = Math.floor(30_000 / columns.length);
  for (let first = 0; first < count; first += perStatement) {
    const rows = Array.from({ length: Math.min(perStatement, count - first) }, (_, i) => {
      const n = first + i;
      const title = n % 7 === 0 ? `=SUM(A${n}) "quoted", with comma` : `Exported task ${n}`;
      const created = new Date(now - (count - n) * 1000).toISOString();
      return [userId, title, titleKey(title), n % 3 === 0 ? 'line one\nline two' : '', n % 4 === 0 ? 'done' : 'todo', 'medium', priorityRank('medium'),
        n % 2 === 0 ? created : null, JSON.stringify(n % 5 === 0 ? ['work', 'q4'] : []), n % 4 === 0 ? created : null, created, created, 1];
    });
    const tuple = `(${columns.map(() => '?').join(',')})`;
    await db.transaction((trx) => trx.raw(`insert into tasks (${columns.join(',')}) values ${rows.map(() => tuple).join(',')}`, rows.flat()));
  }
}

async function measureExport(api: ServerProcess, worker: ServerProcess, account: Account, format: 'json' | 'csv'): Promise<ExportResult> {
  await sleep(500);
  const meter = new PeakRssMeter(worker.child.pid!);
  const before = rssMiB(worker.child.pid!);
  meter.start();
  const started = performance.now();
  const created = await requestJson<{ id: string }>(api.url, 'POST', '/exports', { format }, account.token, [202]);
  let status = 'queued';
  let size = 0;
  while (status === 'queued' || status === 'running') {
    await sleep(50);
    ({ status, size } = await requestJson<{ status: string; size: number }>(api.url, 'GET', `/exports/${created.id}`, undefined, account.token));
    if (performance.now() - started > 600_000) throw new Error(`export ${created.id} still ${status} after 10 minutes`);
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = meter.stop();
  if (status !== 'succeeded') throw new Error(`export ${created.id} ended ${status}`);

  const download = await fetch(`${api.url}/exports/${created.id}/download`, { headers: { authorization: `Bearer ${account.token}` } });
  const text = await download.text();
  const rows = format === 'json' ? (JSON.parse(text) as unknown[]).length : text.split('\r\n').filter((line) => /^\d+,/.test(line)).length;
  if (rows !== TASKS) throw new Error(`the ${format} export holds ${rows} tasks, not ${TASKS}`);
  return { format, seconds: round1(seconds), rssGrowthMiB: round1(peak - before), sizeMiB: round1(size / 2 ** 20) };
}

/** Creates REMINDERS tasks due at one instant, then waits for their reminders in the change log. */
async function measureReminders(api: ServerProcess, db: Knex, account: Account): Promise<NonNullable<SetupResult['reminders']>> {
  // Far enough ahead for every task to exist before it: creation runs at several hundred a second.
  const due = new Date(Date.now() + 10_000 + REMINDERS * 4);
  const createdBy = performance.now();
  await mapLimit(Array.from({ length: REMINDERS }, (_, i) => i), 16, (i) =>
    requestJson(api.url, 'POST', '/tasks', { title: `Reminder ${i}`, remind_at: due.toISOString() }, account.token),
  );
  if (Date.now() >= due.getTime()) throw new Error(`creating ${REMINDERS} tasks took ${round1((performance.now() - createdBy) / 1000)} s, past their remind_at`);

  const taskId = db.client.config.client === 'pg' ? `(data::json->'task'->>'id')` : `json_extract(data, '$.task.id')`;
  const count = async () => {
    const row = (await db('events')
      .where({ user_id: account.id, type: 'task.reminder' })
      .first(db.raw('count(*) as fired'), db.raw(`count(distinct ${taskId}) as tasks`))) as { fired: string | number; tasks: string | number };
    return { fired: Number(row.fired), tasks: Number(row.tasks) };
  };
  const deadline = due.getTime() + TARGETS.reminderSeconds * 1000 * 2;
  let seen = await count();
  while (seen.fired < REMINDERS && Date.now() < deadline) {
    await sleep(200);
    seen = await count();
  }
  await sleep(2_000); // a duplicate would come late: give it the chance to show
  seen = await count();
  const last = (await db('events').where({ user_id: account.id, type: 'task.reminder' }).max({ at: 'occurred_at' }).first()) as { at: string | Date | null };
  const lastAt = last.at === null ? Number.NaN : new Date(last.at).getTime();
  return { count: REMINDERS, fired: seen.tasks, duplicates: seen.fired - seen.tasks, lastAfterDueSeconds: round1((lastAt - due.getTime()) / 1000) };
}

async function timedCreate(api: ServerProcess, account: Account, body: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  await requestJson(api.url, 'POST', '/tasks', body, account.token);
  return performance.now() - started;
}

async function measureEnqueue(api: ServerProcess, account: Account): Promise<NonNullable<SetupResult['enqueue']>> {
  const later = new Date(Date.now() + 365 * 86_400_000).toISOString();
  const withReminder: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < REQUESTS + 100; i++) {
    const a = await timedCreate(api, account, { title: `Plain ${i}` });
    const b = await timedCreate(api, account, { title: `With reminder ${i}`, remind_at: later });
    if (i >= 100) {
      without.push(a);
      withReminder.push(b);
    }
  }
  const round2 = (n: number) => Math.round(n * 100) / 100;
  const p50 = (values: number[]) => percentile(values.sort((x, y) => x - y), 50);
  const [withReminderP50Ms, withoutP50Ms] = [p50(withReminder), p50(without)];
  return { withReminderP50Ms: round2(withReminderP50Ms), withoutP50Ms: round2(withoutP50Ms), addedMs: round2(withReminderP50Ms - withoutP50Ms) };
}

/** The bench's own connection to the service's database: for seeding and for reading the change log. */
function openBenchDatabase(setup: Setup, url: string): Knex {
  return setup === 'sqlite' ? createDatabase({ kind: 'sqlite', filename: url.replace(/^file:/, '') }) : knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

async function runSetup(setup: Setup, runDir: string, ports: Set<number>): Promise<SetupResult> {
  const processes: ServerProcess[] = [];
  let scratch: ScratchDatabase | undefined;
  let db: Knex | undefined;
  try {
    let databaseUrl = `file:${path.join(runDir, `${setup}.sqlite`)}`;
    if (setup !== 'sqlite') {
      scratch = await createScratchDatabase(PG_URL, 'taskforge_bench_test');
      databaseUrl = scratch.url;
    }
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      DATA_DIR: path.join(runDir, setup),
      JWT_SECRET,
      ACCESS_TOKEN_TTL: '2h',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_AUTH_MAX: '1000000',
      RATE_LIMIT_FAILED_AUTH_MAX: '1000000',
      ...(setup === 'postgres-redis' ? { REDIS_URL, REDIS_KEY_PREFIX: `taskforge-bench-${path.basename(runDir)}:` } : {}),
    };
    if (setup !== 'sqlite') await migrateWithCli(DIST_CLI, env, ROOT);
    const apiPort = await freePort(ports);
    const api = await startServer({
      name: 'api',
      port: apiPort,
      nodeArgs: [DIST_MAIN],
      env: { ...env, PORT: String(apiPort), WORKERS: setup === 'sqlite' ? 'embedded' : 'off' },
      logFile: path.join(runDir, `${setup}-api.log`),
    });
    processes.push(api);
    let worker = api;
    if (setup !== 'sqlite') {
      const workerPort = await freePort(ports);
      worker = await startServer({ name: 'worker', port: workerPort, nodeArgs: [DIST_WORKER], env: { ...env, WORKER_PORT: String(workerPort) }, logFile: path.join(runDir, `${setup}-worker.log`) });
      processes.push(worker);
    }
    console.log(`\n== ${setup}${scratch ? `, database ${scratch.name}` : ''}`);
    db = openBenchDatabase(setup, databaseUrl);

    const exports: ExportResult[] = [];
    if (steps.has('exports')) {
      const exporter = await signUp(api, 'bench_jobs_exporter');
      const seeding = performance.now();
      await seedTasks(db, exporter.id, TASKS);
      console.log(`  seeded ${TASKS} tasks in ${round1((performance.now() - seeding) / 1000)} s`);
      for (const format of ['json', 'csv'] as const) {
        exports.push(await measureExport(api, worker, exporter, format));
        console.log(`  ${format} export: ${exports.at(-1)!.seconds} s, ${exports.at(-1)!.sizeMiB} MiB, worker RSS +${exports.at(-1)!.rssGrowthMiB} MiB`);
      }
    }

    let reminders: SetupResult['reminders'] | undefined;
    if (steps.has('reminders')) {
      reminders = await measureReminders(api, db, await signUp(api, 'bench_jobs_reminded'));
      console.log(`  reminders: ${reminders.fired}/${reminders.count} fired, ${reminders.duplicates} twice, the last ${reminders.lastAfterDueSeconds} s after they fell due`);
    }
    let enqueue: SetupResult['enqueue'] | undefined;
    if (steps.has('enqueue')) {
      enqueue = await measureEnqueue(api, await signUp(api, 'bench_jobs_writer'));
      console.log(`  POST /tasks p50: ${enqueue.withReminderP50Ms} ms with a reminder, ${enqueue.withoutP50Ms} ms without`);
    }

    const checks: Check[] = [
      ...exports.flatMap((e) => [
        { what: `${e.format} export of ${TASKS} tasks (s)`, value: e.seconds, target: `≤ ${TARGETS.exportSeconds}`, ok: e.seconds <= TARGETS.exportSeconds },
        { what: `worker RSS growth during the ${e.format} export (MiB)`, value: e.rssGrowthMiB, target: `≤ ${TARGETS.exportRssMiB}`, ok: e.rssGrowthMiB <= TARGETS.exportRssMiB },
      ]),
      ...(reminders
        ? [
            { what: 'reminders fired', value: reminders.fired, target: `= ${reminders.count}`, ok: reminders.fired === reminders.count },
            { what: 'reminders fired twice', value: reminders.duplicates, target: '= 0', ok: reminders.duplicates === 0 },
            { what: 'last reminder after due (s)', value: reminders.lastAfterDueSeconds, target: `≤ ${TARGETS.reminderSeconds}`, ok: reminders.lastAfterDueSeconds <= TARGETS.reminderSeconds },
          ]
        : []),
      ...(enqueue ? [{ what: 'p50 added by enqueueing (ms)', value: enqueue.addedMs, target: `≤ ${TARGETS.enqueueMs}`, ok: enqueue.addedMs <= TARGETS.enqueueMs }] : []),
    ];
    return { setup, exports, reminders, enqueue, checks };
  } finally {
    await db?.destroy();
    for (const started of processes.reverse()) await started.stop();
    await scratch?.drop();
  }
}

function report(results: SetupResult[]): string {
  const rows = [['setup', 'check', 'value', 'target', '']];
  for (const r of results) for (const c of r.checks) rows.push([r.setup, c.what, String(c.value), c.target, c.ok ? '✓' : '✗']);
  return [rows[0]!, rows[0]!.map(() => '---'), ...rows.slice(1)].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

async function main(): Promise<void> {
  const wanted = (args.setups?.split(',').map((s) => s.trim()) ?? [...SETUPS]) as Setup[];
  for (const setup of wanted) if (!SETUPS.includes(setup)) throw new Error(`unknown setup "${setup}"; known: ${SETUPS.join(', ')}`);
  const pg = wanted.some((s) => s !== 'sqlite') ? await probe(PG_URL) : null;
  const redisUp = wanted.includes('postgres-redis') ? await redisAnswers(REDIS_URL) : false;
  const setups = wanted.filter((setup) => {
    const missing =
      setup !== 'sqlite' && pg && !pg.ok ? `PostgreSQL at ${redact(PG_URL)} does not answer (${pg.reason})` : setup === 'postgres-redis' && !redisUp ? `Redis at ${REDIS_URL} does not answer` : null;
    if (missing) console.log(`skipping ${setup}: ${missing}`);
    return missing === null;
  });

  console.log(
    `taskforge bench:jobs — ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}\n` +
      `  export of ${TASKS} tasks, ${REMINDERS} reminders due at once, ${REQUESTS} requests per kind${args.smoke ? ' (smoke: measures nothing)' : ''}`,
  );
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-bench-jobs-'));
  const ports = new Set<number>();
  const results: SetupResult[] = [];
  try {
    for (const setup of setups) results.push(await runSetup(setup, runDir, ports));
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }

  const table = report(results);
  console.log(`\n${table}`);
  const outDir = path.join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const settings = { steps: [...steps], tasks: TASKS, reminders: REMINDERS, requests: REQUESTS, smoke: args.smoke, node: process.version, cpus: os.cpus().length };
  writeFileSync(path.join(outDir, `jobs-${stamp}.json`), JSON.stringify({ settings, results }, null, 2));
  writeFileSync(path.join(outDir, `jobs-${stamp}.md`), `${table}\n`);
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.setup}: ${c.what} ${c.value} (target ${c.target})`));
  for (const line of failed) console.log(`✗ ${line}`);
  if (args.check && !args.smoke && failed.length > 0) process.exit(1);
}

await main();
