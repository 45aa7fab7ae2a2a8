import { describe, expect, it } from 'vitest';
import { runKillAndVerify } from '../../scripts/kill-and-verify.js';
import { postgresUrl } from '../support/databases.js';

const pgUrl = await postgresUrl();
const databases: Array<[name: string, database: string]> = [['SQLite', 'sqlite'], ...(pgUrl ? [['PostgreSQL', pgUrl] as [string, string]] : [])];

describe('SIGKILL mid-writes (short form of scripts/kill-and-verify.ts)', () => {
  it.each(databases)('keeps every acknowledged write on %s', async (_name, database) => {
    const report = await runKillAndVerify({ rounds: 1, durationSeconds: 1, concurrency: 6, database, writes: 'auto', log: () => {} });
    expect(report.rounds).toHaveLength(1);
    expect(report.rounds[0]!.acknowledged).toBeGreaterThan(0);
    expect(report.rounds[0]!.lost).toEqual([]);
    expect(report.lost).toBe(0);
  }, 60_000);
});
