import type { Clock, Principal, SessionRepository } from '../ports/index.js';
import { requireLoginSession } from './login-session.js';

export class Logout {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal): Promise<void> {
    await this.sessions.revoke(requireLoginSession(actor, 'Logging out'), this.clock.now());
  }
}
