import type { Knex } from 'knex';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  CreateAdmin,
  CreatePersonalAccessToken,
  ListPersonalAccessTokens,
  ListUsers,
  RevokePersonalAccessToken,
  USER_REPOSITORY,
  type Principal,
  type TokenOwner,
  type UserRepository,
} from '../application/index.js';
import { DomainError, SCOPES, isDomainError, type PersonalAccessToken, type User } from '../domain/index.js';
import { toUserDto } from '../adapters/http/mappers.js';
import { watchEvents } from '../adapters/http-client/event-watcher.js';
import { describeConnectionFailure } from '../adapters/persistence/knex/connection-check.js';
import { migrateToLatest, type DatabaseTarget } from '../adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../adapters/persistence/knex/database-unavailable.js';
import { revertAll, revertLast, rollbackPlan } from '../adapters/persistence/knex/schema-status.js';
import { openDatabase } from './app.js';
import { ConfigError, loadConfig, shownWithoutCredentials, type Config } from './config.js';
import type { DependencyContainer } from 'tsyringe';
import { createContainer } from './container.js';
import { createLogger } from './logger.js';
import { parseWholeNumber } from './whole-number.js';

const DEFAULT_SERVICE_URL = 'http://127.0.0.1:3000';

/** What people type to run the command line (from a checkout; the image runs node dist/src/infrastructure/cli.js). */
const CLI = 'npm run cli --';

const USAGE = `Usage: ${CLI} <command> [options]

Commands:
  create-admin --username U --email E [--name N] [--password P]
                 Create an administrator. The password comes from --password, else
                 ADMIN_PASSWORD, else standard input (typed without echo on a terminal).
  migrate        Apply every pending database migration (also: npm run migrate).
  rollback [--all] [--yes]
                 Revert the latest migration (--all: every applied one). Asks first on a
                 terminal; elsewhere --yes must confirm it. A server on that database
                 reports itself not ready until the migrations are applied again.
  list-users [--limit N] [--offset N] [--q TEXT] [--json]
                 List accounts (limit 1-100, default 20).
  create-token --user U --name N --scopes S [--expires-in-days D] [--json]
                 Create a personal access token for user U (username or email).
                 S: scopes separated by commas or spaces (${SCOPES.join(', ')}).
                 D: 1-365; omitted, it does not expire. The token is printed on
                 stdout, this once; the server keeps only a hash of it.
  list-tokens --user U [--json]
                 List the personal access tokens of user U (never the secrets).
  revoke-token --user U --id N
                 Revoke token N of user U; it is refused from the next request on.
  watch --token T [--url URL] [--since ID]
                 Follow your events live from a running server (default URL
                 ${DEFAULT_SERVICE_URL}), one JSON line each on stdout, until
                 interrupted; after a dropped connection it resumes where it was.
                 T: an access token or personal access token (tasks:read), else
                 TASKFORGE_TOKEN. --since: replay the events after that id first.
  help           Show this text (also --help or -h).

The database comes from DATABASE_URL (see .env.example), as for the server; watch needs none.
Exit status: 0 done, 1 failed, 2 bad usage.`;

/** A mistake in how the command was called: exit status 2 and a pointer to --help. */
class UsageError extends Error {}

/** The command line acts as an operator with administrator rights, not as a logged-in user. */
const OPERATOR: Principal = { userId: 0, role: 'admin', sessionId: 'command-line', scopes: [...SCOPES] };

export interface CliIo {
  env: NodeJS.ProcessEnv;
  /** Stops a command that runs until interrupted (watch); without it, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** Where questions to the person at the terminal go (stderr), without a line break. */
  prompt?(text: string): void;
  out(line: string): void;
  err(line: string): void;
}

