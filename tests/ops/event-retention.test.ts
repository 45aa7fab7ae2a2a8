import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApplication, type Application } from '../../src/infrastructure/app.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { availableEngines, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { FAST_ARGON2, testConfig } from '../support/test-app.js';

const engines = await availableEngines();
const DAY_MS = 86_400_000;

function capturedLogger() {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) entries.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'info', nodeEnv: 'production' }, stream), entries };
}

describe.each(engines)('the change log\'s retention on %s', (engine) => {
  let database: TestDatabase;
  let app: Application | undefined;
  afterEach(async () => {
    await app?.http.close();
    await database.destroy();
  });

  it('is kept from start-up: events older than EVENT_RETENTION and expired tickets go, the rest stay', async () => {
    database = await openTestDatabase(engine);
    const { db } = database;
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString();
    const [user] = await db('users')
      .insert({ username: 'kept', username_key: 'kept', email: 'k@example.com', email_key: 'k@example.com', role: 'user', password_hash: 'x', created_at: at(now), updated_at: at(now) })
      .returning('id');
    const userId = Number(typeof user === 'object' ? (user as { id: number }).id : user);
    await db('event_heads').insert({ user_id: userId, position: 2 });
    await db('events').insert([
      { user_id: userId, position: 1, type: 'task.deleted', occurred_at: at(now - 3 * DAY_MS), data: '{"taskId":1}' },
      { user_id: userId, position: 2, type: 'task.deleted', occurred_at: at(now - DAY_MS), data: '{"taskId":2}' },
    ]);
    await db('event_tickets').insert([
      { digest: 'a'.repeat(64), user_id: userId, expires_at: at(now - 1_000) },
      { digest: 'b'.repeat(64), user_id: userId, expires_at: at(now + 60_000) },
    ]);

    const logs = capturedLogger();
    app = await createApplication(testConfig({ EVENT_RETENTION: '2d' }), { logger: logs.logger, db, argon2: FAST_ARGON2 });
    await vi.waitFor(async () => expect((await db('events').select('position')).map((row) => Number(row.position))).toEqual([2]));
    expect((await db('event_tickets').select('digest')).map((row) => row.digest)).toEqual(['b'.repeat(64)]);
    await vi.waitFor(() => expect(logs.entries).toContainEqual(expect.objectContaining({ events: 1, tickets: 1 })));

    await app.http.close();
    app = undefined;
    expect(logs.entries.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
  });
});
