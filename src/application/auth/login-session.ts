import { DomainError } from '../../domain/index.js';
import type { Principal } from '../ports/index.js';

/**
 * The login session behind the caller's credential. Some acts — logging out, changing a password or
 * an email, managing personal access tokens — belong to a person who logged in, never to a script
 * holding a personal access token.
 */
export function requireLoginSession(actor: Principal, what: string): string {
  if (actor.sessionId === null) {
    throw new DomainError('LOGIN_SESSION_REQUIRED', `${what} needs a login session; a personal access token cannot do it.`);
  }
  return actor.sessionId;
}
