import { randomBytes } from 'node:crypto';
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../../src/adapters/persistence/knex/database-unavailable.js';
import { createApplication, openDatabase, type Application } from '../../src/infrastructure/app.js';
import { StartupError } from '../../src/infrastructure/startup-error.js';
import { postgresUrl } from '../support/databases.js';
import { aSignUp, bearer, expectProblem } from '../support/http.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { FAST_ARGON2, json, testConfig } from '../support/test-app.js';

const pgUrl = await postgresUrl();

async function startApp(env: Record<string, string>): Promise<Application> {
  const app = await createApplication(testConfig(env), { logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
  await app.http.ready();
  return app;
}

const register = (app: Application) => app.http.inject({ method: 'POST', url: '/register', payload: aSignUp() });

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('database unreachable from the start', () => {
  let app: Application;
  let db: Knex | undefined;
  afterEach(async () => {
    await app?.http.close();
    await db?.destroy();
  });

  it('refuses to start once DATABASE_CONNECT_TIMEOUT_MS has passed, naming the cause', async () => {
    const started = performance.now();
    const refused = startApp({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test', DATABASE_CONNECT_TIMEOUT_MS: '600' });
    await expect(refused).rejects.toThrow(StartupError);
    await expect(refused).rejects.toThrow('cannot connect to the database: connection refused by 127.0.0.1:1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('answers 503 problem+json at once, and /ready 503, when PostgreSQL refuses connections', async () => {
    // Handed an already open database, the application does not wait for it: what it does when
    // the database goes away after start-up.
    const config = testConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
    const logger = pino({ level: 'silent' });
    db = await openDatabase(config, false, logger);
    app = await createApplication(config, { logger, db, argon2: FAST_ARGON2 });
    const [response, elapsed] = await timed(() => register(app));
    const body = expectProblem(response, 503);
    expect(body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:1\b|pg|knex/i);
    expect(elapsed).toBeLessThan(1_000);

    const login = await app.http.inject({ method: 'POST', url: '/login', payload: { username: 'someone', password: 'some password' } });
    expectProblem(login, 503);
    // The bearer check reads the session: an outage there is a 503 too, never a 401 or a 500.
    const me = await app.http.inject({ method: 'GET', url: '/me', headers: bearer('a.b.c') });
    expect(me.statusCode).toBe(401); // a malformed token never reaches the database
    const ready = await app.http.inject({ method: 'GET', url: '/ready' });
    expect(expectProblem(ready, 503).checks).toEqual({ ai: 'not_configured', database: 'unavailable', schema: 'unavailable', fan_out: 'unavailable' });
    expect((await app.http.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['dual-stack refusal', Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {})],
    ['pool timeout', Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' })],
    ['admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['connection lost', new Error('Connection terminated unexpectedly')],
    ['client query timeout', new Error('Query read timeout')],
    ['SQLite busy', Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' })],
    ['SQLite extended I/O error', Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' })],
  ])('classifies %s as unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a bug', new TypeError('cannot read properties of undefined')],
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' })],
    ['a SQLite unique violation', Object.assign(new Error('UNIQUE constraint failed: users.email_key'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['nothing', null],
  ])('leaves %s alone (it stays a 500 or is handled elsewhere)', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe.skipIf(!pgUrl)('PostgreSQL outage and recovery (through a TCP proxy)', () => {
  const schema = `t_outage_${randomBytes(4).toString('hex')}`;
  const target = pgUrl ? new URL(pgUrl) : null;
  let proxy: TcpProxy;
  let app: Application;

  beforeAll(async () => {
    const admin = knex({ client: 'pg', connection: pgUrl! });
    await admin.raw(`create schema ${schema}`);
    await admin.destroy();
    const migrator = knex({ client: 'pg', connection: pgUrl!, searchPath: [schema] });
    await migrateToLatest(migrator);
    await migrator.destroy();
    proxy = await new TcpProxy({ host: target!.hostname, port: Number(target!.port || 5432) }).start();
  });

  afterAll(async () => {
    await app?.http.close();
    await proxy?.close();
    const admin = knex({ client: 'pg', connection: pgUrl! });
    await admin.raw(`drop schema if exists ${schema} cascade`);
    await admin.destroy();
  });

  const databaseUrl = () => {
    const url = new URL(target!.href);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.href;
  };

  it('fails fast while the database is gone and recovers by itself when it returns', async () => {
    app = await startApp({ DATABASE_URL: databaseUrl(), DATABASE_ACQUIRE_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '1000' });
    const created = await register(app);
    expect(created.statusCode, created.body).toBe(201);
    const account = aSignUp();
    expect((await app.http.inject({ method: 'POST', url: '/register', payload: account })).statusCode).toBe(201);
    const tokens = json((await app.http.inject({ method: 'POST', url: '/login', payload: { username: account.username, password: account.password } })));

    // Connection refused: every database-backed request is a quick 503.
    await proxy.refuse();
    for (const request of [
      () => register(app),
      () => app.http.inject({ method: 'GET', url: '/me', headers: bearer(tokens.access_token) }),
      () => app.http.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: tokens.refresh_token } }),
    ]) {
      const [response, elapsed] = await timed(request);
      expectProblem(response, 503);
      expect(elapsed).toBeLessThan(1_500);
    }
    expectProblem(await app.http.inject({ method: 'GET', url: '/ready' }), 503);

    // Back again: no restart, the pool reconnects on its own.
    await proxy.restore();
    await eventually(async () => (await app.http.inject({ method: 'GET', url: '/ready' })).statusCode === 200);
    expect((await register(app)).statusCode).toBe(201);
    expect((await app.http.inject({ method: 'GET', url: '/me', headers: bearer(tokens.access_token) })).statusCode).toBe(200);

    // A network that swallows packets: bounded by the acquire and query timeouts, never a hang.
    proxy.stall();
    const [stalled, elapsed] = await timed(() => register(app));
    expectProblem(stalled, 503);
    expect(elapsed).toBeLessThan(5_000);
    const [ready, readyElapsed] = await timed(() => app.http.inject({ method: 'GET', url: '/ready' }));
    expect(ready.statusCode).toBe(503);
    expect(readyElapsed).toBeLessThan(3_000);

    await proxy.restore();
    await eventually(async () => (await register(app)).statusCode === 201);
  });
});
