import { DomainError } from '../../domain/index.js';
import type { Clock, SessionRepository, TokenService, UserRepository } from '../ports/index.js';
import type { SessionStarter, TokenPair } from './token-pair.js';

const invalidRefreshToken = () => new DomainError('INVALID_TOKEN', 'The refresh token is invalid, expired or revoked.');

/** Rotates a refresh token; presenting a used one revokes its whole login session. */
export class RefreshSession {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
    private readonly sessionStarter: SessionStarter,
    private readonly clock: Clock,
  ) {}

  async execute(refreshToken: string): Promise<TokenPair> {
    const now = this.clock.now();
    const next = this.tokens.newRefreshToken();
    const outcome = await this.sessions.rotateRefreshToken(
      this.tokens.digestRefreshToken(refreshToken),
      { digest: next.digest, expiresAt: this.sessionStarter.refreshExpiry(now) },
      now,
    );
    if (outcome.kind === 'reused') await this.sessions.revoke(outcome.sessionId, now);
    if (outcome.kind !== 'rotated') throw invalidRefreshToken();
    // The role as it is now decides what the kept scopes allow (see grantRequestedScope).
    const user = await this.users.findById(outcome.session.userId);
    if (!user) throw invalidRefreshToken();
    return this.sessionStarter.pair(user, outcome.session.id, next.token, outcome.session.scopes);
  }
}
