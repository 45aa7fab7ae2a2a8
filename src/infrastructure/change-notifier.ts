import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChangeNotifier } from '../application/index.js';
import { InProcessChangeNotifier } from '../adapters/events/in-process-change-notifier.js';
import type { NotifierLog } from '../adapters/events/change-listeners.js';
import { describeConnectionFailure } from '../adapters/persistence/knex/connection-check.js';
import { PostgresChangeNotifier } from '../adapters/postgres/postgres-change-notifier.js';
import { RedisChangeNotifier } from '../adapters/redis/redis-change-notifier.js';
import type { Config } from './config.js';

export interface ConfiguredNotifier {
  notifier: ChangeNotifier;
  /** For /ready: whether notices from other instances can arrive now; null when there are no other instances to hear from. */
  connected: (() => boolean) | null;
  /** Settles once the notifier has first tried to reach the other instances (start-up waits for it). */
  started: Promise<void>;
}

/**
 * How commits reach the live streams of other instances: Redis when REDIS_URL is set (it is
 * there anyway, for rate limits), else the PostgreSQL database the instances share, else only
 * this process — one instance on SQLite, or in-memory stores, which no other process can see.
 * Several processes on one SQLite file without Redis still deliver every event, at the sweep.
 */
export function createChangeNotifier(config: Config, { redis, sharedStores, logger }: { redis: Redis | null; sharedStores: boolean; logger: Logger }): ConfiguredNotifier {
  const alone = (): ConfiguredNotifier => ({ notifier: new InProcessChangeNotifier(), connected: null, started: Promise.resolve() });
  if (!sharedStores) return alone();
  const fanOut = logger.child({ component: 'fan-out' });
  const log: NotifierLog = { info: (message) => fanOut.info(message), warn: (message) => fanOut.warn(message) };
  if (redis) {
    const notifier = new RedisChangeNotifier(redis, `${config.redisKeyPrefix}events`, log);
    return { notifier, connected: () => notifier.connected, started: notifier.firstAttempt };
  }
  const { database } = config;
  if (database.kind === 'postgres') {
    const notifier = new PostgresChangeNotifier({ connectionString: database.url, log, describeFailure: (error) => describeConnectionFailure(error, database) });
    return { notifier, connected: () => notifier.connected, started: notifier.firstAttempt };
  }
  return alone();
}
