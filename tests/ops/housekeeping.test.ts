import { Writable } from 'node:stream';
import type { Knex } from 'knex';
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

/** One value of a metric in Prometheus text, e.g. sample(text, 'jobs_total', { outcome: 'completed' }). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

const column = async (db: Knex, table: string, name: string) => (await db(table).select(name).orderBy(name)).map((row) => String(row[name]));

describe.each(engines)('housekeeping on %s', (engine) => {
  let database: TestDatabase;
  let app: Application | undefined;
  afterEach(async () => {
    await app?.http.close();
    await database.destroy();
  });

  it('purges from start-up what is past keeping and keeps the rest: events, tickets, sessions, tokens and Idempotency-Keys', async () => {
    database = await openTestDatabase(engine);
    const { db } = database;
    const now = Date.now();
    const at = (ms: number) => new Date(ms).toISOString();
    const [user] = await db('users')
      .insert({ username: 'kept', username_key: 'kept', email: 'k@example.com', email_key: 'k@example.com', role: 'user', password_hash: 'x', created_at: at(now), updated_at: at(now) })
      .returning('id');
    const userId = Number(typeof user === 'object' ? (user as { id: number }).id : user);
    await db('events').insert([
      { user_id: userId, position: 1, type: 'task.deleted', occurred_at: at(now - 3 * DAY_MS), data: '{"taskId":1}' },
      { user_id: userId, position: 2, type: 'task.deleted', occurred_at: at(now - DAY_MS), data: '{"taskId":2}' },
    ]);
    await db('event_tickets').insert([
      { digest: 'a'.repeat(64), user_id: userId, expires_at: at(now - 1_000) },
      { digest: 'b'.repeat(64), user_id: userId, expires_at: at(now + 60_000) },
    ]);
    const session = (id: string, revokedAt: number | null) => ({ id, user_id: userId, created_at: at(now - DAY_MS), revoked_at: revokedAt === null ? null : at(revokedAt) });
    await db('sessions').insert([session('live', null), session('revoked', now - 1_000), session('lapsed', null)]);
    await db('refresh_tokens').insert([
      { digest: 'live-used', session_id: 'live', expires_at: at(now - DAY_MS), used_at: at(now - DAY_MS) },
      { digest: 'live-next', session_id: 'live', expires_at: at(now + DAY_MS) },
      { digest: 'revoked', session_id: 'revoked', expires_at: at(now + DAY_MS) },
      { digest: 'lapsed', session_id: 'lapsed', expires_at: at(now - DAY_MS) },
    ]);
    const token = (name: string, expiresAt: number | null) => ({
      user_id: userId,
      name,
      digest: name.padEnd(64, '0'),
      scopes: 'tasks:read',
      created_at: at(now - 30 * DAY_MS),
      expires_at: expiresAt === null ? null : at(expiresAt),
    });
    await db('personal_access_tokens').insert([token('long-expired', now - 8 * DAY_MS), token('just-expired', now - DAY_MS), token('forever', null)]);
    await db('idempotency_keys').insert([
      { user_id: userId, key: 'old', fingerprint: 'f', task: null, created_at: at(now - 2 * DAY_MS) },
      { user_id: userId, key: 'recent', fingerprint: 'f', task: null, created_at: at(now - 60_000) },
    ]);

    const logs = capturedLogger();
    app = await createApplication(testConfig({ EVENT_RETENTION: '2d' }), { logger: logs.logger, db, argon2: FAST_ARGON2 });
    await vi.waitFor(async () => expect((await app!.http.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^jobs_total\{queue="housekeeping",outcome="completed"\} 2$/m), {
      timeout: 10_000,
    });

    expect((await db('events').select('position')).map((row) => Number(row.position))).toEqual([2]);
    expect(await column(db, 'event_tickets', 'digest')).toEqual(['b'.repeat(64)]);
    expect(await column(db, 'sessions', 'id')).toEqual(['live']);
    expect(await column(db, 'refresh_tokens', 'digest')).toEqual(['live-next', 'live-used']);
    expect(await column(db, 'personal_access_tokens', 'name')).toEqual(['forever', 'just-expired']);
    expect(await column(db, 'idempotency_keys', 'key')).toEqual(['recent']);
    expect(logs.entries).toContainEqual(expect.objectContaining({ chore: 'events', events: 1, tickets: 1 }));
    expect(logs.entries).toContainEqual(expect.objectContaining({ chore: 'sessions', sessions: 2 }));
    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(metrics, 'job_duration_seconds_count', { queue: 'housekeeping' })).toBe(2);
    expect(sample(metrics, 'jobs_waiting', { queue: 'housekeeping' })).toBe(0);

    await app.http.close();
    app = undefined;
    expect(logs.entries.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
  });
});
