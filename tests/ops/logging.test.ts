import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { createApplication, openDatabase, type Application } from '../../src/infrastructure/app.js';
import { StartupError } from '../../src/infrastructure/startup-error.js';
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
  let db: Knex | undefined;
  afterEach(async () => {
    await app?.http.close();
    await db?.destroy();
    db = undefined;
  });

  /** An app whose database went away after start-up (start-up itself refuses an unreachable one). */
  async function appWithLostDatabase(env: Record<string, string>, logger: ReturnType<typeof capture>['logger']): Promise<Application> {
    const config = testConfig(env);
    db = await openDatabase(config, false, logger);
    return createApplication(config, { logger, db, argon2: FAST_ARGON2 });
  }

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
    const env = { DATABASE_URL: 'postgres://taskforge:db-pass-0123@127.0.0.1:1/test', REDIS_URL: 'redis://:redis-pass-4567@127.0.0.1:1' };
    const refused = createApplication(testConfig({ ...env, DATABASE_CONNECT_TIMEOUT_MS: '300' }), { logger: logs.logger, argon2: FAST_ARGON2 });
    await expect(refused).rejects.toThrow(StartupError);
    await expect(refused).rejects.not.toThrow(/db-pass-0123/);
    app = await appWithLostDatabase(env, logs.logger);
    expect((await app.http.inject({ method: 'POST', url: '/register', payload: aSignUp() })).statusCode).toBe(503);
    expect((await app.http.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the Redis client report its failure
    const text = logs.lines.join('\n');
    expect(text).toMatch(/database not answering yet \(connection refused by 127\.0\.0\.1:1/);
    expect(text).toMatch(/service unavailable/);
    expect(text).toMatch(/Redis is unreachable/);
    expect(text).not.toContain('db-pass-0123');
    expect(text).not.toContain('redis-pass-4567');
  });

  it('writes what a request logs itself (an outage warning) with that request’s id', async () => {
    const logs = capture();
    app = await appWithLostDatabase({ DATABASE_URL: 'postgres://taskforge@127.0.0.1:1/test' }, logs.logger);
    const response = await app.http.inject({ method: 'POST', url: '/register', payload: aSignUp(), headers: { 'x-request-id': 'outage-7' } });
    expect(response.statusCode).toBe(503);
    const entries = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((entry) => entry.msg === 'service unavailable')).toEqual([expect.objectContaining({ reqId: 'outage-7', level: 40 })]);
  });

  describe('stdout, written in blocks', () => {
    /** Runs a process that logs `count` lines to the service's stdout logger, then does `then`. */
    function logFromChild(count: number, then: 'exit' | 'idle') {
      const script = `
        const { createLogger } = await import('./src/infrastructure/logger.ts');
        const log = createLogger({ logLevel: 'info', nodeEnv: 'production' });
        for (let i = 0; i < ${count}; i++) log.info({ i }, 'line');
        ${then === 'exit' ? 'process.exit(0);' : 'setTimeout(() => {}, 5000);'}`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const lines = () => out.split('\n').filter(Boolean);
      return { child, lines };
    }

    it('writes a lone line within a fraction of a second, though the block is not full', async () => {
      const { child, lines } = logFromChild(1, 'idle');
      try {
        await expect.poll(() => lines().length, { timeout: 3_000, interval: 50 }).toBe(1);
      } finally {
        child.kill();
      }
    });

    it('writes every buffered line when the process exits', async () => {
      const { child, lines } = logFromChild(500, 'exit');
      await new Promise((resolve) => child.once('close', resolve));
      expect(lines()).toHaveLength(500);
      expect(JSON.parse(lines()[499]!)).toMatchObject({ i: 499, msg: 'line' });
    });
  });
});
