import { effectiveScopes, type Role, type Scope } from '../../domain/index.js';
import type { Clock, IdGenerator, SessionRepository, TokenService } from '../ports/index.js';

export interface TokenPair {
  accessToken: string;
  tokenType: 'bearer';
  expiresIn: number;
  refreshToken: string;
  /** Seconds until the refresh token expires (every rotation starts a full lifetime again). */
  refreshExpiresIn: number;
  /** What the tokens may do now: what the login was granted that the user may hold. */
  scopes: Scope[];
}

export interface TokenHolder {
  id: number;
  role: Role;
}

/** Opens login sessions and mints the token pairs that login and refresh both hand out. */
export class SessionStarter {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async start(user: TokenHolder, scopes: Scope[]): Promise<TokenPair> {
    const now = this.clock.now();
    const sessionId = this.ids.next();
    const refresh = this.tokens.newRefreshToken();
    await this.sessions.create(
      { id: sessionId, userId: user.id, createdAt: now, scopes },
      { digest: refresh.digest, expiresAt: this.refreshExpiry(now) },
    );
    return this.pair(user, sessionId, refresh.token, scopes);
  }

  refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.tokens.refreshTokenTtlSeconds * 1000);
  }

  /** `granted`: what the session holds; the tokens report what the user's role lets it use now. */
  pair(user: TokenHolder, sessionId: string, refreshToken: string, granted: Scope[]): TokenPair {
    const scopes = effectiveScopes(granted, user.role);
    const access = this.tokens.issueAccessToken({ userId: user.id, sessionId, scopes });
    return { accessToken: access.token, tokenType: 'bearer', expiresIn: access.expiresIn, refreshToken, refreshExpiresIn: this.tokens.refreshTokenTtlSeconds, scopes };
  }
}
