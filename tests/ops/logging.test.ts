import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApplication, type Application } from '../../src/infrastructure/app.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { aSignUp } from '../support/http.js';
import { FAST_ARGON2, testConfig } from '../support/test-app.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'debug', nodeEnv: 'production' }, stream), lines };
}

describe('operational logging', () => {
  let app: Application;
  afterEach(() => app?.http.close());

  it('writes one JSON line per request with request id, route template, status, user and duration', async () => {
    const logs = capture();
    app = await createApplication(testConfig(), { logger: logs.logger, persistence: 'memory', argon2: FAST_ARGON2 });
    const response = await app.http.inject({ method: 'GET', url: '/users/42', headers: { 'x-request-id': 'trace-me-1' } });
    expect(response.statusCode).toBe(401);
    const entries = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const completed = entries.filter((entry) => entry.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ reqId: 'trace-me-1', method: 'GET', route: '/users/:id', statusCode: 401, level: 30 });
    expect(completed[0]!.durationMs).toEqual(expect.any(Number));
  });

  it('never logs the credentials inside DATABASE_URL or REDIS_URL during an outage', async () => {
    const logs = capture();
    app = await createApplication(
      testConfig({ DATABASE_URL: 'postgres://taskforge:db-pass-0123@127.0.0.1:1/test', REDIS_URL: 'redis://:redis-pass-4567@127.0.0.1:1' }),
      { logger: logs.logger, argon2: FAST_ARGON2 },
    );
    expect((await app.http.inject({ method: 'POST', url: '/register', payload: aSignUp() })).statusCode).toBe(503);
    expect((await app.http.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the Redis client report its failure
    const text = logs.lines.join('\n');
    expect(text).toMatch(/service unavailable/);
    expect(text).toMatch(/Redis is unreachable/);
    expect(text).not.toContain('db-pass-0123');
    expect(text).not.toContain('redis-pass-4567');
  });
});
