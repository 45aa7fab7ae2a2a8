import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/infrastructure/logger.js';
import { bullmqSchemaOf, jobQueueKind, jobQueueSettings, openJobQueue } from '../../../src/infrastructure/job-queue.js';
import { testConfig } from '../../support/test-app.js';

const POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

describe('the job queue a deployment gets', () => {
  it.each([
    ['Redis whenever REDIS_URL is set', { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: POSTGRES }, 'sql', 'bullmq-redis'],
    ['Redis with SQLite too', { REDIS_URL: 'redis://127.0.0.1:6379' }, 'sql', 'bullmq-redis'],
    ['BullMQ on PostgreSQL without Redis', { DATABASE_URL: POSTGRES }, 'sql', 'bullmq-postgres'],
    ['the embedded queue on SQLite without Redis', {}, 'sql', 'embedded-sqlite'],
    ['the in-memory queue with in-memory stores', { REDIS_URL: 'redis://127.0.0.1:6379' }, 'memory', 'in-memory'],
  ] as const)('is %s', (_name, env, persistence, kind) => {
    expect(jobQueueKind(testConfig(env), persistence)).toBe(kind);
  });

  it('retries, runs in parallel and keeps failed jobs as JOB_ATTEMPTS, JOB_CONCURRENCY and JOB_FAILED_RETENTION say', () => {
    expect(jobQueueSettings(testConfig({ JOB_ATTEMPTS: '3', JOB_CONCURRENCY: '9', JOB_FAILED_RETENTION: '2d' }))).toMatchObject({
      attempts: 3,
      concurrency: 9,
      failedRetentionMs: 2 * 86_400_000,
    });
  });

  it('opens the in-memory queue for in-memory stores, without a warning', async () => {
    const warnings: string[] = [];
    const logger = createLogger(
      { logLevel: 'warn', nodeEnv: 'production' },
      new Writable({
        write(chunk, _encoding, done) {
          warnings.push(String(chunk));
          done();
        },
      }),
    );
    const opened = await openJobQueue(testConfig(), { db: null, persistence: 'memory', logger });
    expect(opened.kind).toBe('in-memory');
    expect(warnings).toEqual([]);
    await opened.close();
  });
});

describe('the schema of BullMQ on PostgreSQL', () => {
  it('is taskforge_jobs, or <schema>_jobs for a deployment in a schema of its own', () => {
    expect(bullmqSchemaOf('postgres://u@db:5432/app')).toBe('taskforge_jobs');
    expect(bullmqSchemaOf('postgres://u@db:5432/app?options=-c%20search_path%3Dpublic')).toBe('taskforge_jobs');
    expect(bullmqSchemaOf('postgres://u@db:5432/app?options=-c%20search_path%3Dtenant_a')).toBe('tenant_a_jobs');
    expect(bullmqSchemaOf('postgres://u@db:5432/app?options=-c%20search_path%3Dtenant_b%2Cpublic')).toBe('tenant_b_jobs');
  });
});
