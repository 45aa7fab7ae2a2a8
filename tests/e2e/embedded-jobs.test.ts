import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOB_QUEUES } from '../../src/application/index.js';
import { createApplication, type Application } from '../../src/infrastructure/app.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { FAST_ARGON2, testConfig } from '../support/test-app.js';

function capturedLogger() {
  const messages: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'info', nodeEnv: 'production' }, stream), messages };
}

const metricsOf = async (app: Application) => (await app.http.inject({ method: 'GET', url: '/metrics' })).body;

describe('jobs in the API process', () => {
  let app: Application | undefined;
  afterEach(async () => {
    await app?.http.close();
    app = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    const log = capturedLogger();
    app = await createApplication(testConfig(env), { logger: log.logger, persistence: 'memory', argon2: FAST_ARGON2 });
    return { app, log };
  };

  it('runs them with WORKERS=embedded, the default, and exposes their metrics on /metrics', async () => {
    const { app, log } = await start();
    expect(log.messages).toContain('running jobs');
    await vi.waitFor(async () => expect(await metricsOf(app)).toMatch(/^jobs_total\{queue="housekeeping",outcome="completed"\} 2$/m));
    expect(await metricsOf(app)).toMatch(/^jobs_waiting\{queue="housekeeping"\} 0$/m);
  });

  it('leaves them to separate workers with WORKERS=off, and still reports how many wait', async () => {
    const { app, log } = await start({ WORKERS: 'off' });
    expect(log.messages).not.toContain('running jobs');
    await app.jobQueue.enqueue(JOB_QUEUES.housekeeping, { chore: 'purge' });
    expect(await metricsOf(app)).toMatch(/^jobs_waiting\{queue="housekeeping"\} 1$/m);
    expect(await metricsOf(app)).not.toMatch(/^jobs_total\{/m);
  });

  it('starts no job once draining, and stops the worker before closing', async () => {
    const { app } = await start();
    await vi.waitFor(async () => expect(await metricsOf(app)).toMatch(/^jobs_total\{queue="housekeeping",outcome="completed"\} 2$/m));

    app.http.beginDrain();
    await app.jobQueue.enqueue(JOB_QUEUES.housekeeping, { chore: 'purge' });
    // A job can only be proved not to start by giving it time to: here, part of a drain delay.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await app.jobQueue.waiting(JOB_QUEUES.housekeeping)).toBe(1);
    await app.http.close();
    expect(await app.jobQueue.waiting(JOB_QUEUES.housekeeping)).toBe(1);
  });
});
