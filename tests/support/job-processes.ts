import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { createScratchDatabase } from '../../scripts/bench/pg.js';
import { WORKER_PROCESS, startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { toDbTime } from '../../src/adapters/persistence/knex/sql-values.js';
import { priorityRank, titleKey } from '../../src/domain/index.js';
import type { JobQueueKind } from '../../src/infrastructure/job-queue.js';
import { uniqueRedisPrefix } from './redis.js';
import { TEST_ENV } from './test-app.js';

/** The queue kinds that run in processes of their own, each with its own store. */
export type ProcessJobQueueKind = Exclude<JobQueueKind, 'in-memory'>;

/**
 * The kinds that can run here: the embedded queue always; BullMQ on PostgreSQL when
 * TEST_DATABASE_URL is set, on Redis when TEST_REDIS_URL is.
 */
export function processJobQueueKinds(): ProcessJobQueueKind[] {
  return [
    'embedded-sqlite',
    ...(process.env.TEST_DATABASE_URL ? (['bullmq-postgres'] as const) : []),
    ...(process.env.TEST_REDIS_URL ? (['bullmq-redis'] as const) : []),
  ];
}

/**
 * A deployment as issue 16 runs one: an API process that runs no jobs (WORKERS=off) and worker
 * processes, all on one database, one queue and one DATA_DIR (where export files are kept).
 */
export interface JobDeployment {
  kind: ProcessJobQueueKind;
  api: ServerProcess;
  /** The workers started with the API. */
  workers: ServerProcess[];
  /** Starts one more worker process; resolved once its /health answers. */
  startWorker(): Promise<ServerProcess>;
  /** The test's own connection to the service's database: to seed rows and read the change log. */
  db: Knex;
  /** SIGKILLs every process still running (nothing is left to drain), then removes the database, the files and the Redis keys' prefix. */
  stop(): Promise<void>;
}

interface Store {
  env: Record<string, string>;
  db: Knex;
  remove(): Promise<void>;
}

/**
 * The service's database, migrated before any process starts. PostgreSQL gets a scratch
 * database rather than a schema: BullMQ keeps its tables in a schema of a fixed name
 * (`taskforge_jobs`), which processes of other tests on the shared test database would use too.
 * BullMQ on Redis runs beside an SQLite file, so that it needs Redis alone; the database code
 * its jobs run is the same on either database, and the PostgreSQL kind runs it there.
 */
async function openStore(kind: ProcessJobQueueKind, dataDir: string): Promise<Store> {
  if (kind === 'bullmq-postgres') {
    const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'taskforge_jobs_test');
    const db = createDatabase({ kind: 'postgres', url: scratch.url }, { poolMax: 2 });
    try {
      await migrateToLatest(db);
    } catch (error) {
      await db.destroy();
      await scratch.drop();
      throw error;
    }
    return {
      env: { DATABASE_URL: scratch.url },
      db,
      remove: async () => {
        await db.destroy();
        await scratch.drop();
      },
    };
  }
  const filename = path.join(dataDir, 'taskforge.sqlite');
  const db = createDatabase({ kind: 'sqlite', filename });
  await migrateToLatest(db);
  const redis: Record<string, string> = kind === 'bullmq-redis' ? { REDIS_URL: process.env.TEST_REDIS_URL!, REDIS_KEY_PREFIX: uniqueRedisPrefix() } : {};
  return { env: { DATABASE_URL: `file:${filename}`, ...redis }, db, remove: () => db.destroy() };
}

/** Removes what this deployment kept in Redis: every key under its prefix. */
async function removeRedisKeys(env: Record<string, string>): Promise<void> {
  if (!env.REDIS_URL) return;
  const client = new Redis(env.REDIS_URL);
  try {
    for await (const keys of client.scanStream({ match: `${env.REDIS_KEY_PREFIX}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await client.unlink(...keys);
    }
  } finally {
    client.disconnect();
  }
}

export interface JobDeploymentOptions {
  /** Env of every process, over the test defaults. */
  env?: Record<string, string>;
  /** Worker processes started with the API, side by side. */
  workers?: number;
}

export async function startJobDeployment(kind: ProcessJobQueueKind, { env = {}, workers = 0 }: JobDeploymentOptions = {}): Promise<JobDeployment> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-jobs-'));
  const store = await openStore(kind, dataDir);
  const common = { ...TEST_ENV, LOG_LEVEL: 'warn', DATA_DIR: dataDir, ...store.env, ...env };
  const processes: ServerProcess[] = [];
  const stop = async () => {
    for (const started of processes) if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
    await Promise.all(processes.map((started) => started.exited));
    await removeRedisKeys(store.env);
    await store.remove();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const start = async (options: Parameters<typeof startServer>[0]) => {
    const started = await startServer(options);
    processes.push(started);
    return started;
  };
  // Workers log at info: their "running jobs" line names the queue they run.
  const startWorker = () => start({ process: WORKER_PROCESS, env: { ...common, LOG_LEVEL: 'info' } });
  const starting = [start({ env: { ...common, WORKERS: 'off' } }), ...Array.from({ length: workers }, startWorker)];
  const started = await Promise.allSettled(starting);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [api, ...initialWorkers] = started.map((result) => (result as PromiseFulfilledResult<ServerProcess>).value);
  return { kind, api: api!, workers: initialWorkers, startWorker, db: store.db, stop };
}

/**
 * `count` tasks of one user written straight into the database, as the repository writes them
 * (its triggers add tag rows and change-log events): far faster than through the API, for the
 * exports that must take a moment. Every third one has a title a CSV must quote or defuse.
 */
export async function seedTasks(db: Knex, userId: number, count: number): Promise<void> {
  const now = Date.now();
  const columns = ['user_id', 'title', 'title_key', 'description', 'status', 'priority', 'priority_rank', 'tags', 'completed_at', 'created_at', 'updated_at', 'version'];
  // One multi-row VALUES list per statement (knex's own insert of many rows on SQLite is a
  // compound SELECT, limited to 500 terms), within both databases' limits on parameters.
  const rowsPerStatement = 2_000;
  const tuple = `(${columns.map(() => '?').join(',')})`;
  for (let first = 0; first < count; first += rowsPerStatement) {
    const rows = Array.from({ length: Math.min(rowsPerStatement, count - first) }, (_, i) => {
      const n = first + i;
      const title = n % 3 === 0 ? `=SUM(A${n}) "seeded", with a comma` : `Seeded task ${n}`;
      const created = toDbTime(new Date(now - (count - n) * 1000));
      const done = n % 4 === 0;
      const tags = JSON.stringify(n % 5 === 0 ? ['work', 'q4'] : []);
      return [userId, title, titleKey(title), n % 2 === 0 ? 'line one\nline two' : '', done ? 'done' : 'todo', 'medium', priorityRank('medium'), tags, done ? created : null, created, created, 1];
    });
    await db.raw(`insert into tasks (${columns.join(',')}) values ${rows.map(() => tuple).join(',')}`, rows.flat());
  }
}
