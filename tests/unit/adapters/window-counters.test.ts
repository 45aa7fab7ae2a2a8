import { describe, expect, it } from 'vitest';
import { FallbackWindowCounter, type FallbackLog, type SharedWindowCounter } from '../../../src/adapters/redis/fallback-window-counter.js';
import { InMemoryWindowCounter } from '../../../src/adapters/shared/in-memory-window-counter.js';

const WINDOW_MS = 60_000;

/** A shared counter whose reachability the test decides: down (not available) or failing (available, but every call rejects). */
function scriptedShared() {
  const counts = new InMemoryWindowCounter();
  const shared = {
    available: true,
    failing: false,
    increment: (key: string, windowMs: number) => (shared.failing ? Promise.reject(new Error('Connection is closed.')) : counts.increment(key, windowMs)),
  };
  return shared satisfies SharedWindowCounter;
}

function recordingLog() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const log: FallbackLog = {
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
    info: (obj, msg) => void lines.push({ level: 'info', obj, msg }),
  };
  return { log, lines };
}

describe('FallbackWindowCounter', () => {
  it('counts in this process while the shared counter is down or failing, saying so once, and once when it is back', async () => {
    const shared = scriptedShared();
    const { log, lines } = recordingLog();
    const counter = new FallbackWindowCounter(shared, { log, counts: 'AI quotas' });
    const count = async () => (await counter.increment('user:1', WINDOW_MS)).count;

    expect([await count(), await count()]).toEqual([1, 2]);
    expect(lines).toEqual([]);

    shared.available = false;
    expect([await count(), await count()]).toEqual([1, 2]); // the local count knows nothing of the shared one
    shared.available = true;
    shared.failing = true;
    expect(await count()).toBe(3);
    expect(lines).toEqual([{ level: 'warn', obj: { err: undefined }, msg: 'Redis is unavailable: AI quotas are counted per instance until it returns' }]);

    shared.failing = false;
    expect([await count(), await count()]).toEqual([3, 4]);
    expect(lines.slice(1)).toEqual([{ level: 'info', obj: {}, msg: 'AI quotas are shared again through Redis' }]);
  });

  it('logs the error of a failing call, not just that it failed', async () => {
    const shared = scriptedShared();
    shared.failing = true;
    const { log, lines } = recordingLog();
    const counter = new FallbackWindowCounter(shared, { log, counts: 'rate limits' });
    expect(await counter.increment('user:1', WINDOW_MS)).toEqual({ count: 1, ttlMs: WINDOW_MS });
    expect(lines).toHaveLength(1);
    expect((lines[0]!.obj as { err: Error }).err.message).toBe('Connection is closed.');
  });
});

describe('InMemoryWindowCounter', () => {
  it('keeps at most its number of windows: lapsed ones go first, then the oldest', () => {
    let now = 0;
    const counter = new InMemoryWindowCounter({ maxKeys: 3, now: () => now });
    counter.incrementSync('a', 10);
    counter.incrementSync('b', 1_000);
    counter.incrementSync('c', 1_000);
    now = 10; // a has lapsed: it makes room for d, and b and c keep their counts
    counter.incrementSync('d', 1_000);
    expect(['b', 'c'].map((key) => counter.incrementSync(key, 1_000).count)).toEqual([2, 2]);

    counter.incrementSync('e', 1_000); // all live: b, the oldest, is forgotten
    expect(['c', 'd', 'e', 'b'].map((key) => counter.incrementSync(key, 1_000).count)).toEqual([3, 2, 2, 1]);
  });

  it('counts a window that opened again as new when choosing the oldest to forget', () => {
    let now = 0;
    const counter = new InMemoryWindowCounter({ maxKeys: 3, now: () => now });
    counter.incrementSync('a', 10);
    counter.incrementSync('b', 1_000);
    now = 10;
    counter.incrementSync('a', 1_000); // a's window opens again, after b's
    counter.incrementSync('c', 1_000);
    counter.incrementSync('d', 1_000); // full of live windows: b is the oldest
    expect(['a', 'c', 'd', 'b'].map((key) => counter.incrementSync(key, 1_000).count)).toEqual([2, 2, 2, 1]);
  });
});
