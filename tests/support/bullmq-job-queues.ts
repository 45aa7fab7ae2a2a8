import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { JobQueue, JobWorker } from '../../src/application/index.js';
import { BullmqJobQueue, type BullmqConnection } from '../../src/adapters/jobs/bullmq-job-queue.js';
import type { JobQueueSettings } from '../../src/adapters/jobs/job-settings.js';

// The shape tests/support/job-queues.ts declares for every kind of the job queue contract.
export interface JobQueueDeployment {
  kind: string;
  /** Whether jobs and schedules survive reopen() (false for in-memory). */
  durable: boolean;
  /** A producer, as an API instance holds it. */
  queue: JobQueue;
  /** A worker as another process would run it (own connections). */
  worker(): JobWorker;
  /** Closes everything and opens again on the same store. */
  reopen(): Promise<JobQueueDeployment>;
  /** Closes every connection it opened; removes its store. */
  close(): Promise<void>;
}
export type OpenJobQueueDeployment = (settings: JobQueueSettings & { leaseMs: number }) => Promise<JobQueueDeployment>;

/**
 * The BullMQ kinds that can run here: on Redis when TEST_REDIS_URL is set, on PostgreSQL when
 * TEST_DATABASE_URL is. Each deployment has a store of its own (a key prefix, a schema), so
 * tests never see each other's jobs, and removes it when closed.
 */
export async function bullmqKinds(): Promise<Record<string, OpenJobQueueDeployment>> {
  const kinds: Record<string, OpenJobQueueDeployment> = {};
  const redisUrl = process.env.TEST_REDIS_URL;
  const databaseUrl = process.env.TEST_DATABASE_URL;
  if (redisUrl) {
    kinds['bullmq-redis'] = (settings) => {
      const prefix = `taskforge-test-${randomBytes(6).toString('hex')}`;
      return deploy('bullmq-redis', { kind: 'redis', url: redisUrl, prefix }, settings, () => deleteRedisKeys(redisUrl, prefix));
    };
  }
  if (databaseUrl) {
    kinds['bullmq-postgres'] = (settings) => {
      assertTestDatabase(databaseUrl);
      const schema = `bullmq_test_${randomBytes(6).toString('hex')}`;
      return deploy('bullmq-postgres', { kind: 'postgres', connectionString: databaseUrl, schema }, settings, () => dropSchema(databaseUrl, schema));
    };
  }
  return kinds;
}

async function deploy(
  kind: string,
  connection: BullmqConnection,
  { leaseMs, ...settings }: JobQueueSettings & { leaseMs: number },
  removeStore: () => Promise<void>,
): Promise<JobQueueDeployment> {
  const queue = await BullmqJobQueue.open({ connection, settings, leaseMs, onError: () => {} });
  return {
    kind,
    durable: true,
    queue,
    worker: () => queue.worker(),
    reopen: async () => {
      await queue.close();
      return deploy(kind, connection, { leaseMs, ...settings }, removeStore);
    },
    close: async () => {
      await queue.close();
      await removeStore();
    },
  };
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    for await (const keys of client.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await client.unlink(...keys);
    }
  } finally {
    client.disconnect();
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** Dropping schemas is for test databases only. */
function assertTestDatabase(url: string): void {
  const name = new URL(url).pathname.replace(/^\//, '');
  if (!name.includes('test')) throw new Error(`refusing to run destructive tests against database "${name}": its name must contain "test"`);
}
