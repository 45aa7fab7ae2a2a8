import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import pino from 'pino';
import { afterEach, describe, it } from 'vitest';
import { createApplication, openDatabase, type Application } from '../../src/infrastructure/app.js';
import { redisUrl, uniqueRedisPrefix } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { FAST_ARGON2, testConfig } from '../support/test-app.js';

const url = await redisUrl();

/** A logger whose lines can be awaited. */
function watchedLogger() {
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const text = String(chunk);
      for (const waiter of waiters.filter(({ pattern }) => pattern.test(text))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      done();
    },
  });
  const logged = (pattern: RegExp) => new Promise<void>((resolve) => waiters.push({ pattern, resolve }));
  return { logger: pino({ level: 'info' }, stream), logged };
}

/**
 * Closing the service while a dependency is away: everything it opened is released without
 * waiting for the dependency to come back. A close that waits never resolves within the test's
 * timeout, which is the failure; the job worker runs embedded (WORKERS's default).
 */
describe('closing the service while a dependency is unreachable', () => {
  let app: Application | undefined;
  let db: Knex | undefined;
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
    app = undefined;
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  it('closes with Redis unreachable since start-up, the job worker still waiting for it', async () => {
    app = await createApplication(testConfig({ REDIS_URL: 'redis://127.0.0.1:1' }), { logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    await app.http.close();
  }, 10_000);

  it('closes with PostgreSQL unreachable and no Redis, the job worker still waiting for it', async () => {
    const config = testConfig({ DATABASE_URL: 'postgres://taskforge@127.0.0.1:1/test' });
    db = await openDatabase(config, false, pino({ level: 'silent' }));
    app = await createApplication(config, { logger: pino({ level: 'silent' }), db, argon2: FAST_ARGON2 });
    await app.http.close();
  }, 10_000);

  it.skipIf(!url)('closes when Redis went away after the job worker had started', async () => {
    const target = new URL(url!);
    const proxy = await new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) }).start();
    proxies.push(proxy);
    target.host = `127.0.0.1:${proxy.port}`;
    const { logger, logged } = watchedLogger();
    const running = logged(/running jobs/);
    app = await createApplication(testConfig({ REDIS_URL: target.toString(), REDIS_KEY_PREFIX: uniqueRedisPrefix() }), { logger, argon2: FAST_ARGON2 });
    await running;
    await proxy.refuse();
    await app.http.close();
  }, 10_000);
});
