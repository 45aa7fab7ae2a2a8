import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/http.js';
import { redisUrl, uniqueRedisPrefix } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { buildTestApp, json, type TestApp } from '../support/test-app.js';

const url = await redisUrl();
const badLogin = { method: 'POST', url: '/login', payload: { username: 'nobody', password: 'wrong password' } } as const;

describe.skipIf(!url)('rate limits shared through Redis', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  const build = async (env: Record<string, string>) => {
    const app = await buildTestApp('memory', { RATE_LIMIT_AUTH_MAX: '4', ...env });
    apps.push(app);
    return app;
  };
  const waitForRedis = async (app: TestApp) => {
    for (let i = 0; i < 50 && (await app.inject({ method: 'GET', url: '/ready' })).statusCode !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  };

  it('makes two instances share one budget per address and route', async () => {
    const env = { REDIS_URL: url!, REDIS_KEY_PREFIX: uniqueRedisPrefix() };
    const [one, two] = [await build(env), await build(env)];
    await Promise.all([waitForRedis(one), waitForRedis(two)]);

    const statuses = [];
    for (const app of [one, two, one, two]) statuses.push((await app.inject(badLogin)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const limited = await two.inject(badLogin);
    expectProblem(limited, 429);
    expect(limited.headers['ratelimit-limit']).toBe('4');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await one.inject(badLogin)).statusCode).toBe(429);

    const ready = await one.inject({ method: 'GET', url: '/ready' });
    expect(json(ready)).toMatchObject({ status: 'ok', checks: { redis: 'ok' } });
  });

  it('keeps separate budgets under separate prefixes (deployments, test runs)', async () => {
    const one = await build({ REDIS_URL: url!, REDIS_KEY_PREFIX: uniqueRedisPrefix() });
    const two = await build({ REDIS_URL: url!, REDIS_KEY_PREFIX: uniqueRedisPrefix() });
    await Promise.all([waitForRedis(one), waitForRedis(two)]);
    for (let i = 0; i < 4; i++) await one.inject(badLogin);
    expect((await one.inject(badLogin)).statusCode).toBe(429);
    expect((await two.inject(badLogin)).statusCode).toBe(401);
  });

  it('falls back to per-instance limits when Redis goes away, and shares again when it returns', async () => {
    const target = new URL(url!);
    const proxy = await new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) }).start();
    try {
      const env = { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_KEY_PREFIX: uniqueRedisPrefix(), RATE_LIMIT_AUTH_MAX: '3' };
      const [one, two] = [await build(env), await build(env)];
      await Promise.all([waitForRedis(one), waitForRedis(two)]);

      await proxy.refuse();
      const started = Date.now();
      // Each instance now counts on its own: 3 + 3 allowed instead of 3 in all.
      const statuses = [];
      for (const app of [one, two, one, two, one, two, one, two]) statuses.push((await app.inject(badLogin)).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
      expect(Date.now() - started).toBeLessThan(3_000); // no request waited on the dead connection
      const ready = await one.inject({ method: 'GET', url: '/ready' });
      expect(expectProblem(ready, 503).checks).toEqual({ ai: 'not_configured', redis: 'unavailable' });

      await proxy.restore();
      await Promise.all([waitForRedis(one), waitForRedis(two)]);
      expect((await one.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      const fresh = { ...badLogin, url: '/refresh', payload: { refresh_token: 'x' } };
      const shared = [];
      for (const app of [one, two, one, two]) shared.push((await app.inject(fresh)).statusCode);
      expect(shared).toEqual([401, 401, 401, 429]);
    } finally {
      await proxy.close();
    }
  });
});

describe('Redis unreachable', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('keeps serving with per-instance limits while /ready reports redis unavailable', async () => {
    app = await buildTestApp('memory', { RATE_LIMIT_AUTH_MAX: '3', REDIS_URL: 'redis://127.0.0.1:1' });
    const started = Date.now();
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.inject(badLogin)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(Date.now() - started).toBeLessThan(2_000);

    const ready = await app.inject({ method: 'GET', url: '/ready' });
    const body = expectProblem(ready, 503);
    expect(body.checks).toEqual({ ai: 'not_configured', redis: 'unavailable' });
  });
});
