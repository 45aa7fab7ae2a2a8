import { once } from 'node:events';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WindowCounter } from '../../src/application/ports/window-counter.js';
import { FallbackWindowCounter } from '../../src/adapters/redis/fallback-window-counter.js';
import { RedisWindowCounter } from '../../src/adapters/redis/redis-window-counter.js';
import { InMemoryWindowCounter } from '../../src/adapters/shared/in-memory-window-counter.js';
import { createRedisClient } from '../../src/infrastructure/redis.js';
import { redisUrl, uniqueRedisPrefix } from '../support/redis.js';

const url = await redisUrl();
const silent = pino({ level: 'silent' });
/** Nothing listens there: a client pointed at it never connects. */
const CLOSED_PORT_URL = 'redis://127.0.0.1:1';
const WINDOW_MS = 10_000;

/** The counters of one deployment, as a test sees them. */
interface Deployment {
  /** A counter as one instance of the service would build it. */
  counter(): Promise<WindowCounter>;
  /** The window the expiry case opens, and how its time passes: a moved clock, or a short real wait on Redis. */
  shortWindowMs: number;
  pass(ms: number): Promise<void>;
  close(): void;
}

function clockDeployment(counter: (now: () => number) => WindowCounter): Deployment {
  let now = 1_700_000_000_000;
  const one = counter(() => now);
  return {
    counter: async () => one,
    shortWindowMs: WINDOW_MS,
    pass: async (ms) => void (now += ms),
    close: () => {},
  };
}

/** Every counter opens its own connection, as separate instances do; all share one key prefix. */
function redisDeployment(wrap: (counter: RedisWindowCounter) => WindowCounter): Deployment {
  const prefix = uniqueRedisPrefix();
  const clients: Redis[] = [];
  return {
    counter: async () => {
      const client = createRedisClient(url!, silent);
      clients.push(client);
      if (client.status !== 'ready') await once(client, 'ready');
      return wrap(new RedisWindowCounter(client, prefix));
    },
    shortWindowMs: 50,
    pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    close: () => clients.forEach((client) => client.disconnect()),
  };
}

const fallback = (shared: RedisWindowCounter, local?: InMemoryWindowCounter) => new FallbackWindowCounter(shared, { log: silent, counts: 'test counts', local });

/**
 * `shared`: counters of one deployment count together (instances on one Redis); the others count
 * on a clock the test moves, which only an in-process count can follow.
 */
const KINDS: { name: string; shared: boolean; open: () => Deployment }[] = [
  { name: 'in-memory', shared: false, open: () => clockDeployment((now) => new InMemoryWindowCounter({ now })) },
  { name: 'Redis', shared: true, open: () => redisDeployment((counter) => counter) },
  { name: 'fallback, Redis up', shared: true, open: () => redisDeployment((counter) => fallback(counter)) },
  {
    name: 'fallback, Redis unreachable',
    shared: false,
    open: () => {
      const client = createRedisClient(CLOSED_PORT_URL, silent);
      const deployment = clockDeployment((now) => fallback(new RedisWindowCounter(client, uniqueRedisPrefix()), new InMemoryWindowCounter({ now })));
      return { ...deployment, close: () => client.disconnect() };
    },
  },
];

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Shared kinds need a Redis server (skipped without one, as redisUrl says). */
const kinds = KINDS.filter((kind) => !kind.shared || url);

describe.each(kinds)('WindowCounter: $name', ({ shared, open }) => {
  let deployment: Deployment;
  beforeEach(() => {
    deployment = open();
  });
  afterEach(() => deployment.close());

  it('counts each use of a key within its window: 1, 2, 3', async () => {
    const counter = await deployment.counter();
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push((await counter.increment('user:1', WINDOW_MS)).count);
    expect(counts).toEqual([1, 2, 3]);
  });

  it('counts each key on its own', async () => {
    const counter = await deployment.counter();
    const counts = [];
    for (const key of ['user:1', 'user:2', 'user:1', 'user:1', 'user:2']) counts.push((await counter.increment(key, WINDOW_MS)).count);
    expect(counts).toEqual([1, 1, 2, 3, 2]);
  });

  it('tells the time left in the window: more than nothing, at most the window, never growing', async () => {
    const counter = await deployment.counter();
    const ttls = [];
    for (let i = 0; i < 3; i++) ttls.push((await counter.increment('user:1', WINDOW_MS)).ttlMs);
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
    }
    expect([...ttls].sort((a, b) => b - a)).toEqual(ttls);
  });

  it('starts again from 1 in a new window once the last one has passed', async () => {
    const counter = await deployment.counter();
    const window = deployment.shortWindowMs;
    expect((await counter.increment('user:1', window)).count).toBe(1);
    await deployment.pass(window + 30);
    const next = await counter.increment('user:1', window);
    expect(next.count).toBe(1);
    expect(next.ttlMs).toBeGreaterThan(0);
    expect(next.ttlMs).toBeLessThanOrEqual(window);
  });

  it('gives each of 25 concurrent increments of one key its own count', async () => {
    const counter = await deployment.counter();
    const results = await Promise.all(range(1, 25).map(() => counter.increment('user:1', WINDOW_MS)));
    expect(results.map(({ count }) => count).sort((a, b) => a - b)).toEqual(range(1, 25));
  });

  it.runIf(!shared)('keeps a window open until its last millisecond, on the clock it is given', async () => {
    const counter = await deployment.counter();
    await counter.increment('user:1', WINDOW_MS);
    await deployment.pass(WINDOW_MS - 1);
    expect(await counter.increment('user:1', WINDOW_MS)).toEqual({ count: 2, ttlMs: 1 });
    await deployment.pass(1);
    expect(await counter.increment('user:1', WINDOW_MS)).toEqual({ count: 1, ttlMs: WINDOW_MS });
  });

  it.runIf(shared)('counts together with every other instance on the same Redis', async () => {
    const [one, two] = [await deployment.counter(), await deployment.counter()];
    const inTurn = [];
    for (const counter of [one, two, one]) inTurn.push((await counter.increment('user:1', WINDOW_MS)).count);
    expect(inTurn).toEqual([1, 2, 3]);
    const together = await Promise.all(range(1, 20).map((i) => (i % 2 ? one : two).increment('user:1', WINDOW_MS)));
    expect(together.map(({ count }) => count).sort((a, b) => a - b)).toEqual(range(4, 23));
  });
});
