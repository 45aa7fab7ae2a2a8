import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPersonalAccessToken, PersonalAccessTokenRepository, UserRepository } from '../../src/application/index.js';
import { KnexPersonalAccessTokenRepository } from '../../src/adapters/persistence/knex/knex-personal-access-token-repository.js';
import { KnexUserRepository } from '../../src/adapters/persistence/knex/knex-user-repository.js';
import { InMemoryPersonalAccessTokenRepository } from '../../src/adapters/persistence/memory/in-memory-personal-access-token-repository.js';
import { InMemoryUserRepository } from '../../src/adapters/persistence/memory/in-memory-user-repository.js';
import { openTestDatabase, repositoryEngines } from '../support/databases.js';

interface Adapters {
  users: UserRepository;
  tokens: PersonalAccessTokenRepository;
  close(): Promise<void>;
}

const factories: Array<[string, () => Promise<Adapters>]> = [
  [
    'in-memory',
    async () => {
      const users = new InMemoryUserRepository();
      const tokens = new InMemoryPersonalAccessTokenRepository(users);
      users.onDelete.push((userId) => tokens.deleteAllOf(userId));
      return { users, tokens, close: async () => {} };
    },
  ],
  ...(await repositoryEngines()).map((engine): [string, () => Promise<Adapters>] => [
    engine,
    async () => {
      const database = await openTestDatabase(engine);
      return { users: new KnexUserRepository(database.db), tokens: new KnexPersonalAccessTokenRepository(database.db), close: () => database.destroy() };
    },
  ]),
];

const T0 = new Date('2026-12-07T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
let serial = 0;

describe.each(factories)('PersonalAccessTokenRepository contract: %s', (_name, factory) => {
  let adapters: Adapters;
  beforeAll(async () => {
    adapters = await factory();
  });
  afterAll(() => adapters.close());

  async function aUser(role: 'user' | 'admin' = 'user') {
    serial += 1;
    return adapters.users.create({ username: `pat_${serial}`, email: `pat_${serial}@example.com`, name: null, role, passwordHash: 'h', createdAt: T0 });
  }
  const aToken = (userId: number, overrides: Partial<NewPersonalAccessToken> = {}): NewPersonalAccessToken => ({
    userId,
    name: `token ${++serial}`,
    scopes: ['tasks:read', 'profile'],
    createdAt: T0,
    expiresAt: later(86_400),
    digest: `digest-${serial}-${Math.random().toString(36).slice(2)}`.padEnd(64, '0').slice(0, 64),
    ...overrides,
  });

  it('creates a token with an id and returns exactly what was stored, never the digest', async () => {
    const user = await aUser();
    const input = aToken(user.id, { name: 'Backup – nightly ✓' });
    const created = await adapters.tokens.create(input);
    expect(created).toEqual({ id: created.id, userId: user.id, name: 'Backup – nightly ✓', scopes: ['tasks:read', 'profile'], createdAt: T0, expiresAt: later(86_400), lastUsedAt: null });
    expect(await adapters.tokens.listOfUser(user.id)).toEqual([created]);
  });

  it('finds a token by its digest with its user’s role as it is now', async () => {
    const user = await aUser();
    const input = aToken(user.id, { expiresAt: null });
    const created = await adapters.tokens.create(input);
    expect(await adapters.tokens.findByDigest(input.digest)).toEqual({ token: created, role: 'user' });
    await adapters.users.update(user.id, { role: 'admin', updatedAt: later(1) });
    expect((await adapters.tokens.findByDigest(input.digest))?.role).toBe('admin');
    expect(await adapters.tokens.findByDigest('f'.repeat(64))).toBeNull();
  });

  it('lists a user’s tokens newest first and no one else’s', async () => {
    const user = await aUser();
    const other = await aUser();
    const first = await adapters.tokens.create(aToken(user.id));
    const second = await adapters.tokens.create(aToken(user.id));
    await adapters.tokens.create(aToken(other.id));
    expect((await adapters.tokens.listOfUser(user.id)).map((t) => t.id)).toEqual([second.id, first.id]);
    expect(await adapters.tokens.listOfUser(2_147_483_648)).toEqual([]);
  });

  it('deletes only its owner’s token, once', async () => {
    const user = await aUser();
    const other = await aUser();
    const input = aToken(user.id);
    const token = await adapters.tokens.create(input);
    expect(await adapters.tokens.delete(other.id, token.id)).toBe(false);
    expect(await adapters.tokens.delete(user.id, token.id)).toBe(true);
    expect(await adapters.tokens.delete(user.id, token.id)).toBe(false);
    expect(await adapters.tokens.findByDigest(input.digest)).toBeNull();
    expect(await adapters.tokens.delete(user.id, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('records use only forward in time, so writers racing within a minute agree', async () => {
    const user = await aUser();
    const input = aToken(user.id);
    const token = await adapters.tokens.create(input);
    await adapters.tokens.recordUse(token.id, later(120));
    await adapters.tokens.recordUse(token.id, later(60));
    expect((await adapters.tokens.findByDigest(input.digest))?.token.lastUsedAt).toEqual(later(120));
    await adapters.tokens.recordUse(token.id, later(180));
    expect((await adapters.tokens.listOfUser(user.id))[0]?.lastUsedAt).toEqual(later(180));
  });

  it('purges the tokens that expired before the cut-off, and no others', async () => {
    const user = await aUser();
    const cutoff = later(1_000);
    const expired = await adapters.tokens.create(aToken(user.id, { expiresAt: later(999) }));
    const atCutoff = await adapters.tokens.create(aToken(user.id, { expiresAt: cutoff }));
    const lasting = await adapters.tokens.create(aToken(user.id, { expiresAt: later(2_000) }));
    const forever = await adapters.tokens.create(aToken(user.id, { expiresAt: null }));

    expect(await adapters.tokens.purgeExpired(cutoff)).toBe(1);
    expect(await adapters.tokens.purgeExpired(cutoff)).toBe(0);
    expect((await adapters.tokens.listOfUser(user.id)).map((token) => token.id)).toEqual([forever.id, lasting.id, atCutoff.id]);
    expect(await adapters.tokens.findById(expired.id)).toBeNull();
  });

  it('loses a user’s tokens with the user', async () => {
    const user = await aUser();
    const input = aToken(user.id);
    await adapters.tokens.create(input);
    await adapters.users.delete(user.id);
    expect(await adapters.tokens.findByDigest(input.digest)).toBeNull();
    expect(await adapters.tokens.listOfUser(user.id)).toEqual([]);
  });
});
