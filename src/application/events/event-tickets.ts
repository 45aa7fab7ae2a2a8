import { DomainError, EVENT_TICKET_TTL_SECONDS, effectiveScopes, isExpired } from '../../domain/index.js';
import type { Clock, EventTicketStore, PersonalAccessTokenRepository, PersonalTokenSecrets, Principal, SessionRepository } from '../ports/index.js';

const invalidTicket = () => new DomainError('INVALID_TOKEN', 'The ticket is invalid, expired or already used.');

export interface IssuedTicket {
  ticket: string;
  expiresIn: number;
}

/** `POST /events/tickets`: a single-use ticket for the caller's own credential, valid 30 s. */
export class IssueEventTicket {
  constructor(
    private readonly tickets: EventTicketStore,
    private readonly secrets: PersonalTokenSecrets,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal): Promise<IssuedTicket> {
    const { token, digest } = this.secrets.generate();
    await this.tickets.save({
      digest,
      userId: actor.userId,
      sessionId: actor.sessionId,
      personalTokenId: actor.personalTokenId ?? null,
      expiresAt: new Date(this.clock.now().getTime() + EVENT_TICKET_TTL_SECONDS * 1000),
    });
    return { ticket: token, expiresIn: EVENT_TICKET_TTL_SECONDS };
  }
}

/**
 * A ticket, used once, becomes the caller it was issued to — as the database says now: the
 * session or token must still be live, and the scopes are what it may do today.
 */
export class RedeemEventTicket {
  constructor(
    private readonly tickets: EventTicketStore,
    private readonly secrets: PersonalTokenSecrets,
    private readonly sessions: SessionRepository,
    private readonly personalTokens: PersonalAccessTokenRepository,
    private readonly clock: Clock,
  ) {}

  async execute(ticket: string): Promise<Principal> {
    const digest = this.secrets.digest(ticket);
    const now = this.clock.now();
    const credential = digest === null ? null : await this.tickets.redeem(digest, now);
    if (!credential) throw invalidTicket();
    if (credential.sessionId !== null) {
      const principal = await this.sessions.findPrincipal(credential.sessionId, credential.userId);
      if (!principal) throw invalidTicket();
      return principal;
    }
    const match = credential.personalTokenId === null ? null : await this.personalTokens.findById(credential.personalTokenId);
    if (!match || match.token.userId !== credential.userId || isExpired(match.token, now)) throw invalidTicket();
    const { token, role } = match;
    return { userId: token.userId, role, sessionId: null, personalTokenId: token.id, scopes: effectiveScopes(token.scopes, role) };
  }
}
