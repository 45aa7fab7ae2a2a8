import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BullmqJobQueue, type BullmqConnection } from '../../src/adapters/jobs/bullmq-job-queue.js';
import type { JobQueueSettings } from '../../src/adapters/jobs/job-settings.js';
import type { JobQueueDeployment, OpenJobQueueDeployment } from './job-queues.js';


/**
 * The BullMQ kinds that can run here: on Redis when TEST_REDIS_URL is set, on PostgreSQL when
 * TEST_DATABASE_URL is. Each deployment has a store of its own (a key prefix, a schema), so
 * tests never see each other's jobs, and removes it when closed.
 */
export async function bullmqKinds(): Promise<Record<string, OpenJobQueueDeployment>> {
  return Object.fromEntries(
    Object.entries(bullmqTestStores()).map(([kind, newStore]) => [kind, (settings) => deploy(kind, newStore(), settings)] as const),
  ) as Record<string, OpenJobQueueDeployment>;
}

/** A store of one's own for a test: where BullMQ keeps the jobs, and how to remove them afterwards. */
export interface BullmqTestStore {
  connection: BullmqConnection;
  /** The server behind the connection, for a TcpProxy to stand in front of. */
  server: { host: string; port: number };
  /** The same store, reached through another address (a proxy's). */
  via(address: { host: string; port: number }): BullmqConnection;
  remove(): Promise<void>;
}

/** A new store for each call: a Redis key prefix, a PostgreSQL schema. */
export function bullmqTestStores(): Record<string, () => BullmqTestStore> {
  const stores: Record<string, () => BullmqTestStore> = {};
  const redisUrl = process.env.TEST_REDIS_URL;
  const databaseUrl = process.env.TEST_DATABASE_URL;
  if (redisUrl) {
    stores['bullmq-redis'] = () => {
      const prefix = `taskforge-test-${randomBytes(6).toString('hex')}`;
      return {
        connection: { kind: 'redis', url: redisUrl, prefix },
        server: address(redisUrl, 6379),
        via: (proxy) => ({ kind: 'redis', url: redirected(redisUrl, proxy), prefix }),
        remove: () => deleteRedisKeys(redisUrl, prefix),
      };
    };
  }
  if (databaseUrl) {
    stores['bullmq-postgres'] = () => {
      assertTestDatabase(databaseUrl);
      const schema = `bullmq_test_${randomBytes(6).toString('hex')}`;
      return {
        connection: { kind: 'postgres', connectionString: databaseUrl, schema },
        server: address(databaseUrl, 5432),
        via: (proxy) => ({ kind: 'postgres', connectionString: redirected(databaseUrl, proxy), schema }),
        remove: () => dropSchema(databaseUrl, schema),
      };
    };
  }
  return stores;
}

async function deploy(kind: string, store: BullmqTestStore, { leaseMs, ...settings }: JobQueueSettings & { leaseMs: number }): Promise<JobQueueDeployment> {
  const queue = await BullmqJobQueue.open({ connection: store.connection, settings, leaseMs, onError: () => {} });
  return {
    kind,
    durable: true,
    queue,
    worker: () => queue.worker(),
    reopen: async () => {
      await queue.close();
      return deploy(kind, store, { leaseMs, ...settings });
    },
    close: async () => {
      await queue.close();
      await store.remove();
    },
  };
}

const address = (url: string, defaultPort: number) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
};

const redirected = (url: string, { host, port }: { host: string; port: number }): string => {
  const parsed = new URL(url);
  parsed.hostname = host;
  parsed.port = String(port);
  return parsed.href;
};

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
