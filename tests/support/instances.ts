import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScratchSchema } from '../../scripts/support/scratch-schema.js';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { postgresUrl } from './databases.js';
import { aSignUp, bearer, type TokenPairBody } from './http.js';
import { uniqueRedisPrefix } from './redis.js';
import { TEST_ENV } from './test-app.js';

/**
 * Several real service processes (`startServer`: main.ts through tsx) on one database: instances
 * of one deployment, as behind a load balancer, for the tests of what crosses between them.
 */
export interface InstancesOptions {
  database: 'sqlite' | 'postgres';
  /** REDIS_URL of every instance, under a REDIS_KEY_PREFIX of this deployment's own; null: no Redis. */
  redisUrl?: string | null;
  count?: number;
  /** Env every instance gets, over the test defaults. */
  env?: Record<string, string>;
  /**
   * Env for the first instance alone: ADMIN_* (the first administrator), which instances starting
   * together on an empty database would race to create.
   */
  firstInstanceEnv?: Record<string, string>;
}

export interface Instances {
  servers: ServerProcess[];
  /** Kills what still runs (SIGKILL: nothing is left to drain) and drops the database. */
  stop(): Promise<void>;
}

/** A database of the deployment's own, migrated before any instance starts, so they can start together. */
async function sharedDatabase(kind: InstancesOptions['database']): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (kind === 'postgres') {
    const url = await postgresUrl();
    if (!url) throw new Error('PostgreSQL is not available');
    const scratch = await createScratchSchema(url, 't_instances');
    return { env: { DATABASE_URL: scratch.url }, drop: () => scratch.drop() };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-instances-'));
  const filename = path.join(dataDir, 'taskforge.sqlite');
  const migrator = createDatabase({ kind: 'sqlite', filename });
  try {
    await migrateToLatest(migrator);
  } finally {
    await migrator.destroy();
  }
  return { env: { DATA_DIR: dataDir, DATABASE_URL: `file:${filename}` }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

export async function startInstances({ database, redisUrl = null, count = 2, env = {}, firstInstanceEnv = {} }: InstancesOptions): Promise<Instances> {
  const shared = await sharedDatabase(database);
  const redis: Record<string, string> = redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: uniqueRedisPrefix() } : {};
  const common = { ...TEST_ENV, ...shared.env, ...redis, ...env };
  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startServer({ env: i === 0 ? { ...common, ...firstInstanceEnv } : common })));
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.exited));
    await shared.drop();
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { servers, stop };
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by assertions
  body: any;
  /** When the response had been read (Date.now()). */
  at: number;
}

/** One JSON request to a service process. */
export async function call(server: ServerProcess, method: string, url: string, token?: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(token ? bearer(token) : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, at: Date.now() };
}

/** `call`, checked to answer `status`: for the requests a test only needs to have succeeded. */
export async function expectCall(status: number, ...request: Parameters<typeof call>): Promise<Answer> {
  const answer = await call(...request);
  if (answer.status !== status) throw new Error(`${request[1]} ${request[2]} answered ${answer.status}, not ${status}: ${JSON.stringify(answer.body)}`);
  return answer;
}

export async function logInTo(server: ServerProcess, username: string, password: string): Promise<TokenPairBody> {
  return (await expectCall(200, server, 'POST', '/login', undefined, { username, password })).body as TokenPairBody;
}

export interface ProcessAccount {
  id: number;
  username: string;
  password: string;
  /** The access token of its first login. */
  token: string;
}

/** Registers a fresh user through `server` and logs in once. */
export async function signUpOn(server: ServerProcess): Promise<ProcessAccount> {
  const body = aSignUp();
  const { body: user } = await expectCall(201, server, 'POST', '/register', undefined, body);
  const tokens = await logInTo(server, body.username, body.password);
  return { id: user.id as number, username: body.username, password: body.password, token: tokens.access_token };
}
