import { describe, expect, it } from 'vitest';
import type { Principal, SessionRepository } from '../../../src/application/index.js';
import { CachingSessionRepository } from '../../../src/adapters/caching/caching-session-repository.js';
import { PrincipalCache } from '../../../src/adapters/caching/principal-cache.js';

const principal = (sessionId: string, userId = 1, role: Principal['role'] = 'user'): Principal => ({ sessionId, userId, role });

function cacheAt(start = 0, options: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = start;
  const cache = new PrincipalCache({ ttlMs: options.ttlMs ?? 1_000, maxEntries: options.maxEntries ?? 100, now: () => now });
  return { cache, advance: (ms: number) => (now += ms) };
}

describe('PrincipalCache', () => {
  it('answers a remembered session until its TTL, and never for another user id', () => {
    const { cache, advance } = cacheAt();
    cache.remember(principal('s1', 7), cache.ticket());
    expect(cache.lookup('s1', 7)).toEqual(principal('s1', 7));
    expect(cache.lookup('s1', 8)).toBeUndefined();
    expect(cache.lookup('s1', 7)).toBeUndefined(); // the mismatch dropped the entry
    cache.remember(principal('s1', 7), cache.ticket());
    advance(999);
    expect(cache.lookup('s1', 7)).toBeDefined();
    advance(1);
    expect(cache.lookup('s1', 7)).toBeUndefined();
  });

  it('forgets one session, or every session of a user but the one kept', () => {
    const { cache } = cacheAt();
    for (const p of [principal('a', 1), principal('b', 1), principal('c', 1), principal('d', 2)]) cache.remember(p, cache.ticket());
    cache.forgetSession('a');
    expect(cache.lookup('a', 1)).toBeUndefined();
    cache.forgetUser(1, 'c');
    expect(cache.lookup('b', 1)).toBeUndefined();
    expect(cache.lookup('c', 1)).toBeDefined();
    expect(cache.lookup('d', 2)).toBeDefined();
  });

  it('does not remember what was read before something was forgotten', () => {
    const { cache } = cacheAt();
    const ticket = cache.ticket();
    cache.forgetSession('s1'); // a logout commits while the lookup is reading the database
    cache.remember(principal('s1'), ticket);
    expect(cache.lookup('s1', 1)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const { cache } = cacheAt(0, { maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) cache.remember(principal(id), cache.ticket());
    expect(cache.lookup('a', 1)).toBeUndefined();
    expect(cache.lookup('b', 1)).toBeDefined();
    expect(cache.lookup('c', 1)).toBeDefined();
  });
});

/** A session store whose lookups wait until the test lets them answer. */
class SlowSessions implements Pick<SessionRepository, 'findPrincipal' | 'revoke' | 'revokeAllOfUser'> {
  revoked = new Set<string>();
  lookups = 0;
  private waiting: Array<() => void> = [];

  async findPrincipal(sessionId: string, userId: number): Promise<Principal | null> {
    this.lookups++;
    const live = !this.revoked.has(sessionId); // read now, answered later
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return live ? principal(sessionId, userId) : null;
  }

  async revoke(sessionId: string): Promise<void> {
    this.revoked.add(sessionId);
  }

  async revokeAllOfUser(): Promise<void> {}

  answer(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

describe('CachingSessionRepository', () => {
  const setUp = () => {
    const inner = new SlowSessions();
    const { cache } = cacheAt();
    const sessions = new CachingSessionRepository(inner as unknown as SessionRepository, cache);
    return { inner, sessions };
  };

  it('asks the database once for a live session, then answers from memory', async () => {
    const { inner, sessions } = setUp();
    const first = sessions.findPrincipal('s1', 1);
    inner.answer();
    expect(await first).toEqual(principal('s1'));
    expect(await sessions.findPrincipal('s1', 1)).toEqual(principal('s1'));
    expect(inner.lookups).toBe(1);
  });

  it('a lookup that read the session before a concurrent logout answers, but is not remembered', async () => {
    const { inner, sessions } = setUp();
    const inFlight = sessions.findPrincipal('s1', 1);
    await sessions.revoke('s1', new Date());
    inner.answer();
    expect(await inFlight).toEqual(principal('s1')); // it was live when read
    const after = sessions.findPrincipal('s1', 1);
    inner.answer();
    expect(await after).toBeNull();
    expect(inner.lookups).toBe(2);
  });
});
