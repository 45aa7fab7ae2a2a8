import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createScratchSchema, type ScratchSchema } from '../../scripts/support/scratch-schema.js';
import { WORKER_PROCESS, spawnServer, startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { migrations } from '../../migrations/index.js';
import { refusesConnections } from '../support/connections.js';
import { postgresUrl } from '../support/databases.js';
import { redisUrl, uniqueRedisPrefix } from '../support/redis.js';

const pgUrl = await postgresUrl();
const redis = await redisUrl();
const SECRET = 'worker-test-secret-0123456789abcdefgh';

const get = (worker: ServerProcess, url: string, headers: Record<string, string> = {}) => fetch(`${worker.baseUrl}${url}`, { headers });

describe('the worker process', () => {
  let dataDir: string;
  let worker: ServerProcess | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-worker-'));
  });
  afterEach(() => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
    worker = undefined;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const env = (more: Record<string, string> = {}) => ({ NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...more });

  it('runs jobs on its SQLite database, serves only /health, /ready and /metrics, and exits 0 on SIGTERM', async () => {
    worker = await startServer({ process: WORKER_PROCESS, env: env({ DATABASE_URL: `file:${path.join(dataDir, 'worker.sqlite')}` }) });

    expect(await (await get(worker, '/health')).json()).toEqual({ status: 'ok' });
    const ready = await get(worker, '/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok', schema: 'ok' } });

    // Housekeeping runs each chore once at start-up.
    await vi.waitFor(async () => expect(await (await get(worker!, '/metrics')).text()).toMatch(/^jobs_total\{queue="housekeeping",outcome="completed"\} 2$/m), {
      timeout: 10_000,
    });
    const metrics = await (await get(worker, '/metrics')).text();
    expect(metrics).toMatch(/^job_duration_seconds_count\{queue="housekeeping"\} 2$/m);
    expect(metrics).toMatch(/^jobs_waiting\{queue="housekeeping"\} 0$/m);
    expect(metrics).toMatch(/^jobs_waiting\{queue="exports"\} 0$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d/m);

    for (const [method, url] of [['GET', '/tasks'], ['POST', '/register'], ['GET', '/docs'], ['GET', '/openapi.json'], ['GET', '/events']]) {
      const response = await fetch(`${worker.baseUrl}${url}`, { method });
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output()).toMatch(/taking no new jobs/);
    expect(worker.output()).toMatch(/shut down cleanly/);
    expect(await refusesConnections(worker.port)).toBe(true);
    const logged = worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number });
    expect(logged.filter((entry) => entry.level >= 50)).toEqual([]);
  }, 30_000);

  describe.skipIf(!pgUrl || !redis)('on PostgreSQL with Redis', () => {
    let scratch: ScratchSchema;
    beforeAll(async () => {
      scratch = await createScratchSchema(pgUrl!, 't_worker');
    });
    afterAll(() => scratch.drop());

    it('checks the database and Redis for /ready, and keeps /metrics behind METRICS_TOKEN', async () => {
      worker = await startServer({
        process: WORKER_PROCESS,
        env: env({ DATABASE_URL: scratch.url, REDIS_URL: redis!, REDIS_KEY_PREFIX: uniqueRedisPrefix(), METRICS_TOKEN: 'scrape-token' }),
      });
      expect(await (await get(worker, '/ready')).json()).toEqual({ status: 'ok', checks: { database: 'ok', schema: 'ok', redis: 'ok' } });
      expect((await get(worker, '/metrics')).status).toBe(401);
      expect(await (await get(worker, '/metrics', { authorization: 'Bearer scrape-token' })).text()).toMatch(/^jobs_waiting\{queue="reminders"\} 0$/m);

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    }, 30_000);
  });

  it.skipIf(!pgUrl)('never migrates PostgreSQL: on a schema behind the code it exits 1 telling to run npm run migrate', async () => {
    const schema = `t_worker_unmigrated_${randomBytes(4).toString('hex')}`;
    const admin = knex({ client: 'pg', connection: pgUrl!, pool: { min: 0, max: 1 } });
    await admin.raw('create schema ??', [schema]);
    try {
      const url = new URL(pgUrl!);
      url.searchParams.set('options', `-c search_path=${schema}`);
      worker = await spawnServer({ process: WORKER_PROCESS, env: env({ DATABASE_URL: url.href }) });
      expect(await worker.exited).toEqual({ code: 1, signal: null });
      expect(worker.errorOutput().trim()).toMatch(
        new RegExp(`^taskforge worker: the database schema is behind this version: ${migrations.length} migration\\(s\\) not applied .*; run \`npm run migrate\` first$`),
      );
      expect(await admin.raw('select count(*)::int as n from information_schema.tables where table_schema = ?', [schema])).toMatchObject({ rows: [{ n: 0 }] });
    } finally {
      await admin.raw('drop schema if exists ?? cascade', [schema]);
      await admin.destroy();
    }
  }, 30_000);
});
