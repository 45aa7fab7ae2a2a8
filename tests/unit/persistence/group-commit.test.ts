import { describe, expect, it } from 'vitest';
import { commitTogether, GroupCommit, type PendingWrite } from '../../../src/adapters/persistence/knex/group-commit.js';
import type { StatementRunner } from '../../../src/adapters/persistence/knex/statement-runner.js';
import type { WriteUnit } from '../../../src/adapters/persistence/knex/write-unit.js';

/** A connection that keeps a log of what it was asked to run, and can be told to fail a statement. */
class ScriptedConnection implements StatementRunner {
  readonly log: string[] = [];
  failOn: string | null = null;
  /** Fails `failOn` only this many times (then it succeeds), or always when null. */
  failures: number | null = null;

  async all<T>(sql: string): Promise<T[]> {
    await this.run(sql);
    return [];
  }

  async tuples<T extends unknown[]>(sql: string): Promise<T[]> {
    await this.run(sql);
    return [];
  }

  async first<T>(sql: string): Promise<T | undefined> {
    await this.run(sql);
    return undefined;
  }

  async run(sql: string): Promise<number> {
    this.log.push(sql);
    if (sql === this.failOn && (this.failures === null || this.failures-- > 0)) throw new Error(`${sql} failed`);
    return 1;
  }
}

/** Runs `insert <name>` and answers the name in capitals. */
const insert: WriteUnit<string, string> = {
  name: 'test.insert',
  async run(statements, name) {
    await statements.run(`insert ${name}`, []);
    return name.toUpperCase();
  },
};

/** A group committing on the connection, as the event loop's SQLite session does. */
function groupOn(connection: ScriptedConnection) {
  const batches: number[] = [];
  const group = new GroupCommit(async (batch: readonly PendingWrite[]) => {
    batches.push(batch.length);
    return commitTogether(
      connection,
      batch.map(({ unit, args }) => (statements) => unit.run(statements, args as never)),
    );
  });
  return { group, batches };
}

const settle = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);
const commits = (connection: ScriptedConnection) => connection.log.filter((sql) => sql === 'commit').length;

describe('GroupCommit', () => {
  it('commits writes that arrive together in one transaction, and answers each with its own result', async () => {
    const connection = new ScriptedConnection();
    const { group, batches } = groupOn(connection);
    const results = await Promise.all(['a', 'b', 'c'].map((name) => group.transaction(insert, name)));
    expect(results).toEqual(['A', 'B', 'C']);
    expect(batches).toEqual([3]);
    expect(connection.log).toEqual(['begin immediate', 'insert a', 'insert b', 'insert c', 'commit']);
  });

  it('when one write fails, rolls the group back and runs each write alone: only the failing one fails', async () => {
    const connection = new ScriptedConnection();
    connection.failOn = 'insert b';
    const { group } = groupOn(connection);
    const outcomes = await settle(['a', 'b', 'c'].map((name) => group.transaction(insert, name)));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('insert b failed') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(connection.log).toEqual([
      'begin immediate', 'insert a', 'insert b', 'rollback',
      'begin immediate', 'insert a', 'commit',
      'begin immediate', 'insert b', 'rollback',
      'begin immediate', 'insert c', 'commit',
    ]);
  });

  it('acknowledges no write whose commit failed', async () => {
    const connection = new ScriptedConnection();
    connection.failOn = 'commit';
    const { group } = groupOn(connection);
    const outcomes = await settle(['a', 'b'].map((name) => group.transaction(insert, name)));
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(commits(connection)).toBe(3); // the group's, then each write's own
    expect(connection.log.at(-1)).toBe('rollback');
  });

  it('commits a write that failed only in its group once, on its own', async () => {
    const connection = new ScriptedConnection();
    connection.failOn = 'commit';
    connection.failures = 1; // the group's commit fails (disk briefly full); the retries succeed
    const { group } = groupOn(connection);
    await expect(Promise.all(['a', 'b'].map((name) => group.transaction(insert, name)))).resolves.toEqual(['A', 'B']);
    expect(connection.log.slice(-6)).toEqual(['begin immediate', 'insert a', 'commit', 'begin immediate', 'insert b', 'commit']);
  });

  it('fails the group when no connection can be had', async () => {
    const group = new GroupCommit(() => Promise.reject(new Error('pool timeout')));
    const outcomes = await settle([group.transaction(insert, 'a'), group.transaction(insert, 'b')]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('pool timeout') },
      { status: 'rejected', reason: new Error('pool timeout') },
    ]);
  });

  it('gathers the writes of one turn of the event loop, across promise callbacks, into one group', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit(async (batch) => {
      sizes.push(batch.length);
      return batch.map(() => ({ ok: true, value: null }));
    });
    const a = group.transaction(insert, 'a');
    await Promise.resolve(); // as between two requests' callbacks in one poll of the sockets
    const b = group.transaction(insert, 'b');
    await Promise.all([a, b]);
    expect(sizes).toEqual([2]);
  });

  it('sends each turn’s writes while earlier groups commit, up to eight groups; later writes wait and go together', async () => {
    const pending: Array<() => void> = [];
    const sizes: number[] = [];
    const group = new GroupCommit(async (batch) => {
      sizes.push(batch.length);
      await new Promise<void>((resolve) => pending.push(resolve));
      return batch.map(() => ({ ok: true, value: null }));
    });
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const writes: Array<Promise<unknown>> = [];
    for (let turn = 0; turn < 8; turn++) {
      writes.push(group.transaction(insert, `turn ${turn}`));
      await nextTurn();
    }
    expect(sizes).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const later = ['x', 'y'].map((name) => group.transaction(insert, name));
    await nextTurn();
    expect(sizes).toHaveLength(8); // eight groups under way; x and y wait for one to end
    pending.shift()!();
    await writes[0];
    await nextTurn();
    expect(sizes).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2]);
    pending.splice(0).forEach((resolve) => resolve());
    await Promise.all([...writes, ...later]);
  });
});
