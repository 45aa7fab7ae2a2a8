import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, migrateToLatest, type DatabaseOptions } from '../../../src/adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../../../src/adapters/persistence/knex/database-unavailable.js';
import { KnexTaskRepository } from '../../../src/adapters/persistence/knex/knex-task-repository.js';
import { PreparedStatements } from '../../../src/adapters/persistence/knex/prepared-statements.js';
import { uniqueViolationColumn } from '../../../src/adapters/persistence/knex/sql-errors.js';
import { aNewTask } from '../../support/task-builders.js';

const silent = { warn: () => {}, error: () => {}, debug: () => {} };
const opened: Knex[] = [];
const dirs: string[] = [];

async function onThread(filename = ':memory:', options: DatabaseOptions = {}): Promise<Knex> {
  const db = createDatabase({ kind: 'sqlite', filename }, { log: silent, ...options, sqliteThreading: 'worker' });
  opened.push(db);
  await migrateToLatest(db);
  return db;
}

afterEach(async () => {
  for (const db of opened.splice(0)) await db.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let users = 0;
const aUserRow = (name = `user${++users}`) => ({
  username: name,
  username_key: name,
  email: `${name}@example.com`,
  email_key: `${name}@example.com`,
  password_hash: 'hash',
  role: 'user',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});
const userCount = async (db: Knex) => Number((await db('users').count<{ n: number }[]>({ n: '*' }))[0]!.n);
/** ~0.3 s of SQLite work, written as a query-builder SELECT would be. */
const SLOW_SELECT = 'select count(*) as n from (with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000000) select x from c)';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SQLite on its own thread', () => {
  it('passes a failed statement’s error code back, so a unique violation still names its column', async () => {
    const db = await onThread();
    await db('users').insert(aUserRow('taken'));
    const failure = await db('users').insert({ ...aUserRow('taken'), email: 'other@example.com', email_key: 'other@example.com' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(uniqueViolationColumn(failure)).toBe('users.username_key');
  });

  it('hands timestamp columns over as Dates, parsed on the thread, as PostgreSQL’s driver does', async () => {
    const db = await onThread();
    await db('users').insert(aUserRow('dated'));
    const rows = await new PreparedStatements(db).tuples<[string, Date]>('select username, created_at from users', []);
    expect(rows).toEqual([['dated', new Date('2026-01-01T00:00:00.000Z')]]);
  });

  it('hands over exactly the rows a connection on the event loop reads: text, numbers, nulls, and timestamps that are none', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-rows-'));
    dirs.push(dir);
    const filename = path.join(dir, 'db.sqlite');
    const threaded = await onThread(filename);
    const [user] = await threaded('users').insert(aUserRow('ünïcødé "quoted" \\ \u2028 😀')).returning<Array<{ id: number }>>('id');
    const session = (id: string, created_at: string, revoked_at: string | null) => ({ id, user_id: user!.id, created_at, revoked_at });
    await threaded('sessions').insert([
      session('a', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
      session('b', '2026-01-01T00:00:00Z', null), // another shape Date reads; no date at all
      session('c', '2026-02-30T00:00:00.000Z', 'yesterday'), // no such day (V8 rolls it over); not a date
    ]);
    const inProcess = createDatabase({ kind: 'sqlite', filename }, { log: silent, sqliteThreading: 'main' });
    opened.push(inProcess);
    const sql = 'select s.id, u.username, s.created_at, s.revoked_at, 1.5 as ratio, null as missing from sessions s join users u on u.id = s.user_id order by s.id';
    const comparable = (rows: unknown[][]) =>
      rows.map((row) =>
        row.map((value) => (value instanceof Date ? `Date ${value.getTime()}` : value instanceof Uint8Array ? `bytes ${[...value].join(' ')}` : value)),
      );
    const sameOnBoth = async (query: string) => {
      const rows = comparable(await new PreparedStatements(threaded).tuples<unknown[]>(query, []));
      expect(rows).toEqual(comparable(await new PreparedStatements(inProcess).tuples<unknown[]>(query, [])));
      return rows;
    };

    const rows = await sameOnBoth(sql);
    // Rows JSON cannot hold, and names that repeat, cross another way, to the same effect.
    expect(await sameOnBoth(`select s.id, x'00ff' as bytes, s.created_at from sessions s order by s.id desc`)).toEqual([
      ['c', 'bytes 0 255', `Date ${new Date('2026-02-30T00:00:00.000Z').getTime()}`],
      ['b', 'bytes 0 255', 'Date 1767225600000'],
      ['a', 'bytes 0 255', 'Date 1767225600000'],
    ]);
    expect(await sameOnBoth('select s.id, u.id from sessions s join users u on u.id = s.user_id order by s.id')).toEqual([
      ['a', user!.id],
      ['b', user!.id],
      ['c', user!.id],
    ]);
    expect(rows).toEqual([
      ['a', 'ünïcødé "quoted" \\ \u2028 😀', 'Date 1767225600000', 'Date 1767225600000', 1.5, null],
      ['b', 'ünïcødé "quoted" \\ \u2028 😀', 'Date 1767225600000', null, 1.5, null],
      ['c', 'ünïcødé "quoted" \\ \u2028 😀', `Date ${new Date('2026-02-30T00:00:00.000Z').getTime()}`, 'Date NaN', 1.5, null],
    ]);
  });

  it('makes a statement wait while another transaction is open, and never shows it uncommitted rows', async () => {
    const db = await onThread();
    const trx = await db.transaction();
    await trx('users').insert(aUserRow());
    let answered = false;
    const read = new PreparedStatements(db).all<{ n: number }>('select count(*) as n from users', []).finally(() => (answered = true));
    await sleep(50);
    expect(answered).toBe(false);
    await trx.rollback();
    expect(await read).toEqual([{ n: 0 }]);
  });

  it('commits the groups that reach it while it is busy together, answering each write with its own outcome', async () => {
    const db = await onThread();
    await db('users').insert(aUserRow('owner'));
    const { id: owner } = (await db('users').first('id')) as { id: number };
    await db.raw(`create trigger reject_title before insert on tasks when new.title = 'explode' begin select raise(abort, 'title rejected'); end`);
    const tasks = new KnexTaskRepository(db);
    const busy = new PreparedStatements(db).all(SLOW_SELECT, []);
    const creates: Array<Promise<{ id: number }>> = [];
    for (const title of ['a', 'b', 'explode', 'c']) {
      creates.push(tasks.create(aNewTask(owner, { title }))); // a group of its own, sent while the thread is busy
      await new Promise((resolve) => setImmediate(resolve));
    }
    await busy;
    const outcomes = await Promise.allSettled(creates);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[2]).toMatchObject({ reason: { message: expect.stringMatching(/title rejected/) } });
    const ids = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.id] : []));
    expect(await db('tasks').orderBy('id').select('id', 'title')).toEqual([
      { id: ids[0], title: 'a' },
      { id: ids[1], title: 'b' },
      { id: ids[2], title: 'c' },
    ]);
  });

  it('fails a statement that waited longer than the acquire timeout as a pool timeout (503), and never runs it', async () => {
    // Long enough for the thread to start from the TypeScript sources (~250 ms, more on a busy machine).
    const db = await onThread(':memory:', { acquireTimeoutMs: 1_500 });
    const trx = await db.transaction();
    await trx('users').insert(aUserRow('inside'));
    const late = new PreparedStatements(db).run(`insert into users (username, username_key, email, email_key, password_hash, role, created_at, updated_at)
      values ('late', 'late', 'late@example.com', 'late@example.com', 'hash', 'user', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`, []);
    const failure = await late.catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'KnexTimeoutError' });
    expect(isDatabaseUnavailable(failure)).toBe(true);
    await trx.commit();
    expect(await db('users').pluck('username')).toEqual(['inside']);
  });

  it('answers what was under way when the thread stops as a lost connection (503), then opens a new thread', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-thread-'));
    dirs.push(dir);
    const db = await onThread(path.join(dir, 'db.sqlite'));
    await db('users').insert(aUserRow());

    const { current } = (db.client as unknown as { threads: { current: { worker: Worker } } }).threads;
    // Still running when the thread is stopped, so its answer can never arrive.
    const pending = new PreparedStatements(db).all(SLOW_SELECT, []);
    await sleep(30);
    await current.worker.terminate();
    const failure = await pending.catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ECONNRESET' });
    expect(isDatabaseUnavailable(failure)).toBe(true);

    await db('users').insert(aUserRow());
    expect(await userCount(db)).toBe(2);
    expect(await new PreparedStatements(db).all('select count(*) as n from users', [])).toEqual([{ n: 2 }]);
  });

  it('starts in a process run with V8 options and --input-type, which a worker given its own list of options refuses', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-options-'));
    dirs.push(dir);
    const script = `
      const { createDatabase } = await import('./src/adapters/persistence/knex/database.ts');
      const db = createDatabase({ kind: 'sqlite', filename: process.env.DB_FILE }, { log: console, sqliteThreading: 'worker' });
      console.log(JSON.stringify(await db.raw('select 40 + 2 as n')));
      await db.destroy();`;
    const run = spawnSync(process.execPath, ['--max-old-space-size=512', '--stack-size=2000', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env: { ...process.env, DB_FILE: path.join(dir, 'db.sqlite') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('[{"n":42}]');
  });

  describe('with a reader beside the writer (a database file)', () => {
    const aFileDatabase = async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-reader-'));
      dirs.push(dir);
      return onThread(path.join(dir, 'db.sqlite'));
    };

    it('answers the writer’s statements while a slow SELECT runs on the reader', async () => {
      const db = await aFileDatabase();
      await db('users').insert(aUserRow());
      const order: string[] = [];
      const slow = db.raw(SLOW_SELECT).then(() => order.push('slow select'));
      await sleep(20);
      const fast = new PreparedStatements(db).all('select count(*) as n from users', []).then(() => order.push('prepared read'));
      await Promise.all([slow, fast]);
      expect(order).toEqual(['prepared read', 'slow select']);
    });

    it('shows a builder SELECT every write committed before it', async () => {
      const db = await aFileDatabase();
      for (let i = 1; i <= 3; i++) {
        await db('users').insert(aUserRow());
        expect(await userCount(db)).toBe(i);
      }
    });

    it('has the reader checkpoint the WAL, so the writer’s commits never stop for the disk', async () => {
      const db = await aFileDatabase();
      const file = (db.client.config as { connection: { filename: string } }).connection.filename;
      const size = () => statSync(file).size;
      const before = size();
      // ~2 MiB: half of what would make the writer checkpoint by itself (1,000 pages).
      for (let i = 0; i < 8; i++) await db('users').insert(Array.from({ length: 16 }, () => ({ ...aUserRow(), password_hash: 'x'.repeat(16_000) })));
      for (let waited = 0; size() < before + 2_000_000 && waited < 3_000; waited += 50) await sleep(50);
      expect(size()).toBeGreaterThan(before + 2_000_000);
    });

    it('keeps a transaction’s SELECTs on the writer, where its own uncommitted rows are', async () => {
      const db = await aFileDatabase();
      await db.transaction(async (trx) => {
        await trx('users').insert(aUserRow());
        expect(Number((await trx('users').count<{ n: number }[]>({ n: '*' }))[0]!.n)).toBe(1);
        expect(await userCount(db)).toBe(0); // outside it, on the reader: not committed yet
      });
      expect(await userCount(db)).toBe(1);
    });
  });

  it('keeps one writer and one reader however the client is copied, and closes both on destroy, checkpointing the WAL', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-close-'));
    dirs.push(dir);
    const db = createDatabase({ kind: 'sqlite', filename: path.join(dir, 'db.sqlite') }, { log: silent, sqliteThreading: 'worker' });
    // The migrator runs on a copy of the client (knex's withUserParams); the pool opens its first
    // connection while the first query asks for one.
    await Promise.all([migrateToLatest(db), db.raw('select 1')]);
    await db('users').insert(aUserRow());
    expect(await userCount(db)).toBe(1);
    await db.destroy();
    // The last connection to close removes the WAL; a thread left open would keep it.
    expect(readdirSync(dir)).toEqual(['db.sqlite']);
  });
});
