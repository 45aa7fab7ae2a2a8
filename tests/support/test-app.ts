import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/infrastructure/config.js';
import { createApplication, type Application } from '../../src/infrastructure/app.js';
import { openTestDatabase, postgresUrl, type SqlEngine, type TestDatabase } from './databases.js';

/** Cheap argon2id so suites stay fast; production parameters are tested on the hasher itself. */
export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export const TEST_ENV = {
  NODE_ENV: 'test',
  JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
  LOG_LEVEL: 'silent',
  // Suites register many users from one address; rate-limit tests set their own limits.
  RATE_LIMIT_AUTH_MAX: '100000',
  RATE_LIMIT_MAX: '100000',
  RATE_LIMIT_FAILED_AUTH_MAX: '100000',
};

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ ...TEST_ENV, DATABASE_URL: 'sqlite::memory:', ...env });
}

export interface TestApp extends Application {
  inject: FastifyInstance['inject'];
  database: TestDatabase | null;
  close(): Promise<void>;
}

/** The real HTTP adapter on a real (private) database, or on in-memory repositories. */
export async function buildTestApp(
  engine: SqlEngine | 'memory' = 'sqlite',
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<TestApp> {
  const database = engine === 'memory' ? null : await openTestDatabase(engine);
  const app = await buildTestAppOn(database, env, options);
  return {
    ...app,
    close: async () => {
      await app.close();
      await database?.destroy();
    },
  };
}

/**
 * One instance of the service on `database`, which the caller opened and closes: build several
 * on one database to have several instances. On PostgreSQL, DATABASE_URL names the test
 * database, as a deployment's does, so instances hear each other's change notices through it.
 */
export async function buildTestAppOn(database: TestDatabase | null, env: Record<string, string> = {}, options: { logger?: Logger } = {}): Promise<TestApp> {
  const postgres: Record<string, string> = database?.engine === 'postgres' ? { DATABASE_URL: (await postgresUrl())! } : {};
  // Jobs run where a test runs them (the queue's worker() or a handler), never behind its back.
  const config = testConfig({ WORKERS: 'off', ...postgres, ...env });
  const application = await createApplication(config, {
    jobQueue: 'in-memory',
    logger: options.logger ?? pino({ level: 'silent' }),
    persistence: database ? 'sql' : 'memory',
    db: database?.db,
    argon2: FAST_ARGON2,
  });
  await application.http.ready();
  return {
    ...application,
    database,
    inject: application.http.inject.bind(application.http),
    close: () => application.http.close(),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by assertions
export const json = <T = Record<string, any>>(response: LightMyRequestResponse): T => response.json() as T;
