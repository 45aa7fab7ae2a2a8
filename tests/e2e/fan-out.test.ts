import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Authenticate, CHANGE_NOTIFIER, LiveEvents, type ChangeNotifier, type EventSink, type LoggedEvent, type StreamEnd } from '../../src/application/index.js';
import { InProcessChangeNotifier } from '../../src/adapters/events/in-process-change-notifier.js';
import { PostgresChangeNotifier } from '../../src/adapters/postgres/postgres-change-notifier.js';
import { RedisChangeNotifier } from '../../src/adapters/redis/redis-change-notifier.js';
import { openTestDatabase, postgresUrl, type SqlEngine, type TestDatabase } from '../support/databases.js';
import { signUp, type Account } from '../support/http.js';
import { redisUrl, uniqueRedisPrefix } from '../support/redis.js';
import { buildTestApp, buildTestAppOn, json, type TestApp } from '../support/test-app.js';

const [pgUrl, redis] = [await postgresUrl(), await redisUrl()];

class RecordingSink implements EventSink {
  readonly events: LoggedEvent[] = [];
  readonly closes: StreamEnd[] = [];
  deliver(event: LoggedEvent): boolean {
    this.events.push(event);
    return true;
  }
  close(reason: StreamEnd): void {
    this.closes.push(reason);
  }
}

/** Opens a live stream on `app` for the account, from now, as GET /events does. */
async function openStream(app: TestApp, account: Account) {
  const live = app.container.resolve(LiveEvents);
  live.start();
  const principal = await app.container.resolve(Authenticate).execute(account.tokens.access_token);
  const sink = new RecordingSink();
  live.open(principal, await live.prepare(principal), sink);
  return sink;
}

/** The users `app`'s notifier hears about, from any instance. */
function noticesHeardBy(app: TestApp): number[] {
  const heard: number[] = [];
  app.container.resolve<ChangeNotifier>(CHANGE_NOTIFIER).listen((userId) => heard.push(userId));
  return heard;
}

interface Deployment {
  name: string;
  engine: SqlEngine;
  env: () => Record<string, string>;
  notifier: new (...args: never[]) => ChangeNotifier;
}

const deployments: Deployment[] = [
  ...(pgUrl ? [{ name: 'PostgreSQL without Redis: LISTEN/NOTIFY', engine: 'postgres' as const, env: () => ({}), notifier: PostgresChangeNotifier }] : []),
  ...(redis ? [{ name: 'SQLite with REDIS_URL: Redis pub/sub', engine: 'sqlite' as const, env: () => ({ REDIS_URL: redis, REDIS_KEY_PREFIX: uniqueRedisPrefix() }), notifier: RedisChangeNotifier }] : []),
  ...(pgUrl && redis ? [{ name: 'PostgreSQL with REDIS_URL: Redis pub/sub', engine: 'postgres' as const, env: () => ({ REDIS_URL: redis, REDIS_KEY_PREFIX: uniqueRedisPrefix() }), notifier: RedisChangeNotifier }] : []),
];

describe.each(deployments)('two instances, $name', ({ engine, env, notifier }) => {
  let database: TestDatabase;
  const instances: TestApp[] = [];

  afterEach(async () => {
    for (const app of instances.splice(0)) {
      app.container.resolve(LiveEvents).stop();
      await app.close();
    }
    await database?.destroy();
  });

  const twoInstances = async () => {
    database = await openTestDatabase(engine);
    const shared = env();
    for (let i = 0; i < 2; i++) instances.push(await buildTestAppOn(database, shared));
    // Start-up waits for the notifier's first connection: an instance hears the others from its first request.
    for (const app of instances) expect(json(await app.inject({ method: 'GET', url: '/ready' }))).toMatchObject({ status: 'ok', checks: { fan_out: 'ok' } });
    return instances as [TestApp, TestApp];
  };

  it('uses the configured notifier and reports it on /ready', async () => {
    const [a] = await twoInstances();
    expect(a.container.resolve(CHANGE_NOTIFIER)).toBeInstanceOf(notifier);
  });

  it('brings a task written on one instance to the user\'s stream on the other within a second, and to nobody else', async () => {
    const [a, b] = await twoInstances();
    const alice = await signUp(a);
    const bob = await signUp(a);
    const heardOnB = noticesHeardBy(b);
    const onB = await openStream(b, alice);
    const bobsOnB = await openStream(b, bob);

    const written = Date.now();
    const created = await a.inject({ method: 'POST', url: '/tasks', headers: alice.auth, payload: { title: 'From instance A' } });
    expect(created.statusCode, created.body).toBe(201);
    await vi.waitFor(() => expect(onB.events.map((event) => event.type)).toEqual(['task.created']), { timeout: 1_000, interval: 10 });
    expect(Date.now() - written).toBeLessThan(1_000);
    // The notice crossed over (the sweep, every 5 s by default, is not what delivered it).
    expect(heardOnB).toContain(alice.id);
    expect(onB.events[0]).toMatchObject({ userId: alice.id, payload: { task: { id: json(created).id, title: 'From instance A' } } });
    expect(bobsOnB.events).toEqual([]);
  });
});

describe('one instance', () => {
  let app: TestApp | undefined;
  afterAll(() => app?.close());

  it.each(['sqlite', 'memory'] as const)('on %s without REDIS_URL needs no fan-out: notices stay in the process, /ready has no fan_out check', async (engine) => {
    app = await buildTestApp(engine);
    expect(app.container.resolve(CHANGE_NOTIFIER)).toBeInstanceOf(InProcessChangeNotifier);
    expect(json(await app.inject({ method: 'GET', url: '/ready' })).checks).not.toHaveProperty('fan_out');
    const alice = await signUp(app);
    const sink = await openStream(app, alice);
    await app.inject({ method: 'POST', url: '/tasks', headers: alice.auth, payload: { title: 'Local' } });
    await vi.waitFor(() => expect(sink.events).toHaveLength(1), { timeout: 1_000, interval: 10 });
    app.container.resolve(LiveEvents).stop();
    await app.close();
    app = undefined;
  });
});
