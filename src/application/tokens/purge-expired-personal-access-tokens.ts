import type { Clock, PersonalAccessTokenRepository } from '../ports/index.js';

/** How long an expired token is still listed, so its owner can see why a script stopped working. */
export const EXPIRED_PERSONAL_TOKEN_LISTED_MS = 7 * 24 * 60 * 60 * 1000;

/** Forgets personal access tokens that expired longer ago than they are still listed. */
export class PurgeExpiredPersonalAccessTokens {
  constructor(
    private readonly tokens: PersonalAccessTokenRepository,
    private readonly clock: Clock,
  ) {}

  execute(): Promise<number> {
    return this.tokens.purgeExpired(new Date(this.clock.now().getTime() - EXPIRED_PERSONAL_TOKEN_LISTED_MS));
  }
}
