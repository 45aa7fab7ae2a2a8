import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

let answer: Promise<string | null> | undefined;

/** TEST_REDIS_URL, else the local default when it answers a PING, else null (tests skip). */
export function redisUrl(): Promise<string | null> {
  answer ??= (async () => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return url;
    } catch {
      if (process.env.TEST_REDIS_URL) return url; // configured: let the tests fail loudly
      console.warn('Redis tests skipped: set TEST_REDIS_URL or run Redis on 127.0.0.1:6379.');
      return null;
    } finally {
      client.disconnect();
    }
  })();
  return answer;
}

/** Keys of one test never meet another test's (or another run's). */
export const uniqueRedisPrefix = (): string => `taskforge-test:${randomBytes(6).toString('hex')}:`;
