import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import type { ChangeNotifier } from '../../src/application/index.js';
import { InProcessChangeNotifier } from '../../src/adapters/events/in-process-change-notifier.js';
import type { NotifierLog } from '../../src/adapters/events/change-listeners.js';
import { CHANGE_CHANNEL, PostgresChangeNotifier } from '../../src/adapters/postgres/postgres-change-notifier.js';
import { RedisChangeNotifier } from '../../src/adapters/redis/redis-change-notifier.js';
import { createRedisClient } from '../../src/infrastructure/redis.js';
import { postgresUrl } from './databases.js';
import { redisUrl, uniqueRedisPrefix } from './redis.js';

export type NotifierKind = 'in-process' | 'redis' | 'postgres';

/** One instance's notifier, as the service builds it. */
export interface NotifierInstance {
  notifier: ChangeNotifier;
  /** Whether notices from other instances can reach it now. */
  connected(): boolean;
  /** Closes the notifier and whatever the instance opened for it. */
  close(): Promise<void>;
}

export interface InstanceOptions {
  /** Reach the server through this address instead (a TcpProxy in front of it). */
  via?: { host: string; port: number };
  log?: NotifierLog;
  /** Check the connection often and give up on an unanswered one soon (a silent-network test). */
  quickHeartbeat?: boolean;
}

/** The instances of one deployment: every notifier it opens talks to the others. */
export interface NotifierFamily {
  kind: NotifierKind;
  /** False for the in-process notifier: one process is one instance, so there is no other to reach. */
  crossesInstances: boolean;
  /** The server the notices go through, for a proxy to stand in front of. */
  server: { host: string; port: number } | null;
  /** A new instance, once it can receive notices. */
  instance(options?: InstanceOptions): Promise<NotifierInstance>;
  /** Puts `text` on the channel as something other than a notifier would (not ours, malformed). */
  sendRaw(text: string): Promise<void>;
}

const quiet: NotifierLog = { info: () => {}, warn: () => {} };

/** Polls `condition` until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const address = (url: string) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || (parsed.protocol.startsWith('redis') ? 6379 : 5432)) };
};

const redirected = (url: string, via: InstanceOptions['via']): string => {
  if (!via) return url;
  const parsed = new URL(url);
  parsed.hostname = via.host;
  parsed.port = String(via.port);
  return parsed.href;
};

/** Which kinds can run here: in-process always; Redis and PostgreSQL when reachable. */
export async function notifierKinds(): Promise<NotifierKind[]> {
  return ['in-process', ...((await redisUrl()) ? (['redis'] as const) : []), ...((await postgresUrl()) ? (['postgres'] as const) : [])];
}

export async function notifierFamily(kind: NotifierKind): Promise<NotifierFamily> {
  if (kind === 'in-process') return inProcessFamily();
  if (kind === 'redis') return redisFamily((await redisUrl())!);
  return postgresFamily((await postgresUrl())!);
}

function inProcessFamily(): NotifierFamily {
  const notifier = new InProcessChangeNotifier();
  return {
    kind: 'in-process',
    crossesInstances: false,
    server: null,
    instance: async () => ({ notifier, connected: () => true, close: () => notifier.close() }),
    sendRaw: async () => {},
  };
}

function redisFamily(url: string): NotifierFamily {
  // A channel of its own: other test files (and runs) publish on theirs.
  const channel = `${uniqueRedisPrefix()}events`;
  const silent = pino({ level: 'silent' });
  return {
    kind: 'redis',
    crossesInstances: true,
    server: address(url),
    instance: async ({ via, log = quiet, quickHeartbeat } = {}) => {
      const publisher = createRedisClient(redirected(url, via), silent);
      const notifier = new RedisChangeNotifier(publisher, channel, log, quickHeartbeat ? { heartbeatMs: 50 } : {});
      await until(() => notifier.connected, 10_000, 'a Redis subscription');
      return {
        notifier,
        connected: () => notifier.connected,
        close: async () => {
          await notifier.close();
          publisher.disconnect();
        },
      };
    },
    sendRaw: async (text) => {
      const client = createRedisClient(url, silent);
      try {
        await until(() => client.status === 'ready', 5_000, 'a Redis connection');
        await client.publish(channel, text);
      } finally {
        client.disconnect();
      }
    },
  };
}

function postgresFamily(url: string): NotifierFamily {
  return {
    kind: 'postgres',
    crossesInstances: true,
    server: address(url),
    instance: async ({ via, log = quiet, quickHeartbeat } = {}) => {
      const notifier = new PostgresChangeNotifier({
        connectionString: redirected(url, via),
        log,
        applicationName: `taskforge-test-${randomBytes(4).toString('hex')}`,
        reconnectDelayMs: 20,
        maxReconnectDelayMs: 200,
        ...(quickHeartbeat ? { heartbeatMs: 50, queryTimeoutMs: 300 } : {}),
      });
      await until(() => notifier.connected, 10_000, 'a LISTEN connection');
      return { notifier, connected: () => notifier.connected, close: () => notifier.close() };
    },
    sendRaw: async (text) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, text]);
      } finally {
        await client.end();
      }
    },
  };
}
