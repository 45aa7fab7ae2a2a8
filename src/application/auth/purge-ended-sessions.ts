import type { Clock, SessionRepository } from '../ports/index.js';

/**
 * Forgets login sessions nothing can use any more: revoked ones, and ones whose newest refresh
 * token has expired. The access token issued with that refresh token may outlive it when the
 * access lifetime is the longer one, so a session is kept that much longer: deleting its row
 * would end that token early.
 */
export class PurgeEndedSessions {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly clock: Clock,
    private readonly accessTokenTtlMs: number,
  ) {}

  execute(): Promise<number> {
    return this.sessions.purgeEnded(new Date(this.clock.now().getTime() - this.accessTokenTtlMs));
  }
}
