import { DomainError } from '../../domain/index.js';
import type { Principal, SessionRepository, TokenService } from '../ports/index.js';

/** Turns a bearer token into the caller, for every transport that needs one. */
export class Authenticate {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionRepository,
  ) {}

  async execute(accessToken: string): Promise<Principal> {
    const claims = this.tokens.verifyAccessToken(accessToken);
    const principal = claims && (await this.sessions.findPrincipal(claims.sessionId, claims.userId));
    if (!principal) throw new DomainError('INVALID_TOKEN', 'The access token is invalid, expired or revoked.');
    return principal;
  }
}
