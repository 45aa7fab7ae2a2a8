import { effectiveScopes } from '../../../domain/index.js';
import type { Principal, RefreshOutcome, Session, SessionRepository, StoredRefreshToken, UserRepository } from '../../../application/index.js';

interface SessionState extends Session {
  revokedAt: Date | null;
}

interface RefreshTokenState extends StoredRefreshToken {
  sessionId: string;
  usedAt: Date | null;
}

export class InMemorySessionRepository implements SessionRepository {
  private readonly sessions = new Map<string, SessionState>();
  private readonly refreshTokens = new Map<string, RefreshTokenState>();

  constructor(private readonly users: UserRepository) {}

  async create(session: Session, refreshToken: StoredRefreshToken): Promise<void> {
    this.sessions.set(session.id, { ...session, scopes: [...session.scopes], revokedAt: null });
    this.refreshTokens.set(refreshToken.digest, { ...refreshToken, sessionId: session.id, usedAt: null });
  }

  async findPrincipal(sessionId: string, userId: number): Promise<Principal | null> {
    const session = this.sessions.get(sessionId);
    if (!session || session.userId !== userId || session.revokedAt) return null;
    const user = await this.users.findById(userId);
    return user ? { userId, role: user.role, sessionId, scopes: effectiveScopes(session.scopes, user.role) } : null;
  }

  async liveOf(sessionIds: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const id of sessionIds) {
      const session = this.sessions.get(id);
      if (session && !session.revokedAt && (await this.users.findById(session.userId))) live.add(id);
    }
    return live;
  }

  async rotateRefreshToken(digest: string, next: StoredRefreshToken, now: Date): Promise<RefreshOutcome> {
    const token = this.refreshTokens.get(digest);
    const session = token && this.sessions.get(token.sessionId);
    if (!token || !session || session.revokedAt || !(await this.users.findById(session.userId))) return { kind: 'invalid' };
    if (token.usedAt) return { kind: 'reused', sessionId: session.id };
    if (token.expiresAt <= now) return { kind: 'invalid' };
    token.usedAt = now;
    this.refreshTokens.set(next.digest, { ...next, sessionId: session.id, usedAt: null });
    return { kind: 'rotated', session: { id: session.id, userId: session.userId, createdAt: session.createdAt, scopes: [...session.scopes] } };
  }

  async revoke(sessionId: string, now: Date): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session && !session.revokedAt) session.revokedAt = now;
  }

  async revokeAllOfUser(userId: number, now: Date, exceptSessionId?: string): Promise<void> {
    for (const session of this.sessions.values()) {
      if (session.userId === userId && session.id !== exceptSessionId && !session.revokedAt) session.revokedAt = now;
    }
  }

  async purgeEnded(expiredBefore: Date): Promise<number> {
    const lastExpiry = new Map<string, Date>();
    for (const token of this.refreshTokens.values()) {
      const last = lastExpiry.get(token.sessionId);
      if (!last || token.expiresAt > last) lastExpiry.set(token.sessionId, token.expiresAt);
    }
    const ended = new Set<string>();
    for (const session of this.sessions.values()) {
      const last = lastExpiry.get(session.id);
      if (session.revokedAt || !last || last < expiredBefore) ended.add(session.id);
    }
    for (const id of ended) this.sessions.delete(id);
    for (const [digest, token] of this.refreshTokens) if (ended.has(token.sessionId)) this.refreshTokens.delete(digest);
    return ended.size;
  }
}
