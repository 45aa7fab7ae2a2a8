import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewUser, SessionRepository, UserRepository } from '../../src/application/index.js';
import { DomainError, type Scope } from '../../src/domain/index.js';
import { KnexSessionRepository } from '../../src/adapters/persistence/knex/knex-session-repository.js';
import { KnexUserRepository } from '../../src/adapters/persistence/knex/knex-user-repository.js';
import { InMemorySessionRepository } from '../../src/adapters/persistence/memory/in-memory-session-repository.js';
import { InMemoryUserRepository } from '../../src/adapters/persistence/memory/in-memory-user-repository.js';
import { repositoryEngines, openTestDatabase, type TestDatabase } from '../support/databases.js';

interface Adapters {
  users: UserRepository;
  sessions: SessionRepository;
  /** Rows left in SQL tables, to prove a cascade; null for the in-memory adapters. */
  countSessions(): Promise<number | null>;
  countRefreshTokensOf(sessionId: string): Promise<number | null>;
  close(): Promise<void>;
}

type Factory = () => Promise<Adapters>;

const factories: Array<[string, Factory]> = [
  [
    'in-memory',
    async () => {
      const users = new InMemoryUserRepository();
      return { users, sessions: new InMemorySessionRepository(users), countSessions: async () => null, countRefreshTokensOf: async () => null, close: async () => {} };
    },
  ],
  ...(await repositoryEngines()).map((engine): [string, Factory] => [
    engine,
    async () => {
      const database: TestDatabase = await openTestDatabase(engine);
      return {
        users: new KnexUserRepository(database.db),
        sessions: new KnexSessionRepository(database.db),
        countSessions: async () => Number(((await database.db('sessions').count({ n: '*' }).first()) as { n: number | string }).n),
        countRefreshTokensOf: async (sessionId) =>
          Number(((await database.db('refresh_tokens').where({ session_id: sessionId }).count({ n: '*' }).first()) as { n: number | string }).n),
        close: () => database.destroy(),
      };
    },
  ]),
];

const T0 = new Date('2026-11-22T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let serial = 0;
function aNewUser(overrides: Partial<NewUser> = {}): NewUser {
  serial += 1;
  return { username: `user_${serial}`, email: `user_${serial}@example.com`, name: null, role: 'user', passwordHash: `$argon2id$fake${serial}`, createdAt: T0, ...overrides };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return (error as DomainError).code;
  }
}

