import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import argon2 from 'argon2';
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createApplication } from '../../src/infrastructure/app.js';
import { runCli } from '../../src/infrastructure/cli-program.js';
import { FAST_ARGON2, TEST_ENV, json, testConfig } from '../support/test-app.js';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const cliPath = path.join(root, 'src/infrastructure/cli.ts');
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Migration names in order: the rollback tests name the newest ones, whichever they are. */
const MIGRATIONS = migrations.map(({ file }) => file);

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

describe('the command line (tsx src/infrastructure/cli.ts) on a temporary SQLite file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskforge-cli-'));
  const databaseUrl = `file:${path.join(dir, 'cli.sqlite')}`;
  let db: Knex;

  const env = (extra: Record<string, string> = {}) => ({ NODE_ENV: 'test', JWT_SECRET: TEST_ENV.JWT_SECRET, DATA_DIR: dir, DATABASE_URL: databaseUrl, ...extra });

  /** In process, for speed: the same runCli the entry point calls. `tty` makes stdin a terminal. */
  async function cli(args: string[], options: { env?: Record<string, string>; stdin?: string; tty?: boolean } = {}): Promise<Run> {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const stdin = Object.assign(Readable.from([options.stdin ?? '']), { isTTY: options.tty });
    const status = await runCli(args, {
      env: env(options.env),
      stdin,
      out: (line) => stdout.push(`${line}\n`),
      err: (line) => stderr.push(`${line}\n`),
      prompt: (text) => stderr.push(text),
    });
    return { status, stdout: stdout.join(''), stderr: stderr.join('') };
  }

  /** As a real process through tsx, for exit statuses, stdin and streams. */
  function spawnCli(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(tsx, [cliPath, ...args], { cwd: root, env: { PATH: process.env.PATH, ...env(options.env) } }, (error, stdout, stderr) =>
        resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(options.stdin ?? '');
    });
  }

  beforeAll(() => {
    db = knex({ client: 'sqlite3', connection: { filename: path.join(dir, 'cli.sqlite') }, useNullAsDefault: true });
  });
  afterAll(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints the usage on stdout and exits 0; no command prints it on stderr and exits 2', async () => {
    const help = await spawnCli(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['create-admin', 'migrate', 'rollback', 'list-users', 'create-token', 'list-tokens', 'revoke-token']) expect(help.stdout).toContain(command);

    const none = await spawnCli([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('Usage:');
  });

  it('rejects an unknown command or option with one line and exit status 2', async () => {
    for (const args of [['frobnicate'], ['list-users', '--bogus'], ['list-users', '--limit', '0'], ['create-admin', '--email', 'a@example.com']]) {
      const run = await cli(args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr).toMatch(/^taskforge: .*\. Run "npm run cli -- --help" for usage\.$/m);
    }
  });

  it('migrate applies every migration once', async () => {
    const first = await spawnCli(['migrate']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Applied \d+ migration\(s\): 20261122_001_users_and_sessions/);
    expect(await db.schema.hasTable('users')).toBe(true);

    const again = await cli(['migrate']);
    expect(again.stdout.trim()).toBe('Already up to date.');
  });

  it("knex's own CLI lists the migrations by name (npm run knex -- migrate:list)", async () => {
    const listed = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'node_modules/knex/bin/cli.js', '--knexfile', 'knexfile.ts', 'migrate:list'],
        { cwd: root, env: { PATH: process.env.PATH, ...env({ DATABASE_URL: `file:${path.join(dir, 'fresh.sqlite')}` }) } },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    expect(listed).toMatch(new RegExp(`Found ${MIGRATIONS.length} Pending Migration`));
    expect(listed).toContain(MIGRATIONS.at(-1)!);
    expect(listed).not.toContain('undefined');
  });

  it('create-admin reads the password from stdin and never echoes it', async () => {
    const run = await spawnCli(['create-admin', '--username', 'Chief', '--email', 'chief@example.com', '--name', 'The Chief'], {
      stdin: 'piped secret phrase\n',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Created administrator Chief \(id \d+\)/);
    expect(run.stdout + run.stderr).not.toContain('piped secret phrase');

    const row = await db('users').where({ username_key: 'chief' }).first();
    expect(row).toMatchObject({ username: 'Chief', email: 'chief@example.com', name: 'The Chief', role: 'admin' });
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('create-admin takes the password from ADMIN_PASSWORD or --password', async () => {
    const fromEnv = await cli(['create-admin', '--username', 'deputy', '--email', 'deputy@example.com'], { env: { ADMIN_PASSWORD: 'from the environment' } });
    expect(fromEnv.status, fromEnv.stderr).toBe(0);
    const fromFlag = await cli(['create-admin', '--username', 'third', '--email', 'third@example.com', '--password', 'from the flag 123']);
    expect(fromFlag.status, fromFlag.stderr).toBe(0);
    expect(fromFlag.stdout).not.toContain('from the flag 123');
  });

  it('create-admin asks for the password when ADMIN_PASSWORD is set but empty, as .env.example leaves it', async () => {
    const run = await cli(['create-admin', '--username', 'fourth', '--email', 'fourth@example.com'], { env: { ADMIN_PASSWORD: '' }, stdin: 'asked for at last\n' });
    expect(run.status, run.stderr).toBe(0);
    const row = await db('users').where({ username_key: 'fourth' }).first();
    expect(await argon2.verify(row.password_hash, 'asked for at last')).toBe(true);
    await db('users').where({ id: row.id }).delete(); // the listings below count the admins before it
  });

  it('the created admin logs in through the HTTP API and may list users', async () => {
    const app = await createApplication(testConfig({ DATABASE_URL: databaseUrl }), { logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    try {
      const login = await app.http.inject({ method: 'POST', url: '/login', payload: { username: 'CHIEF@example.com', password: 'piped secret phrase' } });
      expect(login.statusCode).toBe(200);
      const users = await app.http.inject({ method: 'GET', url: '/users', headers: { authorization: `Bearer ${json(login).access_token}` } });
      expect(users.statusCode).toBe(200);
    } finally {
      await app.http.close();
    }
  });

  it('create-admin fails with one line and exit status 1 for a taken name or invalid fields', async () => {
    const taken = await cli(['create-admin', '--username', 'CHIEF', '--email', 'other@example.com', '--password', 'long enough pass']);
    expect(taken.status).toBe(1);
    expect(taken.stderr.trim()).toBe('taskforge: username is already taken');

    const invalid = await cli(['create-admin', '--username', 'x', '--email', 'nope', '--password', 'short']);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
    expect(invalid.stderr).toMatch(/username .*; email .*; password /);
    expect(invalid.stderr).not.toContain('short');
  });

  it('list-users prints a table, pages, searches and speaks JSON without secrets', async () => {
    const table = await cli(['list-users']);
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+USERNAME\s+EMAIL\s+ROLE\s+NAME\s+CREATED_AT$/);
    expect(lines.slice(1, -1).map((line) => line.split(/\s+/)[1])).toEqual(['Chief', 'deputy', 'third']);
    expect(lines.at(-1)).toBe('1-3 of 3 user(s)');

    const paged = await cli(['list-users', '--limit', '1', '--offset', '1', '--json']);
    const page = JSON.parse(paged.stdout);
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1, items: [{ username: 'deputy', role: 'admin' }] });
    expect(paged.stdout).not.toMatch(/password|argon2/i);

    const searched = JSON.parse((await cli(['list-users', '--q', 'THIRD', '--json'])).stdout);
    expect(searched.items.map((u: { username: string }) => u.username)).toEqual(['third']);
  });

  it('create-token, list-tokens and revoke-token manage a user’s personal access tokens, seen by the API at once', async () => {
    const created = await cli(['create-token', '--user', 'THIRD', '--name', 'nightly export', '--scopes', 'tasks:read,profile', '--expires-in-days', '30']);
    expect(created.status, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tfp_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown this once');

    const listed = await cli(['list-tokens', '--user', 'third', '--json']);
    const { items } = JSON.parse(listed.stdout);
    expect(items).toMatchObject([{ name: 'nightly export', scopes: ['tasks:read', 'profile'], last_used_at: null }]);
    expect(listed.stdout).not.toContain(token.slice(4));
    const table = (await cli(['list-tokens', '--user', 'third'])).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED_AT\s+EXPIRES_AT\s+LAST_USED_AT$/);
    expect(table.at(-1)).toBe('1 token(s) of third');

    const app = await createApplication(testConfig({ DATABASE_URL: databaseUrl }), { logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    try {
      const me = () => app.http.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } });
      expect(json(await me()).username).toBe('third');
      const revoked = await cli(['revoke-token', '--user', 'third', '--id', String(items[0].id)]);
      expect(revoked.status, revoked.stderr).toBe(0);
      expect((await me()).statusCode).toBe(401);
    } finally {
      await app.http.close();
    }
    const again = await cli(['revoke-token', '--user', 'third', '--id', String(items[0].id)]);
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe('taskforge: No such personal access token.');
  });

  it('create-token refuses unknown scopes, unknown users and bad lifetimes, creating nothing', async () => {
    const unknown = await cli(['create-token', '--user', 'third', '--name', 'x', '--scopes', 'tasks:read tasks:delete']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^taskforge: scopes "tasks:delete" is not a scope/);
    expect((await cli(['create-token', '--user', 'nobody', '--name', 'x', '--scopes', 'profile'])).stderr.trim()).toBe('taskforge: no user "nobody"');
    expect((await cli(['create-token', '--user', 'third', '--name', 'x', '--scopes', 'profile', '--expires-in-days', '366'])).status).toBe(2);
    expect((await cli(['create-token', '--user', 'third', '--name', 'x'])).status).toBe(2);
    expect(JSON.parse((await cli(['list-tokens', '--user', 'third', '--json'])).stdout).items).toEqual([]);
  });

  const applied = async () => (await db('knex_migrations').select('name').orderBy('id')).map((row: { name: string }) => row.name);

  it('rollback refuses without --yes when stdin is not a terminal, and reverts nothing', async () => {
    const run = await spawnCli(['rollback']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      `taskforge: rollback would revert 1 migration(s) of the SQLite database ${path.join(dir, 'cli.sqlite')}: ${MIGRATIONS.at(-1)}. ` +
        'Nothing was reverted: confirm with npm run cli -- rollback --yes',
    );
    expect(await applied()).toHaveLength(MIGRATIONS.length);
  });

  it('rollback --yes reverts only the latest migration, and a server on that database stops being ready', async () => {
    const app = await createApplication(testConfig({ DATABASE_URL: databaseUrl }), { logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    try {
      expect((await app.http.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      const run = await cli(['rollback', '--yes']);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`Reverted 1 migration(s): ${MIGRATIONS.at(-1)}. \`npm run migrate\` applies them again.`);
      expect(await applied()).toHaveLength(MIGRATIONS.length - 1);
      expect(await db.schema.hasTable('users')).toBe(true);

      const ready = await app.http.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(json(ready).checks).toEqual({ ai: 'not_configured', database: 'ok', schema: 'unavailable' });
    } finally {
      await app.http.close();
    }
  });

  it('rollback on a terminal names what it reverts and asks first; only yes reverts', async () => {
    const declined = await cli(['rollback'], { tty: true, stdin: 'n\n' });
    expect(declined.status).toBe(1);
    expect(declined.stderr).toContain('This reverts 1 migration(s) of the SQLite database');
    expect(declined.stderr).toContain(`: ${MIGRATIONS.at(-2)}.`);
    expect(declined.stderr).toContain('Revert? [y/N] ');
    expect(declined.stderr).toMatch(/taskforge: nothing was reverted\n$/);
    expect(await applied()).toHaveLength(MIGRATIONS.length - 1);

    const silent = await cli(['rollback'], { tty: true, stdin: '' });
    expect(silent.status).toBe(1);
    expect(await applied()).toHaveLength(MIGRATIONS.length - 1);

    const accepted = await cli(['rollback'], { tty: true, stdin: 'yes\n' });
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain(`Reverted 1 migration(s): ${MIGRATIONS.at(-2)}.`);
    expect(await applied()).toHaveLength(MIGRATIONS.length - 2);
  });

  it.runIf(hasScript)('rollback asks on a real terminal (a pseudo-terminal through script(1))', async () => {
    const run = await new Promise<Run>((resolve) => {
      const command = [tsx, cliPath, 'rollback'].map((word) => `'${word}'`).join(' ');
      const child = execFile('script', ['-qec', command, '/dev/null'], { cwd: root, env: { PATH: process.env.PATH, ...env() } }, (error, stdout, stderr) =>
        resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        if (String(chunk).includes('Revert? [y/N]')) child.stdin!.end('y\n');
      });
    });
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toContain('This reverts 1 migration(s)');
    expect(run.stdout).toContain(`Reverted 1 migration(s): ${MIGRATIONS.at(-3)}.`);
    expect(await applied()).toHaveLength(MIGRATIONS.length - 3);
  });

  it('rollback --all --yes reverts every applied migration, newest first', async () => {
    const before = await applied();
    const run = await cli(['rollback', '--all', '--yes']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`Reverted ${before.length} migration(s): ${[...before].reverse().join(', ')}. \`npm run migrate\` applies them again.`);
    expect(await db.schema.hasTable('users')).toBe(false);
    expect((await cli(['rollback', '--yes'])).stdout.trim()).toBe('Nothing to roll back.');
  });

  it('reports a bad setting or an unreachable database in one line with exit status 1', async () => {
    const badUrl = await spawnCli(['migrate'], { env: { DATABASE_URL: 'mysql://localhost/x' } });
    expect(badUrl.status).toBe(1);
    expect(badUrl.stderr.trim().split('\n')).toHaveLength(1);
    expect(badUrl.stderr).toContain('DATABASE_URL');

    const unreachable = await cli(['migrate'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' } });
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^taskforge: migrate failed: connection refused by 127\.0\.0\.1:1 /);
  });
});
