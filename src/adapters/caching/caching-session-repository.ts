import type { Principal, RefreshOutcome, Session, SessionRepository, StoredRefreshToken } from '../../application/index.js';
import type { PrincipalCache } from './principal-cache.js';

/**
 * Authentication asks for the principal on every request; this answers from the cache when it
 * can. Revocations go to the database first and are forgotten after they commit, so from then on
 * no request of this process accepts the session.
 */
export class CachingSessionRepository implements SessionRepository {
  constructor(
    private readonly inner: SessionRepository,
    private readonly cache: PrincipalCache,
  ) {}

  create(session: Session, refreshToken: StoredRefreshToken): Promise<void> {
    return this.inner.create(session, refreshToken);
  }

  async findPrincipal(sessionId: string, userId: number): Promise<Principal | null> {
    const cached = this.cache.lookup(sessionId, userId);
    if (cached) return cached;
    const ticket = this.cache.ticket();
    const principal = await this.inner.findPrincipal(sessionId, userId);
    if (principal) this.cache.remember(principal, ticket);
    return principal;
  }

  rotateRefreshToken(digest: string, next: StoredRefreshToken, now: Date): Promise<RefreshOutcome> {
    return this.inner.rotateRefreshToken(digest, next, now);
  }

  async revoke(sessionId: string, now: Date): Promise<void> {
    try {
      await this.inner.revoke(sessionId, now);
    } finally {
      this.cache.forgetSession(sessionId);
    }
  }

  async revokeAllOfUser(userId: number, now: Date, exceptSessionId?: string): Promise<void> {
    try {
      await this.inner.revokeAllOfUser(userId, now, exceptSessionId);
    } finally {
      this.cache.forgetUser(userId, exceptSessionId);
    }
  }
}
