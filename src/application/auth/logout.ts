import type { Clock, Principal, SessionRepository } from '../ports/index.js';

export class Logout {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal): Promise<void> {
    await this.sessions.revoke(actor.sessionId, this.clock.now());
  }
}
