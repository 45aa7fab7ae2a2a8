import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A Redis client that never makes a request wait for Redis: no offline queue (commands fail at
 * once while disconnected), a short command timeout, and reconnection in the background forever.
 * Callers fall back to something local when a command fails.
 */
export function createRedisClient(url: string, logger: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let reported = false;
  client.on('error', (error: Error) => {
    if (reported) return; // once per outage: it reconnects every couple of seconds
    reported = true;
    logger.warn({ err: { message: error.message } }, 'Redis is unreachable; retrying in the background');
  });
  client.on('ready', () => {
    if (reported) logger.info('Redis is reachable again');
    reported = false;
  });
  return client;
}

export async function redisAnswers(client: Redis): Promise<boolean> {
  return client.status === 'ready' && (await client.ping()) === 'PONG';
}