type Options = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): Options {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

function requiredText(values: Options, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

function wholeNumber(values: Options, name: string, fallback: number, min: number, max: number): number {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = typeof text === 'string' ? parseWholeNumber(text, min, max) : null;
  if (value === null) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}; got "${String(text)}"`);
  return value;
}

/** Reads a password without echoing it: hidden keystrokes on a terminal, else the first line of a pipe. */
async function readPassword(io: CliIo): Promise<string> {
  const { stdin } = io;
  if (!stdin.isTTY || !stdin.setRawMode) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.replace(/\r?\n[\s\S]*$/, '');
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (keys: string) => {
        for (const key of keys) {
          if (key === '\r' || key === '\n') return finish(() => resolve(typed));
          if (key === '\u0003') return finish(() => reject(new UsageError('cancelled')));
          typed = key === '\u007f' || key === '\b' ? [...typed].slice(0, -1).join('') : typed + key;
        }
      };
      const finish = (settle: () => void) => {
        stdin.off('data', onData);
        process.stderr.write('\n');
        settle();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** A yes/no question on the terminal; anything but y or yes (or the input ending) is a no. */
async function confirm(io: CliIo, question: string): Promise<boolean> {
  (io.prompt ?? ((text: string) => process.stderr.write(text)))(question);
  const lines = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    lines.close();
    io.stdin.pause();
  }
}

/** The database a command works on, as an operator would recognise it (no password). */
function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return `the SQLite database ${target.filename}`;
  const url = new URL(target.url);
  return `the PostgreSQL database ${url.pathname.replace(/^\//, '')} on ${url.hostname}:${url.port || '5432'}`;
}

/** A command that did not run because nobody confirmed it: exit status 1, nothing changed. */
class NotConfirmed extends Error {}

function describeUsers(users: User[], total: number, offset: number): string[] {
  const rows = [['ID', 'USERNAME', 'EMAIL', 'ROLE', 'NAME', 'CREATED_AT']].concat(
    users.map((u) => [String(u.id), u.username, u.email, u.role, u.name ?? '', u.createdAt.toISOString()]),
  );
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  const range = users.length === 0 ? 'none' : `${offset + 1}-${offset + users.length}`;
  return [...lines, `${range} of ${total} user(s)`];
}

/** The account a token command acts on, by username or email. */
async function tokenOwner(container: DependencyContainer, login: string): Promise<TokenOwner & { username: string }> {
  const user = await container.resolve<UserRepository>(USER_REPOSITORY).findByLogin(login.trim());
  if (!user) throw new DomainError('USER_NOT_FOUND', `no user "${login}"`);
  return { userId: user.id, role: user.role, username: user.username };
}

const utcOrDash = (date: Date | null): string => date?.toISOString() ?? '-';

function tokenJson(token: PersonalAccessToken) {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    created_at: token.createdAt.toISOString(),
    expires_at: token.expiresAt?.toISOString() ?? null,
    last_used_at: token.lastUsedAt?.toISOString() ?? null,
  };
}

function describeTokens(tokens: PersonalAccessToken[], username: string): string[] {
  const rows = [['ID', 'NAME', 'SCOPES', 'CREATED_AT', 'EXPIRES_AT', 'LAST_USED_AT']].concat(
    tokens.map((t) => [String(t.id), t.name, t.scopes.join(','), t.createdAt.toISOString(), utcOrDash(t.expiresAt), utcOrDash(t.lastUsedAt)]),
  );
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  return [...lines, `${tokens.length} token(s) of ${username}`];
}

interface Context {
  config: Config;
  io: CliIo;
  withDatabase<T>(work: (db: Knex) => Promise<T>, migrate?: boolean): Promise<T>;
}

const commands: Record<string, (args: string[], ctx: Context) => Promise<void>> = {
  async migrate(args, { io, withDatabase }) {
    parse(args, {});
    const applied = await withDatabase((db) => migrateToLatest(db), false);
    io.out(applied.length === 0 ? 'Already up to date.' : `Applied ${applied.length} migration(s): ${applied.join(', ')}`);
  },

  async rollback(args, { config, io, withDatabase }) {
    const values = parse(args, { all: { type: 'boolean' }, yes: { type: 'boolean' } });
    const all = values.all === true;
    await withDatabase(async (db) => {
      const plan = await rollbackPlan(db, all);
      if (plan.length === 0) {
        io.out('Nothing to roll back.');
        return;
      }
      const what = `${plan.length} migration(s) of ${describeTarget(config.database)}: ${plan.join(', ')}`;
      if (values.yes !== true) {
        const again = `${CLI} rollback${all ? ' --all' : ''} --yes`;
        if (!io.stdin.isTTY) throw new NotConfirmed(`rollback would revert ${what}. Nothing was reverted: confirm with ${again}`);
        io.err(`This reverts ${what}.`);
        io.err('A server on this database answers /ready with 503 until `npm run migrate` applies them again.');
        if (!(await confirm(io, 'Revert? [y/N] '))) throw new NotConfirmed('nothing was reverted');
      }
      const reverted = all ? await revertAll(db) : await revertLast(db);
      io.out(`Reverted ${reverted.length} migration(s): ${reverted.join(', ')}. \`npm run migrate\` applies them again.`);
    }, false);
  },

  async 'create-admin'(args, { config, io, withDatabase }) {
    const values = parse(args, { username: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' } });
    const username = requiredText(values, 'username');
    const email = requiredText(values, 'email');
    // An empty ADMIN_PASSWORD (as `.env.example` and the compose file leave it) is unset, as for the service.
    const password = typeof values.password === 'string' ? values.password : io.env.ADMIN_PASSWORD || (await readPassword(io));
    const name = typeof values.name === 'string' ? values.name : null;
    const admin = await withDatabase((db) =>
      createContainer({ config, db })
        .resolve(CreateAdmin)
        .execute({ username, email, password, name }, { onlyIfNoAdmin: false }),
    );
    io.out(`Created administrator ${admin!.username} (id ${admin!.id}).`);
  },

  async 'list-users'(args, { config, io, withDatabase }) {
    const values = parse(args, { limit: { type: 'string' }, offset: { type: 'string' }, q: { type: 'string' }, json: { type: 'boolean' } });
    const limit = wholeNumber(values, 'limit', 20, 1, 100);
    const offset = wholeNumber(values, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const q = typeof values.q === 'string' ? values.q : undefined;
    const page = await withDatabase((db) => createContainer({ config, db }).resolve(ListUsers).execute(OPERATOR, { limit, offset, q }));
    if (values.json) {
      io.out(JSON.stringify({ items: page.items.map(toUserDto), total: page.total, limit, offset }));
      return;
    }
    describeUsers(page.items, page.total, offset).forEach((line) => io.out(line));
  },

  async 'create-token'(args, { config, io, withDatabase }) {
    const values = parse(args, {
      user: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-in-days': { type: 'string' },
      json: { type: 'boolean' },
    });
    const login = requiredText(values, 'user');
    const name = requiredText(values, 'name');
    const scopes = requiredText(values, 'scopes').split(/[\s,]+/).filter(Boolean);
    const expiresInDays = values['expires-in-days'] === undefined ? null : wholeNumber(values, 'expires-in-days', 0, 1, 365);
    const { owner, created } = await withDatabase(async (db) => {
      const container = createContainer({ config, db });
      const owner = await tokenOwner(container, login);
      return { owner, created: await container.resolve(CreatePersonalAccessToken).execute(owner, { name, scopes, expiresInDays }) };
    });
    if (values.json) {
      io.out(JSON.stringify({ ...tokenJson(created.token), token: created.secret }));
      return;
    }
    // The secret alone on stdout, so a script can capture it; the words go to the terminal.
    io.err(`Created personal access token ${created.token.id} ("${created.token.name}") for ${owner.username}; it is shown this once:`);
    io.out(created.secret);
  },

  async 'list-tokens'(args, { config, io, withDatabase }) {
    const values = parse(args, { user: { type: 'string' }, json: { type: 'boolean' } });
    const login = requiredText(values, 'user');
    const { owner, tokens } = await withDatabase(async (db) => {
      const container = createContainer({ config, db });
      const owner = await tokenOwner(container, login);
      return { owner, tokens: await container.resolve(ListPersonalAccessTokens).execute(owner) };
    });
    if (values.json) {
      io.out(JSON.stringify({ items: tokens.map(tokenJson) }));
      return;
    }
    describeTokens(tokens, owner.username).forEach((line) => io.out(line));
  },

  async 'revoke-token'(args, { config, io, withDatabase }) {
    const values = parse(args, { user: { type: 'string' }, id: { type: 'string' } });
    const login = requiredText(values, 'user');
    if (values.id === undefined) throw new UsageError('--id is required');
    const id = wholeNumber(values, 'id', 0, 1, Number.MAX_SAFE_INTEGER);
    await withDatabase(async (db) => {
      const container = createContainer({ config, db });
      await container.resolve(RevokePersonalAccessToken).execute(await tokenOwner(container, login), id);
    });
    io.out(`Revoked personal access token ${id} of ${login}.`);
  },
};

/** Until `io.signal` aborts, or else until the process is asked to stop. */
function stopSignal(io: CliIo): AbortSignal {
  if (io.signal) return io.signal;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

function serviceUrl(values: Options): string {
  const text = typeof values.url === 'string' ? values.url : DEFAULT_SERVICE_URL;
  const url = URL.canParse(text) ? new URL(text) : null;
  if (url?.username || url?.password) throw new UsageError('--url must not hold credentials: the token goes in --token (or TASKFORGE_TOKEN)');
  if (url?.protocol === 'http:' || url?.protocol === 'https:') return url.href;
  throw new UsageError(`--url must be an http:// or https:// URL; got "${shownWithoutCredentials(text)}"`);
}

/** Commands that talk to a running server over HTTP: no configuration, no database. */
const clientCommands: Record<string, (args: string[], io: CliIo) => Promise<void>> = {
  async watch(args, io) {
    const values = parse(args, { token: { type: 'string' }, url: { type: 'string' }, since: { type: 'string' } });
    const token = typeof values.token === 'string' && values.token !== '' ? values.token : io.env.TASKFORGE_TOKEN;
    if (!token) throw new UsageError('--token (or TASKFORGE_TOKEN) is required');
    const url = serviceUrl(values);
    const since = typeof values.since === 'string' ? values.since : undefined;
    const outcome = await watchEvents({ url, token, since, signal: stopSignal(io), onEvent: io.out, onNotice: (text) => io.err(`taskforge: ${text}`) });
    if (!outcome.stopped) throw new Error(`GET /events answered ${outcome.status}: ${outcome.detail}`);
  },
};

/** Logs go to stderr, errors only: stdout carries the command's output. */
const cliLogger = () => createLogger({ logLevel: 'error', nodeEnv: 'production' }, process.stderr);

function describeFailure(error: unknown, target: DatabaseTarget | undefined): string {
  if (target && isDatabaseUnavailable(error)) return describeConnectionFailure(error, target);
  if (isDomainError(error)) {
    const fields = error.fieldErrors.map((f) => `${f.field} ${f.message}`).join('; ');
    return fields || error.message;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!;
}

/** Runs one command line; resolves to the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || ['help', '--help', '-h'].includes(command) || args.includes('--help') || args.includes('-h')) {
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? 2 : 0;
  }
  let target: DatabaseTarget | undefined;
  try {
    const client = clientCommands[command];
    if (client) {
      await client(args, io);
      return 0;
    }
    const run = commands[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    // The admin comes from the flags here; ADMIN_PASSWORD alone may supply its password.
    const config = loadConfig({ ...io.env, ADMIN_USERNAME: undefined, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
    target = config.database;
    const withDatabase: Context['withDatabase'] = async (work, migrate) => {
      const db = await openDatabase(config, migrate, cliLogger());
      try {
        return await work(db);
      } finally {
        await db.destroy();
      }
    };
    await run(args, { config, io, withDatabase });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`taskforge: ${error.message}. Run "${CLI} --help" for usage.`);
      return 2;
    }
    const prefix = error instanceof ConfigError || error instanceof NotConfirmed || isDomainError(error) ? 'taskforge' : `taskforge: ${command} failed`;
    io.err(`${prefix}: ${describeFailure(error, target)}`);
    return 1;
  }
}
