import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../src/adapters/persistence/knex/group-commit.js';
import type { StatementRunner } from '../../../src/adapters/persistence/knex/statement-runner.js';

/** A connection that keeps a log of what it was asked to run, and can be told to fail a statement. */
class ScriptedConnection implements StatementRunner {
  readonly log: string[] = [];
  failOn: string | null = null;

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
    if (sql === this.failOn) throw new Error(`${sql} failed`);
    return 1;
  }
}

function groupOn(connection: ScriptedConnection) {
  let loans = 0;
  const group = new GroupCommit(async (use) => {
    loans++;
    return use(connection);
  });
  return { group, loans: () => loans };
}

const settle = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);

describe('GroupCommit', () => {
  it('commits writes that arrive together once, each in its own savepoint, and answers each with its own result', async () => {
    const connection = new ScriptedConnection();
    const { group, loans } = groupOn(connection);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        group.transaction(async (statements) => {
          await statements.run(`insert ${name}`, []);
          return name.toUpperCase();
        }),
      ),
    );
    expect(results).toEqual(['A', 'B', 'C']);
    expect(loans()).toBe(1);
    expect(connection.log.filter((sql) => sql === 'commit')).toHaveLength(1);
    expect(connection.log[0]).toBe('begin immediate');
    expect(connection.log.at(-1)).toBe('commit');
    expect(connection.log.filter((sql) => sql.startsWith('insert'))).toEqual(['insert a', 'insert b', 'insert c']);
  });

  it('rolls a failing write back to its savepoint; the others commit', async () => {
    const connection = new ScriptedConnection();
    connection.failOn = 'insert b';
    const { group } = groupOn(connection);
    const outcomes = await settle(['a', 'b', 'c'].map((name) => group.transaction((statements) => statements.run(`insert ${name}`, []))));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failed = connection.log.indexOf('insert b');
    expect(connection.log.slice(failed + 1, failed + 3)).toEqual(['rollback to write', 'release write']);
    expect(connection.log.at(-1)).toBe('commit');
  });

  it('fails every write of the batch when the commit fails, and acknowledges none', async () => {
    const connection = new ScriptedConnection();
    connection.failOn = 'commit';
    const { group } = groupOn(connection);
    const outcomes = await settle([1, 2, 3].map((n) => group.transaction(async () => n)));
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(connection.log.at(-1)).toBe('rollback');
  });

  it('fails the batch when no connection can be had', async () => {
    const group = new GroupCommit(() => Promise.reject(new Error('pool timeout')));
    const outcomes = await settle([group.transaction(async () => 1), group.transaction(async () => 2)]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: new Error('pool timeout') },
      { status: 'rejected', reason: new Error('pool timeout') },
    ]);
  });

  it('starts a new batch for writes that arrive while one is committing', async () => {
    const connection = new ScriptedConnection();
    const { group, loans } = groupOn(connection);
    let late: Promise<number> | undefined;
    await group.transaction(async (statements) => {
      await statements.run('insert a', []);
      late = group.transaction((inner) => inner.run('insert b', [])); // arrives mid-batch
    });
    expect(connection.log).not.toContain('insert b');
    await expect(late).resolves.toBe(1);
    expect(loans()).toBe(2);
    expect(connection.log.filter((sql) => sql === 'commit')).toHaveLength(2);
  });
});
