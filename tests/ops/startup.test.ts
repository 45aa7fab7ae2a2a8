import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knex from 'knex';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScratchSchema, type ScratchSchema } from '../../scripts/support/scratch-schema.js';
import { freePort, spawnServer, waitUntilHealthy, type ServerProcess } from '../../scripts/support/server-process.js';
import { postgresUrl } from '../support/databases.js';
import { refusesConnections } from '../support/connections.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { migrations } from '../../migrations/index.js';
import { createApplication } from '../../src/infrastructure/app.js';
import { StartupError } from '../../src/infrastructure/startup-error.js';
import { FAST_ARGON2, testConfig } from '../support/test-app.js';

const pgUrl = await postgresUrl();
const SECRET = 'startup-test-secret-0123456789abcdefgh';
const CONNECT_TIMEOUT_MS = 1_000;

/** The test database's URL with one part changed. */
function pgUrlWith(change: (url: URL) => void): string {
  const url = new URL(pgUrl!);
  change(url);
  return url.href;
}

describe('start-up in process', () => {
  it('refuses a database whose schema is behind the code when told not to migrate it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'taskforge-startup-'));
    try {
      const config = testConfig({ DATABASE_URL: `file:${path.join(dir, 'empty.sqlite')}` });
      const refused = createApplication(config, { logger: pino({ level: 'silent' }), migrate: false, argon2: FAST_ARGON2 });
      await expect(refused).rejects.toThrow(StartupError);
      await expect(refused).rejects.toThrow(new RegExp(`${migrations.length} migration\\(s\\) not applied .*; run \`npm run migrate\` first$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!pgUrl)('start-up of the real server process against PostgreSQL', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-startup-'));
  });
  afterEach(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    server = undefined;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const spawn = (databaseUrl: string, env: Record<string, string> = {}) =>
    spawnServer({
      env: { NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), ...env },
    });

  /** Runs a start-up that must fail: exit status 1, one line on stderr, and nothing ever listened. */
  async function failedStartup(databaseUrl: string): Promise<{ line: string; elapsedMs: number }> {
    const started = performance.now();
    server = await spawn(databaseUrl);
    expect(await server.exited).toEqual({ code: 1, signal: null });
    const elapsedMs = performance.now() - started;
    const lines = server.errorOutput().trim().split('\n');
    expect(lines, server.output()).toHaveLength(1);
    expect(server.output()).not.toMatch(/listening|docs at/i);
    expect(await refusesConnections(server.port)).toBe(true);
    return { line: lines[0]!, elapsedMs };
  }

  it('exits 1 naming a refused connection after retrying for DATABASE_CONNECT_TIMEOUT_MS', async () => {
    const port = await freePort();
    const { line, elapsedMs } = await failedStartup(pgUrlWith((url) => ((url.hostname = '127.0.0.1'), (url.port = String(port)))));
    expect(line).toBe(`taskforge: cannot connect to the database: connection refused by 127.0.0.1:${port} (is PostgreSQL running there, on that port?)`);
    expect(elapsedMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS);
    expect(server!.output()).toMatch(/database not answering yet/);
  }, 30_000);

  it('exits 1 naming a database that does not exist', async () => {
    const name = `taskforge_missing_${randomBytes(3).toString('hex')}_test`;
    const { line } = await failedStartup(pgUrlWith((url) => (url.pathname = `/${name}`)));
    expect(line).toMatch(new RegExp(`^taskforge: cannot connect to the database: database "${name}" does not exist on `));
  }, 30_000);

  it('exits 1 naming a user the server does not accept', async () => {
    const user = `nobody_${randomBytes(3).toString('hex')}`;
    const { line } = await failedStartup(pgUrlWith((url) => ((url.username = user), (url.password = 'wrong'))));
    expect(line).toMatch(new RegExp(`^taskforge: cannot connect to the database: authentication failed for user "${user}"`));
    expect(line).not.toContain('wrong');
  }, 30_000);

  it('exits 1 at once, telling to run npm run migrate, when the schema is behind the code', async () => {
    const schema = `t_unmigrated_${randomBytes(4).toString('hex')}`;
    const admin = knex({ client: 'pg', connection: pgUrl!, pool: { min: 0, max: 1 } });
    await admin.raw('create schema ??', [schema]);
    try {
      const { line, elapsedMs } = await failedStartup(pgUrlWith((url) => url.searchParams.set('options', `-c search_path=${schema}`)));
      expect(line).toMatch(new RegExp(`^taskforge: the database schema is behind this version: ${migrations.length} migration\\(s\\) not applied \\(20261122_001_users_and_sessions, .*\\); run \`npm run migrate\` first$`));
      expect(elapsedMs).toBeLessThan(10_000);
      // Checking wrote nothing: not even knex's bookkeeping table.
      expect(await admin.raw('select count(*)::int as n from information_schema.tables where table_schema = ?', [schema])).toMatchObject({ rows: [{ n: 0 }] });
    } finally {
      await admin.raw('drop schema if exists ?? cascade', [schema]);
      await admin.destroy();
    }
  }, 30_000);

  describe('a database that comes up while the server waits for it', () => {
    let scratch: ScratchSchema;
    let proxy: TcpProxy | undefined;
    beforeAll(async () => {
      scratch = await createScratchSchema(pgUrl!, 't_startup');
    });
    afterAll(async () => {
      await proxy?.close();
      await scratch.drop();
    });

    it('is used once it answers: the server starts and is ready', async () => {
      const target = new URL(pgUrl!);
      proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      proxy.port = await freePort();
      const through = new URL(scratch.url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      server = await spawn(through.href, { DATABASE_CONNECT_TIMEOUT_MS: '20000' });
      await server.waitForOutput(/database not answering yet/);
      await proxy.restore();
      await waitUntilHealthy(`${server.baseUrl}/health`, server.child, 20_000, server.output);
      expect((await fetch(`${server.baseUrl}/ready`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }, 40_000);
  });
});
