import type { Clock, IdGenerator, SessionRepository, TokenService } from '../ports/index.js';

export interface TokenPair {
  accessToken: string;
  tokenType: 'bearer';
  expiresIn: number;
  refreshToken: string;
}

/** Opens login sessions and mints the token pairs that login and refresh both hand out. */
export class SessionStarter {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async start(userId: number): Promise<TokenPair> {
    const now = this.clock.now();
    const sessionId = this.ids.next();
    const refresh = this.tokens.newRefreshToken();
    await this.sessions.create(
      { id: sessionId, userId, createdAt: now },
      { digest: refresh.digest, expiresAt: this.refreshExpiry(now) },
    );
    return this.pair(userId, sessionId, refresh.token);
  }

  refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.tokens.refreshTokenTtlSeconds * 1000);
  }

  pair(userId: number, sessionId: string, refreshToken: string): TokenPair {
    const access = this.tokens.issueAccessToken({ userId, sessionId });
    return { accessToken: access.token, tokenType: 'bearer', expiresIn: access.expiresIn, refreshToken };
  }
}
