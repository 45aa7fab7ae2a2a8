import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotTask } from '../../src/application/index.js';
import { clientReadTimeoutMs, closeSnapshotPool, createDatabase, openSnapshotPool } from '../../src/adapters/persistence/knex/database.js';
import { isDatabaseUnavailable } from '../../src/adapters/persistence/knex/database-unavailable.js';
import { KnexTaskRepository } from '../../src/adapters/persistence/knex/knex-task-repository.js';
import { KnexTaskSnapshots } from '../../src/adapters/persistence/knex/knex-task-snapshots.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { aNewTask } from '../support/task-builders.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const pgUrl = await postgresUrl();

/** DATABASE_STATEMENT_TIMEOUT_MS for these tests: short, so that what it cuts is cut quickly. */
const STATEMENT_MS = 300;

async function collect(pages: AsyncIterable<Iterable<SnapshotTask>>): Promise<SnapshotTask[]> {
  const all: SnapshotTask[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

describe.skipIf(!pgUrl)("an export's snapshot on PostgreSQL, with the service's timeouts (through a TCP proxy)", () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let db: Knex;
  let pool: Knex;
  let snapshots: KnexTaskSnapshots;
  let owner: number;

  beforeAll(async () => {
    database = await openTestDatabase('postgres');
    const [schema] = (database.db.client.config as Knex.Config).searchPath as string[];
    const target = new URL(pgUrl!);
    proxy = await new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) }).start();
    const url = new URL(target.href);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    url.searchParams.set('options', `-c search_path=${schema}`);
    // As the service opens them: its pool, then the snapshot pool beside it.
    db = createDatabase({ kind: 'postgres', url: url.href }, { statementTimeoutMs: STATEMENT_MS, acquireTimeoutMs: 1_000 });
    pool = openSnapshotPool(db);
    snapshots = new KnexTaskSnapshots(pool, clientReadTimeoutMs(STATEMENT_MS));

    const now = new Date().toISOString();
    const [user] = await database
      .db('users')
      .insert({ username: 'exporter', username_key: 'exporter', email: 'e@example.com', email_key: 'e@example.com', password_hash: 'x', created_at: now, updated_at: now })
      .returning<{ id: number }[]>('id');
    owner = user!.id;
    const tasks = new KnexTaskRepository(database.db);
    for (const title of ['first', 'second']) await tasks.create(aNewTask(owner, { title }));
  });

  afterAll(async () => {
    // Closing the proxy fails what a stalled connection still waits for, and so frees it.
    await proxy?.close();
    if (pool && db) await closeSnapshotPool(pool, db);
    await db?.destroy();
    await database?.destroy();
  });

  it('reads on a pool of its own, under the same server-side statement_timeout', async () => {
    expect(pool).not.toBe(db);
    const shown = (await pool.raw('show statement_timeout')) as { rows: { statement_timeout: string }[] };
    expect(shown.rows[0]!.statement_timeout).toBe(`${STATEMENT_MS}ms`);
    expect((await collect(snapshots.eachPage(owner, 1))).map(({ task }) => task.title)).toEqual(['first', 'second']);
  });

  it('has a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS cancelled by the server, as unavailable', async () => {
    // A migration holding the table: the snapshot's read waits for the lock, and the server cuts the wait.
    const holder = await database.db.transaction();
    try {
      await holder.raw('lock table tasks in access exclusive mode');
      const failure = await collect(snapshots.eachPage(owner, 1)).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: '57014' }); // query_canceled: the server's, not the client's timeout
      expect(isDatabaseUnavailable(failure)).toBe(true);
    } finally {
      await holder.rollback();
    }
    // Nothing left behind: the next snapshot reads it all.
    expect(await collect(snapshots.eachPage(owner, 1))).toHaveLength(2);
  });

  it('fails as unavailable, rather than hang, when the server stops answering mid-snapshot; the next one reads again', async () => {
    const pages = snapshots.eachPage(owner, 1)[Symbol.asyncIterator]();
    const first = await pages.next();
    expect([...(first.value as Iterable<SnapshotTask>)].map(({ task }) => task.title)).toEqual(['first']);

    proxy.stall();
    const failure = await pages.next().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/Query read timeout/);
    expect(isDatabaseUnavailable(failure)).toBe(true);

    await proxy.restore();
    expect((await collect(snapshots.eachPage(owner, 2))).map(({ task }) => task.title)).toEqual(['first', 'second']);
  });
});
