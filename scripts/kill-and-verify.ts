/**
 * Durability check: start the real server, hammer it with writes, SIGKILL it at a random moment,
 * restart it and verify that every write it acknowledged with a 2xx is still there. Repeats for
 * --rounds rounds; every round re-verifies the writes of all earlier rounds too.
 *
 *   npx tsx scripts/kill-and-verify.ts [--rounds 5] [--duration 5] [--concurrency 8]
 *                                      [--database sqlite|<postgres url>] [--writes auto|tasks|users]
 *
 * Writes are POST /tasks when the server has that route (auto), else sign-ups. Exit code 0 when
 * nothing acknowledged was lost, 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createScratchSchema, type ScratchSchema } from './support/scratch-schema.js';
import { startServer, type ServerProcess } from './support/server-process.js';

export interface KillAndVerifyOptions {
  rounds: number;
  durationSeconds: number;
  concurrency: number;
  /** 'sqlite' (a fresh file) or a PostgreSQL URL whose database name contains "test". */
  database: string;
  writes: 'auto' | 'tasks' | 'users';
  log?: (line: string) => void;
}

export interface RoundReport {
  round: number;
  acknowledged: number;
  killedAfterMs: number;
  verified: number;
  lost: string[];
}

export interface KillAndVerifyReport {
  writes: 'tasks' | 'users';
  database: 'sqlite' | 'postgres';
  rounds: RoundReport[];
  lost: number;
}

interface Write {
  id: number;
  expected: string;
  owner: string; // bearer token that may read it
}

const SECRET = 'kill-and-verify-secret-0123456789abcdef';
const ADMIN = { username: 'kv_admin', email: 'kv_admin@example.com', password: 'kill and verify admin' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(server: ServerProcess, method: string, url: string, body?: unknown, token?: string) {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function logIn(server: ServerProcess, username: string, password: string): Promise<string> {
  const response = await call(server, 'POST', '/login', { username, password });
  if (response.status !== 200) throw new Error(`login as ${username} failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.access_token as string;
}

async function signUpWriter(server: ServerProcess, tag: string): Promise<string> {
  const user = { username: `kv_${tag}`, email: `kv_${tag}@example.com`, password: `password-${tag}` };
  const created = await call(server, 'POST', '/register', user);
  if (created.status !== 201) throw new Error(`sign-up failed: ${created.status} ${JSON.stringify(created.body)}`);
  return logIn(server, user.username, user.password);
}

/** Keeps writing until the server dies under it; returns what it acknowledged. */
async function hammer(server: ServerProcess, writes: 'tasks' | 'users', token: string, tag: string, worker: number): Promise<Write[]> {
  const acknowledged: Write[] = [];
  for (let seq = 0; ; seq++) {
    const name = `kv_${tag}_${worker}_${seq}`;
    try {
      const response =
        writes === 'tasks'
          ? await call(server, 'POST', '/tasks', { title: name, tags: ['durability'] }, token)
          : await call(server, 'POST', '/register', { username: name, email: `${name}@example.com`, password: `password-${name}` });
      if (response.status >= 200 && response.status < 300) acknowledged.push({ id: response.body.id as number, expected: name, owner: token });
    } catch {
      return acknowledged; // the connection died with the server
    }
  }
}

async function verify(server: ServerProcess, writes: 'tasks' | 'users', all: Write[], concurrency: number): Promise<string[]> {
  const adminToken = writes === 'users' ? await logIn(server, ADMIN.username, ADMIN.password) : '';
  const lost: string[] = [];
  let next = 0;
  const check = async () => {
    while (next < all.length) {
      const write = all[next++]!;
      const response = await call(server, 'GET', `/${writes}/${write.id}`, undefined, writes === 'tasks' ? write.owner : adminToken);
      const actual = writes === 'tasks' ? response.body.title : response.body.username;
      if (response.status !== 200 || actual !== write.expected) lost.push(`${writes}/${write.id} (${write.expected}): ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, check));
  return lost;
}

async function preparePostgres(url: string): Promise<ScratchSchema> {
  const name = new URL(url).pathname.slice(1);
  if (!name.includes('test')) throw new Error(`refusing to write into database "${name}": its name must contain "test"`);
  return createScratchSchema(url, 'kill_verify');
}

export async function runKillAndVerify(options: KillAndVerifyOptions): Promise<KillAndVerifyReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-kill-'));
  const engine = options.database === 'sqlite' ? 'sqlite' : 'postgres';
  const postgres = engine === 'postgres' ? await preparePostgres(options.database) : null;
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    DATA_DIR: dataDir,
    DATABASE_URL: postgres ? postgres.url : `file:${path.join(dataDir, 'taskforge.sqlite')}`,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_AUTH_MAX: '1000000',
    RATE_LIMIT_MAX: '1000000',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  };
  const all: Write[] = [];
  const rounds: RoundReport[] = [];
  let server = await startServer({ env });
  try {
    const token = await signUpWriter(server, randomBytes(3).toString('hex'));
    const probe = options.writes === 'auto' ? await call(server, 'GET', '/tasks?limit=1', undefined, token) : null;
    const writes = options.writes === 'auto' ? (probe!.status === 200 ? 'tasks' : 'users') : options.writes;
    log(`kill-and-verify: ${writes} on ${engine}, ${options.rounds} round(s) of up to ${options.durationSeconds}s, ${options.concurrency} writers`);

    for (let round = 1; round <= options.rounds; round++) {
      const tag = `${randomBytes(3).toString('hex')}r${round}`;
      const workers = Array.from({ length: options.concurrency }, (_, worker) => hammer(server, writes, token, tag, worker));
      const killedAfterMs = Math.round(options.durationSeconds * 1000 * (0.3 + 0.7 * Math.random()));
      await sleep(killedAfterMs);
      server.child.kill('SIGKILL');
      await server.exited;
      const acknowledged = (await Promise.all(workers)).flat();
      all.push(...acknowledged);

      server = await startServer({ env });
      const lost = await verify(server, writes, all, options.concurrency);
      rounds.push({ round, acknowledged: acknowledged.length, killedAfterMs, verified: all.length - lost.length, lost });
      log(`round ${round}: killed after ${killedAfterMs} ms with ${acknowledged.length} acknowledged writes; ${all.length - lost.length}/${all.length} found after restart${lost.length ? `; LOST: ${lost.slice(0, 10).join(', ')}` : ''}`);
    }
    return { writes, database: engine, rounds, lost: rounds.reduce((sum, round) => sum + round.lost.length, 0) };
  } finally {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await postgres?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '8' },
      database: { type: 'string', default: 'sqlite' },
      writes: { type: 'string', default: 'auto' },
    },
  });
  const report = await runKillAndVerify({
    rounds: Number(values.rounds),
    durationSeconds: Number(values.duration),
    concurrency: Number(values.concurrency),
    database: values.database!,
    writes: values.writes as KillAndVerifyOptions['writes'],
  });
  const total = report.rounds.reduce((sum, round) => sum + round.acknowledged, 0);
  console.log(report.lost === 0 ? `OK: all ${total} acknowledged writes survived ${report.rounds.length} SIGKILL(s)` : `FAILED: ${report.lost} acknowledged writes lost`);
  process.exitCode = report.lost === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error('kill-and-verify:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
