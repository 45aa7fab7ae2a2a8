import { DomainError, PERSONAL_TOKEN_PREFIX, effectiveScopes, isExpired, startOfMinute } from '../../domain/index.js';
import type { Clock, PersonalAccessTokenRepository, PersonalTokenSecrets, Principal, SessionRepository, TokenService } from '../ports/index.js';

const invalidToken = () => new DomainError('INVALID_TOKEN', 'The access token is invalid, expired or revoked.');

/**
 * Turns a bearer token — an access token of a login session or a personal access token — into
 * the caller, for every transport that needs one. Both ask the database on every request, so a
 * revocation on any instance applies to the next request everywhere.
 */
export class Authenticate {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionRepository,
    private readonly personalTokens: PersonalAccessTokenRepository,
    private readonly secrets: PersonalTokenSecrets,
    private readonly clock: Clock,
  ) {}

  async execute(bearerToken: string): Promise<Principal> {
    if (bearerToken.startsWith(PERSONAL_TOKEN_PREFIX)) return this.personalToken(bearerToken);
    const claims = this.tokens.verifyAccessToken(bearerToken);
    const principal = claims && (await this.sessions.findPrincipal(claims.sessionId, claims.userId));
    if (!principal) throw invalidToken();
    return principal;
  }

  private async personalToken(secret: string): Promise<Principal> {
    const digest = this.secrets.digest(secret);
    const match = digest === null ? null : await this.personalTokens.findByDigest(digest);
    const now = this.clock.now();
    if (!match || isExpired(match.token, now)) throw invalidToken();
    const { token, role } = match;
    const minute = startOfMinute(now);
    if (token.lastUsedAt === null || token.lastUsedAt < minute) await this.personalTokens.recordUse(token.id, minute);
    return { userId: token.userId, role, sessionId: null, personalTokenId: token.id, scopes: effectiveScopes(token.scopes, role) };
  }
}
