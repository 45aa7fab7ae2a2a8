import { describe, expect, it } from 'vitest';
import {
  EXPIRED_PERSONAL_TOKEN_LISTED_MS,
  IDEMPOTENCY_KEY_TTL_MS,
  PurgeEndedSessions,
  PurgeExpiredIdempotencyKeys,
  PurgeExpiredPersonalAccessTokens,
} from '../../../src/application/index.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { FixedClock } from '../../support/fakes.js';
import { useCaseHarness } from '../../support/use-cases.js';

const SECOND = 1000;

describe('PurgeEndedSessions', () => {
  // FakeTokenService: refresh tokens live an hour; access tokens are issued for 15 minutes.
  const REFRESH_TTL_MS = 3600 * SECOND;
  const ACCESS_TTL_MS = 900 * SECOND;

  it('forgets a session once its newest refresh token, and any access token issued with it, has expired', async () => {
    const h = useCaseHarness();
    const purge = new PurgeEndedSessions(h.sessions, h.clock, ACCESS_TTL_MS);
    const { pair } = await h.account();

    h.clock.advanceMs(REFRESH_TTL_MS + ACCESS_TTL_MS);
    expect(await purge.execute()).toBe(0);
    await expect(h.authenticate.execute(pair.accessToken)).resolves.toBeDefined();
    h.clock.advanceMs(1);
    expect(await purge.execute()).toBe(1);
    await expect(h.authenticate.execute(pair.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('keeps the used refresh tokens of a session that can still be refreshed: reusing one still revokes it', async () => {
    const h = useCaseHarness();
    const purge = new PurgeEndedSessions(h.sessions, h.clock, ACCESS_TTL_MS);
    const { pair } = await h.account();
    h.clock.advanceMs(REFRESH_TTL_MS - SECOND);
    const next = await h.refreshSession.execute(pair.refreshToken);

    h.clock.advanceMs(REFRESH_TTL_MS / 2 + ACCESS_TTL_MS); // the first refresh token has long expired
    expect(await purge.execute()).toBe(0);
    await expect(h.refreshSession.execute(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(next.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.refreshSession.execute(next.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('forgets a logged-out session at once', async () => {
    const h = useCaseHarness();
    const { principal } = await h.account();
    await h.logout.execute(principal);
    expect(await new PurgeEndedSessions(h.sessions, h.clock, ACCESS_TTL_MS).execute()).toBe(1);
  });
});

describe('PurgeExpiredPersonalAccessTokens', () => {
  it('still lists an expired token for a while, then forgets it', async () => {
    const h = useCaseHarness();
    const { user } = await h.account();
    const owner = { userId: user.id, role: user.role };
    await h.createPersonalAccessToken.execute(owner, { name: 'nightly', scopes: ['tasks:read'], expiresInDays: 1 });
    await h.createPersonalAccessToken.execute(owner, { name: 'forever', scopes: ['tasks:read'], expiresInDays: null });
    const purge = new PurgeExpiredPersonalAccessTokens(h.personalTokens, h.clock);

    h.clock.advanceMs(86_400 * SECOND + EXPIRED_PERSONAL_TOKEN_LISTED_MS);
    expect(await purge.execute()).toBe(0);
    expect((await h.listPersonalAccessTokens.execute(owner)).map((token) => token.name)).toEqual(['forever', 'nightly']);
    h.clock.advanceMs(1);
    expect(await purge.execute()).toBe(1);
    expect((await h.listPersonalAccessTokens.execute(owner)).map((token) => token.name)).toEqual(['forever']);
  });
});

describe('PurgeExpiredIdempotencyKeys', () => {
  it('forgets a key once its lifetime has passed', async () => {
    const clock = new FixedClock();
    const keys = new InMemoryIdempotencyStore();
    const claim = () => ({ userId: 1, key: 'k', fingerprint: 'f', now: clock.now(), expiredBefore: new Date(0), abandonedBefore: new Date(0) });
    expect((await keys.claim(claim())).kind).toBe('claimed');
    const purge = new PurgeExpiredIdempotencyKeys(keys, clock);

    clock.advanceMs(IDEMPOTENCY_KEY_TTL_MS);
    expect(await purge.execute()).toBe(0);
    clock.advanceMs(1);
    expect(await purge.execute()).toBe(1);
    expect((await keys.claim(claim())).kind).toBe('claimed');
  });
});