describe.each(factories)('UserRepository and SessionRepository contract: %s', (_name, factory) => {
  let adapters: Adapters;
  let users: UserRepository;
  let sessions: SessionRepository;
  beforeAll(async () => {
    adapters = await factory();
  });
  beforeEach(() => {
    ({ users, sessions } = adapters);
  });
  afterAll(() => adapters.close());

  let sessionSerial = 0;
  const newSessionId = () => `00000000-0000-4000-8000-${String(++sessionSerial).padStart(12, '0')}`;
  const digest = (label: string) => `digest-${label}-${sessionSerial}-${Math.random().toString(36).slice(2)}`;
  async function openSession(userId: number, refreshDigest = digest('first'), expiresAt = later(3600), scopes: Scope[] = ['tasks:read', 'profile', 'admin']) {
    const id = newSessionId();
    await sessions.create({ id, userId, createdAt: T0, scopes }, { digest: refreshDigest, expiresAt });
    return { id, refreshDigest };
  }

  describe('users', () => {
    it('creates a user with an id and returns exactly what was stored', async () => {
      const input = aNewUser({ name: 'Ada', role: 'admin' });
      const created = await users.create(input);
      expect(created.id).toBeGreaterThan(0);
      expect(created).toEqual({
        id: created.id,
        username: input.username,
        email: input.email,
        name: 'Ada',
        role: 'admin',
        passwordHash: input.passwordHash,
        createdAt: T0,
        updatedAt: T0,
      });
      expect(await users.findById(created.id)).toEqual(created);
    });

    it('refuses a username taken in another case with USERNAME_TAKEN naming the field', async () => {
      const first = await users.create(aNewUser());
      const attempt = users.create(aNewUser({ username: first.username.toUpperCase() }));
      await expect(attempt).rejects.toMatchObject({ code: 'USERNAME_TAKEN', fieldErrors: [{ field: 'username' }] });
    });

    it('refuses an email taken in another case with EMAIL_TAKEN naming the field', async () => {
      const first = await users.create(aNewUser());
      const attempt = users.create(aNewUser({ email: first.email.toUpperCase() }));
      await expect(attempt).rejects.toMatchObject({ code: 'EMAIL_TAKEN', fieldErrors: [{ field: 'email' }] });
    });

    it('finds by login: the username or the email, in any case', async () => {
      const created = await users.create(aNewUser({ username: `MixedCase_${serial}` }));
      for (const login of [created.username, created.username.toLowerCase(), created.username.toUpperCase(), created.email, created.email.toUpperCase()]) {
        expect((await users.findByLogin(login))?.id, login).toBe(created.id);
      }
      expect(await users.findByLogin('no_such_login')).toBeNull();
      expect(await users.findByLogin('')).toBeNull();
    });

    it('answers null or false for ids that do not exist, however large', async () => {
      for (const id of [987_654, 2_147_483_648, Number.MAX_SAFE_INTEGER]) {
        expect(await users.findById(id)).toBeNull();
        expect(await users.update(id, { name: 'x', updatedAt: T0 })).toBeNull();
        expect(await users.delete(id)).toBe(false);
        expect(await sessions.findPrincipal(newSessionId(), id)).toBeNull();
      }
    });

    it('updates the given fields only, and keeps the case-insensitive rules', async () => {
      const user = await users.create(aNewUser({ name: 'Before' }));
      const other = await users.create(aNewUser());
      const updated = await users.update(user.id, { username: user.username.toUpperCase(), updatedAt: later(60) });
      expect(updated).toMatchObject({ username: user.username.toUpperCase(), email: user.email, name: 'Before', updatedAt: later(60), createdAt: T0 });

      expect(await codeOf(users.update(user.id, { username: other.username.toUpperCase(), updatedAt: later(61) }))).toBe('USERNAME_TAKEN');
      expect(await codeOf(users.update(user.id, { email: other.email.toUpperCase(), updatedAt: later(61) }))).toBe('EMAIL_TAKEN');
      expect((await users.findById(user.id))?.updatedAt).toEqual(later(60));

      const changed = await users.update(user.id, { name: null, role: 'admin', passwordHash: 'new-hash', updatedAt: later(62) });
      expect(changed).toMatchObject({ name: null, role: 'admin', passwordHash: 'new-hash' });
    });

    it('lets exactly one of several parallel creates with one username through', async () => {
      const username = `race_${serial++}`;
      const outcomes = await Promise.allSettled([0, 1, 2, 3].map((i) => users.create(aNewUser({ username: i % 2 ? username : username.toUpperCase() }))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes.filter((o) => o.status === 'rejected')) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'USERNAME_TAKEN' });
    });

    it('lists in id order with a total, searching username, email and name case-insensitively; % and _ are literal', async () => {
      const marker = `qx${serial}`;
      const a = await users.create(aNewUser({ username: `${marker}_one` }));
      const b = await users.create(aNewUser({ email: `someone_${serial}@${marker.toUpperCase()}.example.com` }));
      const c = await users.create(aNewUser({ name: `Name ${marker.toUpperCase()}` }));
      await users.create(aNewUser());

      const all = await users.list({ limit: 2, offset: 0, q: marker.toUpperCase() });
      expect(all.total).toBe(3);
      expect(all.items.map((u) => u.id)).toEqual([a.id, b.id]);
      expect((await users.list({ limit: 2, offset: 2, q: marker })).items.map((u) => u.id)).toEqual([c.id]);

      expect((await users.list({ limit: 100, offset: 0, q: '%' })).total).toBe(0);
      const underscore = await users.list({ limit: 100, offset: 0, q: `${marker}_` });
      expect(underscore.items.map((u) => u.id)).toEqual([a.id]);

      const everyone = await users.list({ limit: 100, offset: 0 });
      expect(everyone.total).toBeGreaterThanOrEqual(4);
      const ids = everyone.items.map((u) => u.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    });

    it('knows whether an admin exists', async () => {
      const fresh = await factory();
      try {
        expect(await fresh.users.adminExists()).toBe(false);
        await fresh.users.create(aNewUser());
        expect(await fresh.users.adminExists()).toBe(false);
        await fresh.users.create(aNewUser({ role: 'admin' }));
        expect(await fresh.users.adminExists()).toBe(true);
      } finally {
        await fresh.close();
      }
    });

    it('deletes a user once, and their sessions go with them', async () => {
      const user = await users.create(aNewUser());
      const survivor = await users.create(aNewUser());
      const session = await openSession(user.id);
      const kept = await openSession(survivor.id);
      const before = await adapters.countSessions();

      expect(await users.delete(user.id)).toBe(true);
      expect(await users.delete(user.id)).toBe(false);
      expect(await users.findById(user.id)).toBeNull();
      expect(await sessions.findPrincipal(session.id, user.id)).toBeNull();
      expect(await sessions.rotateRefreshToken(session.refreshDigest, { digest: digest('after'), expiresAt: later(7200) }, later(1))).toEqual({ kind: 'invalid' });
      expect(await sessions.findPrincipal(kept.id, survivor.id)).not.toBeNull();
      if (before !== null) expect(await adapters.countSessions()).toBe(before - 1);
    });
  });

  describe('sessions', () => {
    let user: { id: number };
    beforeEach(async () => {
      user = await users.create(aNewUser());
    });

    it('finds the principal of a live session, with the role as stored now and the granted scopes that role may hold', async () => {
      const { id } = await openSession(user.id);
      expect(await sessions.findPrincipal(id, user.id)).toEqual({ userId: user.id, role: 'user', sessionId: id, scopes: ['tasks:read', 'profile'] });
      await users.update(user.id, { role: 'admin', updatedAt: later(1) });
      expect(await sessions.findPrincipal(id, user.id)).toEqual({ userId: user.id, role: 'admin', sessionId: id, scopes: ['tasks:read', 'profile', 'admin'] });
    });

    it('finds nothing for an unknown session or another user’s session', async () => {
      const other = await users.create(aNewUser());
      const { id } = await openSession(user.id);
      expect(await sessions.findPrincipal(newSessionId(), user.id)).toBeNull();
      expect(await sessions.findPrincipal(id, other.id)).toBeNull();
    });

    it('rotates a refresh token: the successor rotates next, the used one is reported as reused', async () => {
      const { id, refreshDigest } = await openSession(user.id);
      const second = digest('second');
      const rotated = await sessions.rotateRefreshToken(refreshDigest, { digest: second, expiresAt: later(7200) }, later(10));
      expect(rotated).toEqual({ kind: 'rotated', session: { id, userId: user.id, createdAt: T0, scopes: ['tasks:read', 'profile', 'admin'] } });

      const third = digest('third');
      expect((await sessions.rotateRefreshToken(second, { digest: third, expiresAt: later(7200) }, later(20))).kind).toBe('rotated');
      expect(await sessions.rotateRefreshToken(refreshDigest, { digest: digest('x'), expiresAt: later(7200) }, later(30))).toEqual({ kind: 'reused', sessionId: id });
    });

    it('reports an unknown or expired token as invalid, and rotates nothing', async () => {
      expect(await sessions.rotateRefreshToken('no-such-digest', { digest: digest('n'), expiresAt: later(7200) }, later(1))).toEqual({ kind: 'invalid' });
      const { refreshDigest } = await openSession(user.id, digest('short'), later(60));
      expect(await sessions.rotateRefreshToken(refreshDigest, { digest: digest('n'), expiresAt: later(7200) }, later(60))).toEqual({ kind: 'invalid' });
      expect(await sessions.rotateRefreshToken(refreshDigest, { digest: digest('n'), expiresAt: later(7200) }, later(61))).toEqual({ kind: 'invalid' });
    });

    it('a revoked session neither authenticates nor rotates', async () => {
      const { id, refreshDigest } = await openSession(user.id);
      await sessions.revoke(id, later(5));
      await sessions.revoke(id, later(6));
      expect(await sessions.findPrincipal(id, user.id)).toBeNull();
      expect(await sessions.rotateRefreshToken(refreshDigest, { digest: digest('n'), expiresAt: later(7200) }, later(10))).toEqual({ kind: 'invalid' });
    });

    it('lets at most one of several parallel rotations with one token succeed; the rest see reuse', async () => {
      const { id, refreshDigest } = await openSession(user.id);
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => sessions.rotateRefreshToken(refreshDigest, { digest: digest(`p${i}`), expiresAt: later(7200) }, later(10))),
      );
      expect(outcomes.filter((o) => o.kind === 'rotated')).toHaveLength(1);
      for (const outcome of outcomes.filter((o) => o.kind !== 'rotated')) expect(outcome).toEqual({ kind: 'reused', sessionId: id });
    });

    it('revokes every session of a user but the one kept, and no one else’s', async () => {
      const other = await users.create(aNewUser());
      const keep = await openSession(user.id);
      const drop1 = await openSession(user.id);
      const drop2 = await openSession(user.id);
      const foreign = await openSession(other.id);

      await sessions.revokeAllOfUser(user.id, later(5), keep.id);

      expect(await sessions.findPrincipal(keep.id, user.id)).not.toBeNull();
      expect(await sessions.findPrincipal(drop1.id, user.id)).toBeNull();
      expect(await sessions.findPrincipal(drop2.id, user.id)).toBeNull();
      expect(await sessions.findPrincipal(foreign.id, other.id)).not.toBeNull();

      await sessions.revokeAllOfUser(user.id, later(6));
      expect(await sessions.findPrincipal(keep.id, user.id)).toBeNull();
    });

    it('purges revoked sessions and those whose newest refresh token expired before the cut-off, and keeps reuse detection for the rest', async () => {
      const cutoff = later(3700);
      await sessions.purgeEnded(cutoff); // what earlier tests left behind, so the count below is this test's alone

      const refreshed = await openSession(user.id, digest('first'), later(3600));
      const successor = digest('successor');
      expect((await sessions.rotateRefreshToken(refreshed.refreshDigest, { digest: successor, expiresAt: later(7200) }, later(10))).kind).toBe('rotated');
      const lapsed = await openSession(user.id, digest('lapsed'), later(60));
      const revoked = await openSession(user.id, digest('revoked'), later(7200));
      await sessions.revoke(revoked.id, later(20));
      const expiringAtCutoff = await openSession(user.id, digest('edge'), cutoff);
      expect(await sessions.findPrincipal(lapsed.id, user.id)).not.toBeNull();

      expect(await sessions.purgeEnded(cutoff)).toBe(2);
      expect(await sessions.purgeEnded(cutoff)).toBe(0);

      expect(await sessions.findPrincipal(lapsed.id, user.id)).toBeNull();
      expect(await sessions.rotateRefreshToken(lapsed.refreshDigest, { digest: digest('n'), expiresAt: later(7200) }, later(30))).toEqual({ kind: 'invalid' });
      expect(await sessions.findPrincipal(expiringAtCutoff.id, user.id)).not.toBeNull();
      // The refreshed session keeps its used, expired token: presenting it is still seen as reuse.
      expect(await sessions.findPrincipal(refreshed.id, user.id)).not.toBeNull();
      expect(await sessions.rotateRefreshToken(refreshed.refreshDigest, { digest: digest('n'), expiresAt: later(7200) }, later(30))).toEqual({
        kind: 'reused',
        sessionId: refreshed.id,
      });
      expect((await sessions.rotateRefreshToken(successor, { digest: digest('n'), expiresAt: later(7200) }, later(30))).kind).toBe('rotated');
      const tokensLeft = await adapters.countRefreshTokensOf(revoked.id);
      if (tokensLeft !== null) expect(tokensLeft).toBe(0);
    });
  });
});
